<?php
return array(
	'description' => 'Checkout with the fixed-product coupon "papier1" (1.00 off each paper pack, restricted to the paper) on 10 packs of 7 % paper and a 19 % toner, then completed.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 10 x Kopierpapier (7 %), 1 x Toner XL (19 %), coupon papier1, shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'PAP-A4', 10 ), array( 'TON-XL', 1 ) ), array( 'coupons' => array( 'papier1' ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
	),
);
