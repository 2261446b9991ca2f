<?php
/**
 * PHPUnit bootstrap: the smallest fake of the WordPress and WooCommerce functions the plugin
 * touches (tests/fakes/*.php), then the plugin itself.
 */

define( 'ABSPATH', __DIR__ . '/' );
define( 'INVOICEKIT_WC_TESTING', true );

foreach ( glob( __DIR__ . '/fakes/*.php' ) as $fake ) {
	require_once $fake;
}

require_once dirname( __DIR__ ) . '/invoicekit-for-woocommerce/invoicekit-for-woocommerce.php';
\Invoicekit\WooCommerce\Plugin::load_classes();
require_once __DIR__ . '/TestCase.php';
