<?php
// Issue 22 case 2: two packs of 7 % paper fewer after the order was completed (invoiced).
return array(
	'description' => 'Checkout with lines at 19 %, 7 % (5 packs of paper) and 0 % plus shipping, completed; the shop owner then lowers the paper from 5 to 3 packs on the order screen and saves the items (wc_save_order_items), then presses "Recalculate".',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl Ergo Pro (19 %), 5 x Kopierpapier 4.99 (7 %), 1 x Solarmodul 189.00 (0 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'PAP-A4', 5 ), array( 'PV-400', 1 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner edits the paper line from 5 to 3 packs and saves the items (wc_save_order_items with the line totals scaled as the order screen does)',
			'run'    => function ( &$s ) {
				$items = rec_items_by_sku( $s['order_id'] );
				rec_admin_change_qty( $s['order_id'], array( $items['PAP-A4'] => 3 ) );
				return array( 'item_id' => $items['PAP-A4'] );
			},
		),
		array(
			'action' => 'Shop owner presses "Recalculate"',
			'run'    => function ( &$s ) {
				rec_admin_recalculate( $s['order_id'] );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6' ),
);
