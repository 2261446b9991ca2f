<?php
/**
 * Sets up a local WordPress + WooCommerce for the end-to-end run (see README.md here):
 * installs WordPress into the database named in wp-config.php and activates WooCommerce (and
 * invoicekit for WooCommerce when it is in the plugins folder already).
 *
 * Usage: php install.php /path/to/wordpress http://127.0.0.1:8080
 * Nothing of WordPress or WooCommerce is part of this repository.
 */

if ( $argc < 3 ) {
	fwrite( STDERR, "usage: php install.php WORDPRESS_DIR SITE_URL\n" );
	exit( 2 );
}
define( 'WP_INSTALLING', true );
$_SERVER['HTTP_HOST']   = parse_url( $argv[2], PHP_URL_HOST ) . ':' . parse_url( $argv[2], PHP_URL_PORT );
$_SERVER['REQUEST_URI'] = '/';
require rtrim( $argv[1], '/' ) . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

if ( ! is_blog_installed() ) {
	wp_install( 'invoicekit test shop', 'admin', 'admin@example.com', true, '', 'admin-password-1' );
	echo "WordPress installed\n";
}
update_option( 'permalink_structure', '/%postname%/' );
update_option( 'WPLANG', '' );

foreach ( array( 'woocommerce/woocommerce.php', 'invoicekit-for-woocommerce/invoicekit-for-woocommerce.php' ) as $plugin ) {
	if ( ! file_exists( WP_PLUGIN_DIR . '/' . $plugin ) ) {
		continue; // the plugin itself is uploaded as a zip by run.py
	}
	$result = activate_plugin( $plugin );
	if ( is_wp_error( $result ) ) {
		fwrite( STDERR, $plugin . ': ' . $result->get_error_message() . "\n" );
		exit( 1 );
	}
	echo "activated $plugin\n";
}
echo "done\n";
