<?php
/**
 * Runs one step of one recording case, as one request to WordPress would (so the webhooks of
 * that step are delivered at its end, at "shutdown").
 *   php run_case.php <wp> <case> describe
 *   php run_case.php <wp> <case> <step-index> <state-file>
 * Our own script (invoicekit).
 */
require __DIR__ . '/bootstrap.php';
$wp_path = $argv[1];
$case    = $argv[2];
$what    = $argv[3];
$file    = __DIR__ . '/cases/' . basename( $case ) . '.php';
if ( ! is_file( $file ) ) {
	fwrite( STDERR, "no case $case\n" );
	exit( 2 );
}
invoicekit_rec_boot( $wp_path );
require_once __DIR__ . '/lib.php';
invoicekit_rec_as_admin();
$def = require $file;

if ( 'describe' === $what ) {
	$steps = array();
	foreach ( $def['steps'] as $s ) {
		unset( $s['run'] );
		$steps[] = $s;
	}
	invoicekit_rec_out(
		array(
			'description' => $def['description'],
			'steps'       => $steps,
			'rest_extra'  => isset( $def['rest_extra'] ) ? $def['rest_extra'] : array(),
		)
	);
	exit( 0 );
}

$state_file = $argv[4];
$state      = is_file( $state_file ) ? json_decode( file_get_contents( $state_file ), true ) : array();
$step       = $def['steps'][ (int) $what ];
$result     = call_user_func_array( $step['run'], array( &$state ) );
file_put_contents( $state_file, wp_json_encode( $state ) );
// WordPress' shutdown hook now runs wc_webhook_execute_queue() (priority 10): the step's deliveries
// go out. Report afterwards, so the webhooks' status/failure_count include this step's deliveries.
add_action(
	'shutdown',
	function () use ( $state, $result ) {
		$hooks = array();
		foreach ( isset( $state['webhooks'] ) ? $state['webhooks'] : array() as $topic => $id ) {
			$w = wc_get_webhook( $id );
			if ( $w ) {
				$hooks[ $topic ] = array( 'status' => $w->get_status(), 'failure_count' => $w->get_failure_count() );
			}
		}
		invoicekit_rec_out( array( 'state' => $state, 'result' => $result, 'webhooks_after' => $hooks ) );
	},
	PHP_INT_MAX
);
