<?php
// Issue 22 case 4: part of a line's amount refunded, quantity 0.
return array(
	'description' => 'Checkout with a 19 % chair and 7 % paper plus shipping, completed; the shop owner refunds 20.00 net + 3.80 tax (23.80) on the chair line with quantity 0 (a price reduction for a scratch).',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl Ergo Pro (19 %), 6 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'PAP-A4', 6 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds on the chair line: quantity 0, total 20.00 net, tax 3.80 at the 19 % rate; amount 23.80; reason "Preisnachlass Kratzer"',
			'run'    => function ( &$s ) {
				$items = rec_items_by_sku( $s['order_id'] );
				$rates = array_keys( wc_get_order( $s['order_id'] )->get_item( $items['BS-ERGO'] )->get_taxes()['total'] );
				$s['refund_ids'][] = rec_admin_refund(
					$s['order_id'],
					array( $items['BS-ERGO'] => array( 'qty' => 0, 'total' => '20.00', 'tax' => array( $rates[0] => '3.80' ) ) ),
					'Preisnachlass Kratzer'
				);
				return array( 'refund_id' => end( $s['refund_ids'] ), 'item_id' => $items['BS-ERGO'] );
			},
		),
	),
);
