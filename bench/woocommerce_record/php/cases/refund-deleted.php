<?php
// Issue 22 case 7: a refund deleted in WooCommerce after it was made.
return array(
	'description' => 'Checkout, completed, a partial refund of 2 packs of paper; the shop owner then deletes that refund (trash icon: $refund->delete(true) + woocommerce_refund_deleted); then saves the order without changes ("Update").',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Toner XL (19 %), 6 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 1 ), array( 'PAP-A4', 6 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds 2 x Kopierpapier (quantity 2, totals and tax scaled from the line), reason "2 Pack beschädigt"',
			'run'    => function ( &$s ) {
				$items             = rec_items_by_sku( $s['order_id'] );
				$s['refund_ids'][] = rec_admin_refund( $s['order_id'], array( $items['PAP-A4'] => array( 'qty' => 2 ) ), '2 Pack beschädigt' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
		array(
			'action' => 'Shop owner deletes that refund (WC_AJAX::delete_refund: $refund->delete(true), do_action woocommerce_refund_deleted)',
			'run'    => function ( &$s ) {
				rec_admin_delete_refund( end( $s['refund_ids'] ) );
				return array( 'deleted_refund_id' => end( $s['refund_ids'] ) );
			},
		),
		array(
			'action' => 'Shop owner presses "Update" on the order without changing anything ($order->save())',
			'run'    => function ( &$s ) {
				rec_admin_touch( $s['order_id'] );
			},
		),
	),
);
