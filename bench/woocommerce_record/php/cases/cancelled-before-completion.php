<?php
return array(
	'description' => 'Checkout with "Rechnung" (processing), then cancelled by the shop owner before it was completed.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl (19 %), 2 x Fachbuch (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'BUCH-UST', 2 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to cancelled',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'cancelled' );
			},
		),
	),
);
