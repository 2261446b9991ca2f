<?php
// Issue 22 case 6: the payment method changed after completion, then the order cancelled.
return array(
	'description' => 'Checkout with "Rechnung", completed; the shop owner changes the payment method to bank transfer (bacs) on the order screen, then cancels the order.',
	'steps'       => array(
		array(
			'action' => 'Checkout: 2 x Toner XL (19 %), 5 x Kopierpapier (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				return rec_place( $s, array( array( 'TON-XL', 2 ), array( 'PAP-A4', 5 ) ) );
			},
		),
		array(
			'action' => 'Shop owner sets the order to completed',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_id'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner changes the payment method to "bacs" (Überweisung) and saves (set_payment_method with the gateway object: id and title)',
			'run'    => function ( &$s ) {
				rec_admin_set_payment_method( $s['order_id'], 'bacs' );
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
