<?php
/**
 * Phase 2 of the setup: configure the store the way a German B2B shop owner would, create the
 * products, coupons and the customer, a REST API key and the two webhooks (through the REST API,
 * so WooCommerce sends its ping).
 *
 * php configure.php /path/to/wordpress <recorder-url> <webhook-secret> <state-file>
 * Writes {"consumer_key","consumer_secret","webhooks":{topic:id},"products":{sku:id},...} to <state-file>.
 * Our own script (invoicekit); it only calls WordPress/WooCommerce functions.
 */
require __DIR__ . '/bootstrap.php';
list( , $wp_path, $recorder_url, $secret, $state_file ) = $argv;
invoicekit_rec_boot( $wp_path );
invoicekit_rec_as_admin();

use Automattic\WooCommerce\Internal\DataStores\Orders\DataSynchronizer;
use Automattic\WooCommerce\Internal\DataStores\Orders\CustomOrdersTableController;
use Automattic\WooCommerce\Internal\Features\FeaturesController;

$state = array();

// --- HPOS (custom order tables) on, compatibility sync off -------------------------------------
$sync = wc_get_container()->get( DataSynchronizer::class );
if ( ! $sync->check_orders_table_exists() ) {
	$sync->create_database_tables();
}
wc_get_container()->get( FeaturesController::class )->change_feature_enable( 'custom_order_tables', true );
update_option( CustomOrdersTableController::CUSTOM_ORDERS_TABLE_USAGE_ENABLED_OPTION, 'yes' );
update_option( DataSynchronizer::ORDERS_DATA_SYNC_ENABLED_OPTION, 'no' );

// --- Store: Germany, EUR, prices entered gross, taxes on -----------------------------------------
$options = array(
	'woocommerce_store_address'              => 'Lindenstraße 12',
	'woocommerce_store_city'                 => 'Köln',
	'woocommerce_store_postcode'             => '50667',
	'woocommerce_default_country'            => 'DE',
	'woocommerce_allowed_countries'          => 'specific',
	'woocommerce_specific_allowed_countries' => array( 'DE', 'AT' ),
	'woocommerce_ship_to_countries'          => '',
	'woocommerce_currency'                   => 'EUR',
	'woocommerce_currency_pos'               => 'right_space',
	'woocommerce_price_thousand_sep'         => '.',
	'woocommerce_price_decimal_sep'          => ',',
	'woocommerce_price_num_decimals'         => '2',
	'woocommerce_calc_taxes'                 => 'yes',
	'woocommerce_prices_include_tax'         => 'yes',
	'woocommerce_tax_based_on'               => 'billing',
	'woocommerce_shipping_tax_class'         => 'inherit',
	'woocommerce_tax_round_at_subtotal'      => 'no',
	'woocommerce_tax_display_shop'           => 'incl',
	'woocommerce_tax_display_cart'           => 'incl',
	'woocommerce_tax_total_display'          => 'itemized',
	'woocommerce_enable_coupons'             => 'yes',
	'woocommerce_calc_discounts_sequentially' => 'no',
	'woocommerce_manage_stock'               => 'no',
	'woocommerce_coming_soon'                => 'no',
	'woocommerce_onboarding_profile'         => array( 'skipped' => true ),
	'woocommerce_task_list_hidden'           => 'yes',
	'woocommerce_allow_tracking'             => 'no',
	'woocommerce_feature_remote_logging_enabled' => 'no',
);
foreach ( $options as $k => $v ) {
	update_option( $k, $v );
}

