<?php
return array(
	'description' => 'Checkout with 19 % and 7 % lines plus shipping, completed; two partial refunds in a row (2 paper packs, then 1 toner).',
	'steps'       => array(
		array(
			'action' => 'Checkout: 2 x Toner XL (19 %), 8 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 2 ), array( 'PAP-A4', 8 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'First refund: 2 x Kopierpapier, reason "Retoure 1"',
			'run'    => function ( &$s ) {
				$items             = rec_items_by_sku( $s['order_id'] );
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $items['PAP-A4'] => array( 'qty' => 2 ) ), 'Retoure 1' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
		array(
			'action' => 'Second refund: 1 x Toner XL, reason "Retoure 2"',
			'run'    => function ( &$s ) {
				$items             = rec_items_by_sku( $s['order_id'] );
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $items['TON-XL'] => array( 'qty' => 1 ) ), 'Retoure 2' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
	),
);
