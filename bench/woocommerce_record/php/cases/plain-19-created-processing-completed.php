<?php
// A plain order at 19 %: placed through the checkout (invoice), then completed (shipped).
return array(
	'description' => 'Plain 19 % order: checkout with "Rechnung" (processing, with flat-rate shipping), then set to completed.',
	'steps'       => array(
		array(
			'action' => 'Buyer checks out 1 x Bürostuhl Ergo Pro (19 %) + flat-rate shipping, payment "Rechnung"; the gateway sets processing',
			'run'    => function ( &$s ) {
				$s['order_id'] = rec_checkout( array( array( 'BS-ERGO', 1 ) ) );
				$s['orders']   = array( $s['order_id'] );
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