// --- Tax rates: DE 19 % standard, 7 % reduced rate, 0 % zero rate (all also on shipping) ---------
global $wpdb;
$wpdb->query( "DELETE FROM {$wpdb->prefix}woocommerce_tax_rates" );
$wpdb->query( "DELETE FROM {$wpdb->prefix}woocommerce_tax_rate_locations" );
WC_Cache_Helper::invalidate_cache_group( 'taxes' );
$rates = array(
	''             => array( '19.0000', 'MwSt. 19 %' ),
	'reduced-rate' => array( '7.0000', 'MwSt. 7 %' ),
	'zero-rate'    => array( '0.0000', 'MwSt. 0 %' ),
);
$state['tax_rates'] = array();
foreach ( $rates as $class => $r ) {
	$id = WC_Tax::_insert_tax_rate(
		array(
			'tax_rate_country'  => 'DE',
			'tax_rate_state'    => '',
			'tax_rate'          => $r[0],
			'tax_rate_name'     => $r[1],
			'tax_rate_priority' => 1,
			'tax_rate_compound' => 0,
			'tax_rate_shipping' => 1,
			'tax_rate_order'    => 0,
			'tax_rate_class'    => $class,
		)
	);
	$state['tax_rates'][ '' === $class ? 'standard' : $class ] = $id;
}

// --- Shipping: zone Deutschland, flat rate 4.90 (WooCommerce shipping costs are net), taxable ------
foreach ( WC_Shipping_Zones::get_zones() as $z ) {
	WC_Shipping_Zones::delete_zone( $z['id'] );
}
$zone = new WC_Shipping_Zone();
$zone->set_zone_name( 'Deutschland' );
$zone->set_zone_order( 0 );
$zone->add_location( 'DE', 'country' );
$zone->save();
$instance_id = $zone->add_shipping_method( 'flat_rate' );
update_option(
	'woocommerce_flat_rate_' . $instance_id . '_settings',
	array( 'title' => 'Pauschale Versandkosten', 'tax_status' => 'taxable', 'cost' => '4.90' )
);
$state['flat_rate_instance_id'] = $instance_id;

// --- Payment method "Rechnung" (id invoice, provided by our mu-plugin) and bank transfer -----------
update_option( 'woocommerce_invoice_settings', array( 'enabled' => 'yes', 'title' => 'Rechnung' ) );
update_option( 'woocommerce_bacs_settings', array_merge( (array) get_option( 'woocommerce_bacs_settings', array() ), array( 'enabled' => 'yes', 'title' => 'Überweisung' ) ) );

// --- Products (prices entered gross) --------------------------------------------------------------
$products = array(
	// sku => name, gross price, tax class
	'BS-ERGO' => array( 'Bürostuhl Ergo Pro', '249.00', '' ),
	'TON-XL'  => array( 'Toner XL schwarz', '89.90', '' ),
	'PAP-A4'  => array( 'Kopierpapier A4, 500 Blatt (Pack)', '4.99', 'reduced-rate' ),
	'BUCH-UST' => array( 'Fachbuch „Umsatzsteuer kompakt“', '39.90', 'reduced-rate' ),
	'PV-400'  => array( 'Solarmodul 400 W', '189.00', 'zero-rate' ),
	'PEN-07'  => array( 'Kugelschreiber blau', '0.99', 'reduced-rate' ),
);
$state['products'] = array();
foreach ( $products as $sku => $p ) {
	$id      = wc_get_product_id_by_sku( $sku );
	$product = $id ? wc_get_product( $id ) : new WC_Product_Simple();
	$product->set_name( $p[0] );
	$product->set_sku( $sku );
	$product->set_regular_price( $p[1] );
	$product->set_tax_status( 'taxable' );
	$product->set_tax_class( $p[2] );
	$product->set_status( 'publish' );
	$product->set_manage_stock( false );
	$product->save();
	$state['products'][ $sku ] = $product->get_id();
}

// --- Coupons (amounts gross, since prices are entered gross) --------------------------------------
$coupons = array(
	'rabatt10' => array( 'percent', '10', array() ),
	'fix20'    => array( 'fixed_cart', '20', array() ),
	'treue5'   => array( 'fixed_cart', '5', array() ),
	'papier1'  => array( 'fixed_product', '1', array( $state['products']['PAP-A4'] ) ),
);
foreach ( $coupons as $code => $c ) {
	$id     = wc_get_coupon_id_by_code( $code );
	$coupon = new WC_Coupon( $id ? $id : 0 );
	$coupon->set_code( $code );
	$coupon->set_discount_type( $c[0] );
	$coupon->set_amount( $c[1] );
	$coupon->set_product_ids( $c[2] );
	$coupon->set_individual_use( false );
	$coupon->save();
}

