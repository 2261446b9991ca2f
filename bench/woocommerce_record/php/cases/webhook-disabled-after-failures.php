<?php
// Issue 22 case 11: WooCommerce disables a webhook after repeated failed deliveries.
$steps = array(
	array(
		'action'          => 'Checkout: 1 x Toner XL (19 %), shipping; "Rechnung" -> processing (the receiver answers 200)',
		'report_webhooks' => true,
		'run'    => function ( &$s ) {
			return rec_place( $s, array( array( 'TON-XL', 1 ) ) );
		},
	),
);
for ( $i = 1; $i <= 7; $i++ ) {
	$steps[] = array(
		'action'          => "Change $i: the shop owner edits the customer note and saves; the receiver answers 500",
		'recorder_status' => 500,
		'run'             => function ( &$s ) use ( $i ) {
			$order = wc_get_order( $s['order_id'] );
			$order->set_customer_note( "Bitte an Tor $i liefern" );
			$order->save();
		},
		'report_webhooks' => true,
	);
}
$steps[] = array(
	'action' => 'Change 8: another edit after the webhook was disabled (the receiver would answer 200)',
	'run'    => function ( &$s ) {
		$order = wc_get_order( $s['order_id'] );
		$order->set_customer_note( 'Bitte an Tor 8 liefern' );
		$order->save();
	},
	'report_webhooks' => true,
);
$reactivate = function ( &$s ) {
	$request = new WP_REST_Request( 'PUT', '/wc/v3/webhooks/' . $s['webhooks']['order.updated'] );
	$request->set_body_params( array( 'status' => 'active' ) );
	$response = rest_do_request( $request );
	return array( 'PUT status' => $response->get_status(), 'PUT answer status field' => $response->get_data()['status'] );
};
$change = function ( $n ) {
	return function ( &$s ) use ( $n ) {
		$order = wc_get_order( $s['order_id'] );
		$order->set_customer_note( "Bitte an Tor $n liefern" );
		$order->save();
	};
};
$steps[] = array(
	'action'     => 'After the REST reads: the shop owner re-activates the webhook (PUT /wc/v3/webhooks/{id} {"status":"active"}, as admin); failure_count stays 6',
	'after_rest' => true,
	'run'        => $reactivate,
	'report_webhooks' => true,
);
$steps[] = array(
	'action'          => 'Change 9: one more edit; the receiver answers 500 once -> disabled again at once (failure_count was still 6)',
	'after_rest'      => true,
	'recorder_status' => 500,
	'run'             => $change( 9 ),
	'report_webhooks' => true,
);
$steps[] = array(
	'action'     => 'Re-activated again (PUT status active)',
	'after_rest' => true,
	'run'        => $reactivate,
	'report_webhooks' => true,
);
$steps[] = array(
	'action'     => 'Change 10: an edit the receiver answers with 200 -> failure_count back to 0',
	'after_rest' => true,
	'run'        => $change( 10 ),
	'report_webhooks' => true,
);
return array(
	'description' => 'An order whose order.updated deliveries fail (the receiver answers 500) seven times in a row: WooCommerce counts failure_count up to 6 and sets the webhook to "disabled" at the 7th failure; later changes are not sent. GET /wc/v3/webhooks shows it. Re-activating it (PUT status active) keeps failure_count at 6, so the next single failure disables it again; only a successful delivery resets the count.',
	'steps'       => $steps,
	'rest_extra'  => array( 'GET /wc/v3/webhooks', 'GET /wc/v3/webhooks/{webhook_updated}' ),
);
