<?php
// Issue 22 case 3: a refund with only the shipping line.
return array(
	'description' => 'Checkout with 19 % and 7 % lines plus flat-rate shipping, completed; the shop owner refunds the shipping row alone (refund form: shipping total and its tax, no products).',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Toner XL (19 %), 4 x Kopierpapier (7 %), shipping 4.90 net; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 1 ), array( 'PAP-A4', 4 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds only the shipping row (wc_create_refund with line_items = the shipping item: refund_total and refund_tax per rate), reason "Versandkosten erstattet"',
			'run'    => function ( &$s ) {
				$ship       = rec_first( wc_get_order( $s['order_id'] ), 'shipping' );
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $ship->get_id() => array( 'qty' => 0 ) ), 'Versandkosten erstattet' );
				return array( 'refund_id' => end( $s['refund_ids'] ), 'shipping_item_id' => $ship->get_id() );
			},
		),
	),
);
