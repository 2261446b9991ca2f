<?php
return array(
	'description' => 'Checkout with 19 %, 7 % and 0 % lines plus shipping, completed, then fully refunded with the refund form (every line at full quantity, the shipping row) -> status refunded.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl (19 %), 3 x Kopierpapier (7 %), 1 x Fachbuch (7 %), 2 x Solarmodul (0 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'PAP-A4', 3 ), array( 'BUCH-UST', 1 ), array( 'PV-400', 2 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner refunds everything with the refund form (all line quantities + the shipping row), reason "Rücksendung komplett"',
			'run'    => function ( &$s ) {
				$s['refund_ids'][] = rec_admin_refund_all( $s['order_id'], 'Rücksendung komplett' );
				return array( 'refund_id' => end( $s['refund_ids'] ) );
			},
		),
	),
);
