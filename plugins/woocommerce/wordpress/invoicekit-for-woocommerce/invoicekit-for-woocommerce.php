<?php
/**
 * Plugin Name:          invoicekit for WooCommerce
 * Plugin URI:           https://github.com/invoicekit/invoicekit
 * Description:          Purchase on account (B2B) through invoicekit: the buyer's eligibility at checkout, company and VAT ID fields, the payment details on the thank-you page, in e-mails and in My account, and a one-click connection.
 * Version:              1.0.0
 * Requires at least:    6.4
 * Requires PHP:         8.1
 * Requires Plugins:     woocommerce
 * WC requires at least: 8.0
 * WC tested up to:      10.5
 * Author:               invoicekit
 * License:              GPL-2.0-or-later
 * Text Domain:          invoicekit-for-woocommerce
 * Domain Path:          /languages
 *
 * @package Invoicekit\WooCommerce
 */

defined( 'ABSPATH' ) || exit;

define( 'INVOICEKIT_WC_VERSION', '1.0.0' );
define( 'INVOICEKIT_WC_FILE', __FILE__ );
define( 'INVOICEKIT_WC_DIR', __DIR__ );

// The other classes extend WooCommerce's, so they are loaded once WooCommerce is (boot).
require_once __DIR__ . '/includes/class-plugin.php';

// HPOS (custom order tables) and the Cart and Checkout blocks: both supported.
add_action(
	'before_woocommerce_init',
	static function (): void {
		if ( class_exists( \Automattic\WooCommerce\Utilities\FeaturesUtil::class ) ) {
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'custom_order_tables', INVOICEKIT_WC_FILE, true );
			\Automattic\WooCommerce\Utilities\FeaturesUtil::declare_compatibility( 'cart_checkout_blocks', INVOICEKIT_WC_FILE, true );
		}
	}
);

add_action( 'plugins_loaded', array( \Invoicekit\WooCommerce\Plugin::class, 'boot' ) );
