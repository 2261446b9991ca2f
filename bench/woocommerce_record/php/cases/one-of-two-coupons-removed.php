<?php
// Issue 22 case 10: removing one of two coupons from an order.
return array(
	'description' => 'Checkout with two coupons ("rabatt10" 10 % and "treue5" 5.00 fixed cart) on 19 % and 7 % lines; the shop owner removes "treue5" on the order screen (remove_coupon + calculate_taxes + calculate_totals).',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl (19 %), 8 x Kopierpapier (7 %), coupons rabatt10 + treue5, shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'PAP-A4', 8 ) ), array( 'coupons' => array( 'rabatt10', 'treue5' ) ) );
			},
		),
		array(
			'action' => 'Shop owner removes coupon "treue5" (WC_AJAX::remove_order_coupon)',
			'run'    => function ( &$s ) {
				rec_admin_remove_coupon( $s['order_id'], 'treue5' );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6' ),
);
