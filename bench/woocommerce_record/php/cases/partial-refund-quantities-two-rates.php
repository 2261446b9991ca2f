<?php
return array(
	'description' => 'Checkout with 19 % and 7 % lines plus shipping, completed; one refund of quantities on two lines at two rates (1 of 2 toners, 3 of 10 paper packs).',
	'steps'       => array(
		array(
			'action' => 'Checkout: 2 x Toner XL (19 %), 10 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 2 ), array( 'PAP-A4', 10 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds 1 x Toner XL and 3 x Kopierpapier (quantities; totals and taxes scaled from the lines), reason "Teilrücksendung"',
			'run'    => function ( &$s ) {
				$items             = rec_items_by_sku( $s['order_id'] );
				$s['refund_ids'][] = rec_admin_refund(
					$s['order_id'],
					array( $items['TON-XL'] => array( 'qty' => 1 ), $items['PAP-A4'] => array( 'qty' => 3 ) ),
					'Teilrücksendung'
				);
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
	),
);
