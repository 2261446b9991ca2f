<?php
/**
 * Phase 1 of the setup: install WordPress and activate WooCommerce.
 * php install.php /path/to/wordpress
 * Our own script (invoicekit); it calls WordPress' installer functions.
 */
require __DIR__ . '/bootstrap.php';
$wp_path = $argv[1];
invoicekit_rec_boot( $wp_path, true );
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

if ( ! is_blog_installed() ) {
	$result = wp_install( 'invoicekit recording shop', 'admin', 'admin@shop.example', false, '', 'recording-admin-pw' );
	echo "installed WordPress, user {$result['user_id']}\n";
} else {
	echo "WordPress already installed\n";
}
update_option( 'permalink_structure', '/%postname%/' );
update_option( 'timezone_string', 'Europe/Berlin' );
update_option( 'gmt_offset', '' );
update_option( 'WPLANG', '' );

if ( ! is_plugin_active( 'woocommerce/woocommerce.php' ) ) {
	$r = activate_plugin( 'woocommerce/woocommerce.php' );
	if ( is_wp_error( $r ) ) {
		fwrite( STDERR, 'activate_plugin failed: ' . $r->get_error_message() . "\n" );
		exit( 1 );
	}
	echo "activated WooCommerce\n";
} else {
	echo "WooCommerce already active\n";
}
