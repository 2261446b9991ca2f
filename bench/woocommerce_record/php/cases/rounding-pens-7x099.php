<?php
return array(
	'description' => 'Rounding edge case: 7 x Kugelschreiber at 0.99 gross (7 %), 3 paper packs at 4.99 (7 %) and 1 toner at 89.90 (19 %), no shipping; completed; then 3 pens refunded by quantity.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 7 x Kugelschreiber 0.99 (7 %), 3 x Kopierpapier 4.99 (7 %), 1 x Toner XL 89.90 (19 %), no shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'PEN-07', 7 ), array( 'PAP-A4', 3 ), array( 'TON-XL', 1 ) ), array( 'shipping' => false ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds 3 x Kugelschreiber (quantity 3; total and tax scaled from the line at 6 decimals, as the order screen does), reason "3 Stifte defekt"',
			'run'    => function ( &$s ) {
				$items             = rec_items_by_sku( $s['order_id'] );
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $items['PEN-07'] => array( 'qty' => 3 ) ), '3 Stifte defekt' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
	),
	'rest_extra'  => array( 'GET /wc/v3/orders/{order_id}?dp=6', 'GET /wc/v3/orders/{order_id}/refunds?dp=6' ),
);
