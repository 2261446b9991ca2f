<?php
/**
 * Makes the local WooCommerce a German B2B shop for the end-to-end run: EUR, taxes with
 * 19 % and 7 %, shipping in Germany, two products with SKUs, a classic checkout page beside
 * the block checkout WooCommerce creates, and the end-to-end mu-plugin (invoicekit runs on
 * 127.0.0.1 here; a real shop posts to a public HTTPS address).
 *
 * Usage: php shop.php /path/to/wordpress
 */

$_SERVER['HTTP_HOST']   = '127.0.0.1:8443';
$_SERVER['REQUEST_URI'] = '/';
require rtrim( $argv[1], '/' ) . '/wp-load.php';

$options = array(
	'woocommerce_default_country'        => 'DE:DE-BE',
	'woocommerce_currency'               => 'EUR',
	'woocommerce_price_thousand_sep'     => '.',
	'woocommerce_price_decimal_sep'      => ',',
	'woocommerce_currency_pos'           => 'right_space',
	'woocommerce_calc_taxes'             => 'yes',
	'woocommerce_prices_include_tax'     => 'no',
	'woocommerce_tax_display_shop'       => 'excl',
	'woocommerce_tax_display_cart'       => 'excl',
	'woocommerce_allowed_countries'      => 'specific',
	'woocommerce_specific_allowed_countries' => array( 'DE', 'AT', 'NL', 'FR' ),
	'woocommerce_onboarding_profile'     => array( 'skipped' => true ),
	'woocommerce_coming_soon'            => 'no',
	'woocommerce_store_pages_only'       => 'no',
	'woocommerce_enable_guest_checkout'  => 'yes',
	'woocommerce_checkout_company_field' => 'optional',
);
foreach ( $options as $name => $value ) {
	update_option( $name, $value );
}

global $wpdb;
if ( ! $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->prefix}woocommerce_tax_rates" ) ) {
	WC_Tax::_insert_tax_rate( array( 'tax_rate_country' => 'DE', 'tax_rate' => '19.0000', 'tax_rate_name' => 'MwSt.', 'tax_rate_priority' => 1, 'tax_rate_shipping' => 1, 'tax_rate_order' => 1, 'tax_rate_class' => '' ) );
	WC_Tax::_insert_tax_rate( array( 'tax_rate_country' => 'DE', 'tax_rate' => '7.0000', 'tax_rate_name' => 'MwSt. 7 %', 'tax_rate_priority' => 1, 'tax_rate_shipping' => 0, 'tax_rate_order' => 2, 'tax_rate_class' => 'reduced-rate' ) );
}

if ( ! $wpdb->get_var( "SELECT COUNT(*) FROM {$wpdb->prefix}woocommerce_shipping_zones" ) ) {
	$zone = new WC_Shipping_Zone();
	$zone->set_zone_name( 'Deutschland' );
	$zone->add_location( 'DE', 'country' );
	$zone->save();
	$instance = $zone->add_shipping_method( 'flat_rate' );
	update_option( 'woocommerce_flat_rate_' . $instance . '_settings', array( 'title' => 'Spedition', 'tax_status' => 'taxable', 'cost' => '4.90' ) );
}

foreach ( array( array( 'Bürostuhl Ergo', 'CHAIR-1', '499.00', '' ), array( 'Schreibtischlampe', 'LAMP-1', '35.00', '' ), array( 'Fachbuch Buchhaltung', 'BOOK-1', '39.90', 'reduced-rate' ) ) as list( $name, $sku, $price, $class ) ) {
	if ( wc_get_product_id_by_sku( $sku ) ) {
		continue;
	}
	$product = new WC_Product_Simple();
	$product->set_name( $name );
	$product->set_sku( $sku );
	$product->set_regular_price( $price );
	$product->set_tax_class( $class );
	$product->set_status( 'publish' );
	$product->save();
	echo "product $sku\n";
}

if ( ! get_page_by_path( 'classic-checkout' ) ) {
	wp_insert_post( array( 'post_title' => 'Classic checkout', 'post_name' => 'classic-checkout', 'post_status' => 'publish', 'post_type' => 'page', 'post_content' => '<!-- wp:shortcode -->[woocommerce_checkout]<!-- /wp:shortcode -->' ) );
	echo "classic checkout page\n";
}

// A registered business customer, for the classic checkout and My account.
if ( ! get_user_by( 'login', 'einkauf' ) ) {
	$customer = new WC_Customer();
	$customer->set_username( 'einkauf' );
	$customer->set_password( 'customer-password-1' );
	$customer->set_email( 'einkauf@beispiel-handel.example' );
	$customer->set_first_name( 'Jonas' );
	$customer->set_last_name( 'Beispiel' );
	$customer->set_billing_first_name( 'Jonas' );
	$customer->set_billing_last_name( 'Beispiel' );
	$customer->set_billing_email( 'einkauf@beispiel-handel.example' );
	$customer->set_billing_country( 'DE' );
	$customer->save();
	echo "customer einkauf\n";
}

// A complete block theme (the snapshot's Twenty Twenty-Three lacks its templates).
if ( wp_get_theme( 'twentytwentyfour' )->exists() ) {
	switch_theme( 'twentytwentyfour' );
}

// The end-to-end run's mu-plugin: loopback webhooks, HTTPS behind nginx.
wp_mkdir_p( WP_CONTENT_DIR . '/mu-plugins' );
copy( __DIR__ . '/mu-plugin/invoicekit-e2e.php', WP_CONTENT_DIR . '/mu-plugins/invoicekit-e2e.php' );
flush_rewrite_rules();
echo "shop ready\n";
