<?php
/**
 * wp-config.php for the throw-away recording WordPress (invoicekit bench/woocommerce_record).
 * record.py copies this to <wp>/wp-config.php when none exists. Never use it for a real site.
 */
define( 'DB_NAME', getenv( 'WC_REC_DB_NAME' ) ?: 'wordpress' );
define( 'DB_USER', getenv( 'WC_REC_DB_USER' ) ?: 'root' );
define( 'DB_PASSWORD', getenv( 'WC_REC_DB_PASSWORD' ) ?: '' );
define( 'DB_HOST', getenv( 'WC_REC_DB_HOST' ) ?: '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );

// Fixed, public, throw-away keys: the recordings must not depend on a secret of ours.
define( 'AUTH_KEY', 'invoicekit-recording-auth-key' );
define( 'SECURE_AUTH_KEY', 'invoicekit-recording-secure-auth-key' );
define( 'LOGGED_IN_KEY', 'invoicekit-recording-logged-in-key' );
define( 'NONCE_KEY', 'invoicekit-recording-nonce-key' );
define( 'AUTH_SALT', 'invoicekit-recording-auth-salt' );
define( 'SECURE_AUTH_SALT', 'invoicekit-recording-secure-auth-salt' );
define( 'LOGGED_IN_SALT', 'invoicekit-recording-logged-in-salt' );
define( 'NONCE_SALT', 'invoicekit-recording-nonce-salt' );

$table_prefix = 'wp_';

define( 'WP_HOME', getenv( 'WC_REC_HOME' ) ?: 'http://127.0.0.1:8080' );
define( 'WP_SITEURL', WP_HOME );
define( 'DISABLE_WP_CRON', true );
define( 'WP_HTTP_BLOCK_EXTERNAL', true );   // loopback only; 127.0.0.1 is the home host
define( 'WP_ACCESSIBLE_HOSTS', 'localhost' );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '/tmp/wc-recording-debug.log' );

if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