// --- A B2B customer ---------------------------------------------------------------------------
$customer_id = email_exists( 'einkauf@muster-buero.example' );
$customer    = new WC_Customer( $customer_id ? $customer_id : 0 );
if ( ! $customer_id ) {
	$customer->set_username( 'muster-einkauf' );
	$customer->set_password( 'recording-customer-pw' );
	$customer->set_email( 'einkauf@muster-buero.example' );
}
$customer->set_first_name( 'Erika' );
$customer->set_last_name( 'Mustermann' );
$address = array(
	'first_name' => 'Erika',
	'last_name'  => 'Mustermann',
	'company'    => 'Muster Bürobedarf GmbH',
	'address_1'  => 'Hauptstraße 5',
	'address_2'  => '2. OG',
	'city'       => 'Berlin',
	'postcode'   => '10115',
	'country'    => 'DE',
	'state'      => '',
	'phone'      => '+49 30 1234567',
);
foreach ( $address as $k => $v ) {
	$customer->{"set_billing_$k"}( $v );
	$customer->{"set_shipping_$k"}( $v );
}
$customer->set_billing_email( 'einkauf@muster-buero.example' );
$customer->save();
$state['customer_id'] = $customer->get_id();

// --- REST API key (read_write, owned by the admin), as Settings > Advanced > REST API creates it ---
$wpdb->query( $wpdb->prepare( "DELETE FROM {$wpdb->prefix}woocommerce_api_keys WHERE description = %s", 'invoicekit recording' ) );
$consumer_key    = 'ck_' . wc_rand_hash();
$consumer_secret = 'cs_' . wc_rand_hash();
$wpdb->insert(
	$wpdb->prefix . 'woocommerce_api_keys',
	array(
		'user_id'         => get_current_user_id(),
		'description'     => 'invoicekit recording',
		'permissions'     => 'read_write',
		'consumer_key'    => wc_api_hash( $consumer_key ),
		'consumer_secret' => $consumer_secret,
		'truncated_key'   => substr( $consumer_key, -7 ),
	)
);
$state['consumer_key']    = $consumer_key;
$state['consumer_secret'] = $consumer_secret;

// --- Webhooks, created through the REST API (this is what sends the ping) -------------------------
$data_store = WC_Data_Store::load( 'webhook' );
foreach ( $data_store->search_webhooks( array( 'limit' => -1 ) ) as $wid ) {
	$w = wc_get_webhook( $wid );
	if ( $w ) {
		$w->delete( true );
	}
}
$state['webhooks'] = array();
foreach ( array( 'order.created', 'order.updated' ) as $topic ) {
	$request = new WP_REST_Request( 'POST', '/wc/v3/webhooks' );
	$request->set_body_params(
		array(
			'name'         => 'invoicekit ' . $topic,
			'topic'        => $topic,
			'delivery_url' => $recorder_url,
			'secret'       => $secret,
			'status'       => 'active',
		)
	);
	$response = rest_do_request( $request );
	if ( $response->is_error() || 201 !== $response->get_status() ) {
		fwrite( STDERR, 'webhook creation failed: ' . wp_json_encode( $response->get_data() ) . "\n" );
		exit( 1 );
	}
	$data                        = $response->get_data();
	$state['webhooks'][ $topic ] = $data['id'];
	$state['webhook_rest'][ $topic ] = $data;
}

flush_rewrite_rules( false );
file_put_contents( $state_file, wp_json_encode( $state, JSON_PRETTY_PRINT ) );
echo "configured; state in $state_file\n";
