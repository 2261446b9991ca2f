<?php
/**
 * Loads the recording WordPress from the command line, the way a request to it would.
 * Usage from the other scripts: require __DIR__ . '/bootstrap.php'; invoicekit_rec_boot( $wp_path );
 * Our own helper (invoicekit), not WordPress code.
 */

function invoicekit_rec_boot( $wp_path, $installing = false ) {
	$home  = getenv( 'WC_REC_HOME' ) ?: 'http://127.0.0.1:8080';
	$parts = parse_url( $home );
	$_SERVER['HTTP_HOST']       = $parts['host'] . ( isset( $parts['port'] ) ? ':' . $parts['port'] : '' );
	$_SERVER['SERVER_NAME']     = $parts['host'];
	$_SERVER['SERVER_PORT']     = isset( $parts['port'] ) ? (string) $parts['port'] : '80';
	$_SERVER['REQUEST_URI']     = '/wp-admin/';
	$_SERVER['REQUEST_METHOD']  = 'POST';
	$_SERVER['REMOTE_ADDR']     = '127.0.0.1';
	$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
	if ( $installing ) {
		define( 'WP_INSTALLING', true );
	}
	global $wpdb, $wp_version, $wp_rewrite, $wp_roles, $wp, $wp_query, $wp_the_query, $wp_filesystem;
	require_once rtrim( $wp_path, '/' ) . '/wp-load.php';
}

/** Act as the shop owner (user 1, administrator), as the admin screens do. */
function invoicekit_rec_as_admin() {
	$user = get_user_by( 'login', 'admin' );
	wp_set_current_user( $user ? $user->ID : 1 );
}

function invoicekit_rec_out( $data ) {
	fwrite( STDOUT, "\n@@RESULT@@" . wp_json_encode( $data ) . "\n" );
}
