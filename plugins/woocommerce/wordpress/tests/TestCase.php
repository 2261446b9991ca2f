<?php
/** The base of the plugin's tests: a fresh fake WordPress and WooCommerce for each test. */

use PHPUnit\Framework\TestCase;

abstract class Invoicekit_TestCase extends TestCase {

	protected function setUp(): void {
		parent::setUp();
		Fake_WP::reset();
		Fake_WC::reset();
		$_POST    = array();
		$_GET     = array();
		$_REQUEST = array();
	}

	/** Store a connection as the Connect step leaves it. */
	protected function connect( array $changes = array() ): void {
		\Invoicekit\WooCommerce\Settings::update(
			array_merge(
				array(
					'url'         => 'https://invoicekit.example.com',
					'api_key'     => 'ik_3f9a0c71e2b4_secretpart',
					'shop'        => 'shop-example-com',
					'merchant_id' => 3333,
				),
				$changes
			)
		);
	}

	/** The JSON body of the `$n`th outgoing request (0-based). */
	protected function sent_body( int $n = 0 ): array {
		return json_decode( Fake_WP::$requests[ $n ][1]['body'] ?? 'null', true ) ?? array();
	}
}
