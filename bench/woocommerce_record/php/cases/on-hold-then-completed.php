<?php
// Issue 22 case 9: an order completed after it had been put on hold (as a declined order would be).
return array(
	'description' => 'Checkout with "Rechnung" (processing); the order is put on hold (what happens to a declined invoice order), and the shop owner completes it anyway.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 1 x Toner XL (19 %), 2 x Fachbuch (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 1 ), array( 'BUCH-UST', 2 ) ) );
			},
		),
		array(
			'action' => 'Order set to on-hold with the note "Rechnungskauf abgelehnt"',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'on-hold', 'Rechnungskauf abgelehnt' );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
	),
);
