<?php
return array(
	'description' => 'Checkout with 19 % and 7 % lines; the shop owner adds a positive taxable fee of 7.50 net ("Mindermengenzuschlag", standard class, 19 %), completes the order, then refunds the fee row alone.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Toner XL (19 %), 2 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 1 ), array( 'PAP-A4', 2 ) ) );
			},
		),
		array(
			'action' => 'Shop owner adds a fee of 7.50 net named "Mindermengenzuschlag" (order screen "Add fee")',
			'run'    => function ( &$s ) {
				$s['fee_item_id'] = rec_admin_add_fee( $s['order_id'], 7.50, 'Mindermengenzuschlag' );
				return array( 'fee_item_id' => $s['fee_item_id'] );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds the fee row alone (refund_total and refund_tax of the fee), reason "Zuschlag erlassen"',
			'run'    => function ( &$s ) {
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $s['fee_item_id'] => array( 'qty' => 0 ) ), 'Zuschlag erlassen' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6', 'GET /wc/v3/orders/{order_id}/refunds?dp=6' ),
);
