<?php
return array(
	'description' => 'Checkout with a 10 % coupon ("rabatt10") and a 20.00 fixed-cart coupon ("fix20") together on 19 %, 7 % and 0 % lines plus shipping, then completed.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl (19 %), 1 x Toner XL (19 %), 6 x Kopierpapier (7 %), 1 x Solarmodul (0 %), coupons rabatt10 + fix20, shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'TON-XL', 1 ), array( 'PAP-A4', 6 ), array( 'PV-400', 1 ) ), array( 'coupons' => array( 'rabatt10', 'fix20' ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6' ),
);
