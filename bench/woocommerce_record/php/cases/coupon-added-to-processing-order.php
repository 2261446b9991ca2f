<?php
// Issue 22 case 1: a coupon added by the shop owner to a processing order with 19 % and 7 % lines.
return array(
	'description' => 'Checkout with 19 % lines (chair, toner) and 7 % lines (paper, book) plus shipping; the shop owner then adds the 10 % coupon "rabatt10" on the order screen (apply_coupon + recalculation), then presses "Recalculate".',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl Ergo Pro 249.00 (19 %), 1 x Toner XL 89.90 (19 %), 10 x Kopierpapier 4.99 (7 %), 2 x Fachbuch 39.90 (7 %), flat-rate shipping 4.90 net; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'TON-XL', 1 ), array( 'PAP-A4', 10 ), array( 'BUCH-UST', 2 ) ) );
			},
		),
		array(
			'action' => 'Shop owner adds coupon "rabatt10" (10 %) on the order screen (CouponsController::add_coupon_discount: calculate_taxes, calculate_totals, apply_coupon)',
			'run'    => function ( &$s ) {
				rec_admin_add_coupon( $s['order_id'], 'rabatt10' );
			},
		),
		array(
			'action' => 'Shop owner presses "Recalculate" (calculate_taxes + calculate_totals(false))',
			'run'    => function ( &$s ) {
				rec_admin_recalculate( $s['order_id'] );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6' ),
);
