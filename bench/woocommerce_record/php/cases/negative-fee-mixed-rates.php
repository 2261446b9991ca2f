<?php
// Issue 22 case 5: a negative, taxable fee on a cart with 19 % and 7 % lines.
return array(
	'description' => 'Checkout with 19 % and 7 % lines plus shipping; the shop owner adds a fee of -20.00 (net, taxable; order screen "Add fee"), which WooCommerce taxes across 19 % and 7 % in proportion; then completed.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Toner XL (19 %), 1 x Bürostuhl (19 %), 10 x Kopierpapier (7 %), 1 x Fachbuch (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 1 ), array( 'BS-ERGO', 1 ), array( 'PAP-A4', 10 ), array( 'BUCH-UST', 1 ) ) );
			},
		),
		array(
			'action' => 'Shop owner adds a fee of -20 (WC_Order_Item_Fee, amount/total -20, taxable, standard class) named "Sonderrabatt Stammkunde"; calculate_taxes + calculate_totals',
			'run'    => function ( &$s ) {
				return array( 'fee_item_id' => rec_admin_add_fee( $s['order_id'], -20, 'Sonderrabatt Stammkunde' ) );
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
