<?php
// Issue 22 case 8: a placed order set to failed.
return array(
	'description' => 'Checkout with "Rechnung" placed as on-hold (awaiting the invoice check), then the shop owner sets it to failed.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Bürostuhl (19 %), 3 x Kopierpapier (7 %), shipping; "Rechnung" -> on-hold',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'BS-ERGO', 1 ), array( 'PAP-A4', 3 ) ), array( 'status' => 'on-hold' ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to failed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'failed' );
			},
		),
	),
);
