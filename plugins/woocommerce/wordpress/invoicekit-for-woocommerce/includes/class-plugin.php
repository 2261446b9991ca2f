<?php
/**
 * Wires the plugin's parts into WordPress once WooCommerce is loaded.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/** The plugin: each part registers its own hooks. */
final class Plugin {

	public const TEXT_DOMAIN = 'invoicekit-for-woocommerce';

	/** Register every part; without WooCommerce only a notice in the admin. */
	public static function boot(): void {
		load_plugin_textdomain( self::TEXT_DOMAIN, false, dirname( plugin_basename( INVOICEKIT_WC_FILE ) ) . '/languages' );
		if ( ! class_exists( 'WC_Payment_Gateway' ) ) {
			add_action( 'admin_notices', array( self::class, 'woocommerce_missing' ) );
			return;
		}
		self::load_classes();
		Gateway::register();
		Checkout_Fields::register();
		Blocks_Support::register();
		Checkout_Session::register();
		Payment_Block::register();
		Invoice_Mail::register();
		Settings_Page::register();
	}

	/** Load every class of `includes/` (they extend WooCommerce's classes). */
	public static function load_classes(): void {
		foreach ( glob( INVOICEKIT_WC_DIR . '/includes/class-*.php' ) as $file ) {
			require_once $file;
		}
	}

	/** The admin notice shown when WooCommerce is not active. */
	public static function woocommerce_missing(): void {
		echo '<div class="notice notice-error"><p>' . esc_html__( 'invoicekit for WooCommerce needs WooCommerce to be installed and active.', 'invoicekit-for-woocommerce' ) . '</p></div>';
	}
}
