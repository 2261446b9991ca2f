<?php
return array(
	'description' => 'Checkout (processing); the shop owner adds a 19 % line (1 x Toner XL) and 2 more 7 % paper packs on the order screen (add_product, then "Recalculate"), then completes the order.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 4 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'PAP-A4', 4 ) ) );
			},
		),
		array(
			'action' => 'Shop owner adds 1 x Toner XL (order screen "Add product(s)": $order->add_product) and presses "Recalculate"',
			'run'    => function ( &$s ) {
				return array( 'item_id' => rec_admin_add_product( $s['order_id'], 'TON-XL', 1 ) );
			},
		),
		array(
			'action' => 'Shop owner raises the paper line from 4 to 6 packs and saves the items (wc_save_order_items)',
			'run'    => function ( &$s ) {
				$items = rec_items_by_sku( $s['order_id'] );
				rec_admin_change_qty( $s['order_id'], array( $items['PAP-A4'] => 6 ) );
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
