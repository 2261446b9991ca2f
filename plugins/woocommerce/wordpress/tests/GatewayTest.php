<?php
/** The payment method: offered by invoicekit's decision, the order placed by it. */

use Invoicekit\WooCommerce\Blocks_Support;
use Invoicekit\WooCommerce\Decision;
use Invoicekit\WooCommerce\Eligibility;
use Invoicekit\WooCommerce\Gateway;
use Invoicekit\WooCommerce\Settings;

final class GatewayTest extends Invoicekit_TestCase {

	private const PO = __DIR__ . '/../invoicekit-for-woocommerce/languages/de_DE/checkout.po';

	protected function setUp(): void {
		parent::setUp();
		Fake_Checkout::reset();
		Gateway::stop_placing();
		$this->connect();
		$this->enable_gateway();
		$this->fill_cart();
		$this->business_buyer();
	}

	protected function tearDown(): void {
		Gateway::stop_placing();
		parent::tearDown();
	}

	private function enable_gateway( string $enabled = 'yes' ): void {
		update_option(
			'woocommerce_invoicekit_settings',
			array(
				'enabled'     => $enabled,
				'title'       => 'Purchase on account',
				'description' => 'Pay by invoice within the payment term. For businesses: please enter your company name and legal form.',
			)
		);
	}

	private function fill_cart(): void {
		Fake_WC::$cart = new Fake_Checkout_Cart();
		Fake_WC::$cart->add( new WC_Product( 'DESK-1', 11 ) );
		Fake_WC::$cart->add( new WC_Product( 'CHAIR-2', 12 ), 4 );
		Fake_WC::$cart->add( new WC_Product( '', 13 ) );
		Fake_WC::$cart->total = '1190.00';
	}

	private function business_buyer(): void {
		$customer = Fake_WC::$customer;
		$customer->set_billing_company( 'Muster Bürobedarf' );
		$customer->set_billing_address_1( 'Hauptstraße 5' );
		$customer->set_billing_postcode( '10115' );
		$customer->set_billing_city( 'Berlin' );
		$customer->set_billing_country( 'DE' );
		$customer->update_meta_data( 'billing_legal_form', 'GmbH' );
		$customer->update_meta_data( 'billing_vat_id', 'DE136695976' );
	}

	private function approved(): array {
		return array(
			'decision' => 'approved',
			'reasons'  => array(),
			'currency' => 'EUR',
			'amount'   => '1190.00',
			'company'  => array(
				'status'  => 'valid',
				'reasons' => array(),
				'source'  => 'format',
			),
		);
	}

	private function declined( array $reasons, array $company_reasons = array() ): array {
		return array(
			'decision' => 'declined',
			'reasons'  => $reasons,
			'company'  => array() === $company_reasons ? null : array(
				'status'  => 'invalid',
				'reasons' => $company_reasons,
				'source'  => 'format',
			),
		);
	}

	private function order( array $data = array() ): WC_Order {
		$order = new WC_Order(
			array_merge(
				array(
					'total' => '119.00',
					'items' => array(
						new Fake_Checkout_Item( new WC_Product( 'DESK-1' ) ),
						new Fake_Checkout_Item( new WC_Product( '' ) ),
					),
				),
				$data
			)
		);
		$order->update_meta_data( '_billing_legal_form', 'GmbH' );
		$order->update_meta_data( '_billing_vat_id', 'DE136695976' );
		return $order;
	}

	// -- registration -------------------------------------------------------------------------

	public function test_registered_as_a_woocommerce_gateway(): void {
		Gateway::register();
		$gateways = apply_filters( 'woocommerce_payment_gateways', array( 'WC_Gateway_BACS' ) );
		$this->assertSame( array( 'WC_Gateway_BACS', Gateway::class ), $gateways );
		$gateway = new Gateway();
		$this->assertSame( 'invoicekit', $gateway->id );
		$this->assertSame( 'Purchase on account (B2B)', $gateway->method_title );
		$this->assertSame( 'Purchase on account', $gateway->get_title() );
	}

	public function test_defaults_of_the_settings_form(): void {
		delete_option( 'woocommerce_invoicekit_settings' );
		$gateway = new Gateway();
		$fields  = $gateway->get_form_fields();
		$this->assertSame( array( 'enabled', 'title', 'description', 'email_payment_details', 'hide_when_unreachable' ), array_keys( $fields ) );
		$this->assertSame( 'Purchase on account', $gateway->get_title() );
		$this->assertStringStartsWith( 'Pay by invoice within the payment term.', $gateway->get_description() );
		$this->assertSame( 'yes', $fields['hide_when_unreachable']['default'] );
		$this->assertSame( 'yes', $fields['email_payment_details']['default'] );
		$this->assertSame( 'no', $gateway->enabled );
	}

	public function test_hide_when_unreachable_lives_in_the_plugin_settings(): void {
		$gateway = new Gateway();
		$this->assertSame( 'yes', $gateway->get_option( 'hide_when_unreachable' ) );
		Settings::update( array( 'hide_when_unreachable' => false ) );
		$this->assertSame( 'no', $gateway->get_option( 'hide_when_unreachable' ) );

		$gateway->settings['hide_when_unreachable'] = 'yes';
		$gateway->process_admin_options();
		$this->assertTrue( Settings::get( 'hide_when_unreachable' ) );
		$gateway->settings['hide_when_unreachable'] = 'no';
		$gateway->process_admin_options();
		$this->assertFalse( Settings::get( 'hide_when_unreachable' ) );
	}

	// -- is_available ---------------------------------------------------------------------------

	public function test_offered_when_invoicekit_approves(): void {
		Fake_WP::answer( 200, $this->approved() );
		$this->assertTrue( ( new Gateway() )->is_available() );
		$this->assertCount( 1, Fake_WP::$requests );
		$this->assertSame( 'https://invoicekit.example.com/api/v1/eligibility', Fake_WP::$requests[0][0] );
	}

	public function test_not_offered_when_invoicekit_declines(): void {
		Fake_WP::answer( 200, $this->declined( array( 'limit_exceeded' ) ) );
		$this->assertFalse( ( new Gateway() )->is_available() );
		$this->assertCount( 1, Fake_WP::$requests );
	}

	public function test_not_offered_when_declined_even_if_unreachable_would_offer(): void {
		Settings::update( array( 'hide_when_unreachable' => false ) );
		Fake_WP::answer( 200, $this->declined( array( 'vat_id_invalid' ), array( 'vat_id_invalid' ) ) );
		$this->assertFalse( ( new Gateway() )->is_available() );
	}

	public static function unreachable_answers(): array {
		return array(
			'transport error' => array( null ),
			'HTTP 500'        => array( 500 ),
			'HTTP 503'        => array( 503 ),
			'HTTP 429'        => array( 429 ),
			'not JSON'        => array( 'html' ),
			'HTTP 401'        => array( 401 ),
		);
	}

	/** @dataProvider unreachable_answers */
	public function test_hidden_when_unreachable_and_the_shop_hides_then( $answer ): void {
		$this->script_unreachable( $answer );
		$this->assertFalse( ( new Gateway() )->is_available() );
	}

	/** @dataProvider unreachable_answers */
	public function test_offered_when_unreachable_and_the_shop_does_not_hide( $answer ): void {
		Settings::update( array( 'hide_when_unreachable' => false ) );
		$this->script_unreachable( $answer );
		$this->assertTrue( ( new Gateway() )->is_available() );
	}

	private function script_unreachable( $answer ): void {
		if ( null === $answer ) {
			Fake_WP::unreachable();
		} elseif ( 'html' === $answer ) {
			Fake_WP::answer( 200, '<html>gateway timeout</html>' );
		} else {
			Fake_WP::answer( $answer, array( 'error' => 'nope' ) );
		}
	}

	public function test_the_answer_is_cached_per_cart_and_buyer(): void {
		Fake_WP::answer( 200, $this->approved() );
		$gateway = new Gateway();
		$this->assertTrue( $gateway->is_available() );
		$this->assertTrue( $gateway->is_available() );
		$this->assertTrue( ( new Gateway() )->is_available() );
		$this->assertCount( 1, Fake_WP::$requests );
		$this->assertCount( 1, Fake_WP::$transients );
		$this->assertStringStartsWith( 'invoicekit_elig_', array_key_first( Fake_WP::$transients ) );
	}

	public function test_a_decline_is_cached_too(): void {
		Fake_WP::answer( 200, $this->declined( array( 'amount_below_minimum' ) ) );
		$this->assertFalse( ( new Gateway() )->is_available() );
		$this->assertFalse( ( new Gateway() )->is_available() );
		$this->assertCount( 1, Fake_WP::$requests );
	}

	public function test_another_buyer_or_cart_is_asked_again(): void {
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->declined( array( 'vat_id_invalid' ), array( 'vat_id_invalid' ) ) );
		Fake_WP::answer( 200, $this->approved() );
		$gateway = new Gateway();
		$this->assertTrue( $gateway->is_available() );
		Fake_WC::$customer->update_meta_data( 'billing_vat_id', 'DE136695977' );
		$this->assertFalse( $gateway->is_available() );
		Fake_WC::$customer->update_meta_data( 'billing_vat_id', 'DE136695976' );
		Fake_WC::$cart->total = '1250.00';
		$this->assertTrue( $gateway->is_available() );
		$this->assertCount( 3, Fake_WP::$requests );
		$this->assertSame( '1250.00', $this->sent_body( 2 )['amount'] );
	}

	public function test_an_unreachable_answer_is_not_cached_and_not_asked_again_for_a_minute(): void {
		Fake_WP::unreachable();
		Fake_WP::answer( 200, $this->approved() );
		$gateway = new Gateway();
		$this->assertFalse( $gateway->is_available() );
		$this->assertFalse( $gateway->is_available() );
		$this->assertCount( 1, Fake_WP::$requests, 'an outage must not make every refresh wait' );
		$marker = Eligibility::unreachable_key();
		$this->assertSame( array( $marker ), array_keys( Fake_WP::$transients ), 'no decision cached' );

		Fake_WP::$transients[ $marker ] = time() - 1; // the minute is over
		$this->assertTrue( $gateway->is_available() );
		$this->assertCount( 2, Fake_WP::$requests );
		$this->assertArrayNotHasKey( $marker, Fake_WP::$transients );
	}

	public function test_placing_an_order_asks_even_within_the_unreachable_minute(): void {
		Fake_WP::$transients[ Eligibility::unreachable_key() ] = time() + 60;
		Fake_WP::answer( 200, $this->approved() );
		$order = new WC_Order( array( 'id' => 77 ) );
		$result = ( new Gateway() )->process_payment( 77 );
		$this->assertSame( 'success', $result['result'] );
		$this->assertCount( 1, Fake_WP::$requests );
	}

	public function test_the_request_body_and_headers_are_exact(): void {
		Fake_WP::answer( 200, $this->approved() );
		( new Gateway() )->is_available();
		$this->assertSame(
			array(
				'amount'   => '1190.00',
				'currency' => 'EUR',
				'buyer'    => array(
					'company'    => 'Muster Bürobedarf',
					'legal_form' => 'GmbH',
					'vat_id'     => 'DE136695976',
					'street'     => 'Hauptstraße 5',
					'postcode'   => '10115',
					'city'       => 'Berlin',
					'country'    => 'DE',
				),
				'lines'    => array(
					array( 'sku' => 'DESK-1' ),
					array( 'sku' => 'CHAIR-2' ),
					array( 'sku' => null ),
				),
			),
			$this->sent_body()
		);
		$args = Fake_WP::$requests[0][1];
		$this->assertSame( 'POST', $args['method'] );
		$this->assertSame( 'Bearer ik_3f9a0c71e2b4_secretpart', $args['headers']['Authorization'] );
		$this->assertSame( 'application/json', $args['headers']['Content-Type'] );
		$this->assertSame( 3, $args['timeout'] );
		$this->assertIsString( json_decode( $args['body'], true )['amount'], 'the amount is a decimal string, never a number' );
	}

	public function test_amount_is_an_exact_decimal_string(): void {
		Fake_WC::$cart->total = '99.9';
		Fake_WP::answer( 200, $this->approved() );
		( new Gateway() )->is_available();
		$this->assertSame( '99.90', $this->sent_body()['amount'] );
	}

	public function test_without_legal_form_and_vat_id_they_are_null(): void {
		Fake_WC::$customer->update_meta_data( 'billing_legal_form', '' );
		Fake_WC::$customer->update_meta_data( 'billing_vat_id', '' );
		Fake_WP::answer( 200, $this->approved() );
		( new Gateway() )->is_available();
		$this->assertNull( $this->sent_body()['buyer']['legal_form'] );
		$this->assertNull( $this->sent_body()['buyer']['vat_id'] );
	}

	public function test_block_checkout_fields_of_the_customer_are_read(): void {
		Fake_WC::$customer->meta = array(
			'_wc_billing/invoicekit/legal-form' => 'AG',
			'_wc_billing/invoicekit/vat-id'     => 'DE811569869',
		);
		Fake_WP::answer( 200, $this->approved() );
		( new Gateway() )->is_available();
		$this->assertSame( 'AG', $this->sent_body()['buyer']['legal_form'] );
		$this->assertSame( 'DE811569869', $this->sent_body()['buyer']['vat_id'] );
	}

	public function test_offered_without_asking_before_a_company_is_typed(): void {
		// Design: buyers see the method exists (its description says "for businesses");
		// invoicekit is asked once a company name is there.
		Fake_WC::$customer->set_billing_company( '' );
		$gateway = new Gateway();
		$this->assertTrue( $gateway->is_available() );
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assertStringContainsString( 'For businesses', $gateway->get_description() );
	}

	public function test_offered_without_asking_while_the_address_is_incomplete(): void {
		Fake_WC::$customer->set_billing_postcode( '' );
		$this->assertTrue( ( new Gateway() )->is_available() );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	public function test_not_offered_when_disabled_unconnected_or_the_cart_is_empty(): void {
		$this->enable_gateway( 'no' );
		$this->assertFalse( ( new Gateway() )->is_available() );

		$this->enable_gateway();
		Settings::forget_connection();
		$this->assertFalse( ( new Gateway() )->is_available() );

		$this->connect();
		Fake_WC::$cart = new Fake_Checkout_Cart();
		$this->assertFalse( ( new Gateway() )->is_available() );

		$this->fill_cart();
		Fake_WC::$cart->total = '0.00';
		$this->assertFalse( ( new Gateway() )->is_available() );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	public function test_while_placing_the_decision_is_left_to_process_payment(): void {
		Gateway::register();
		do_action( 'woocommerce_store_api_checkout_update_customer_from_request', Fake_WC::$customer, null );
		$this->assertTrue( ( new Gateway() )->is_available() );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	// -- process_payment --------------------------------------------------------------------------

	public function test_approved_order_is_placed_on_account(): void {
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		$result = ( new Gateway() )->process_payment( $order->get_id() );

		$this->assertSame(
			array(
				'result'   => 'success',
				'redirect' => 'https://shop.example.com/checkout/order-received/1001/',
			),
			$result
		);
		$this->assertSame( 'processing', $order->get_status() );
		$this->assertContains( 'Purchase on account approved by invoicekit.', $order->notes );
		$this->assertSame( array( 1001 ), Fake_Checkout::$stock_reduced );
		$this->assertTrue( Fake_WC::$cart->emptied );
		$this->assertSame( array(), Fake_WC::$notices );
	}

	public function test_placement_asks_with_the_order_s_data_never_the_cache(): void {
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->approved() );
		( new Gateway() )->is_available();
		( new Gateway() )->process_payment( $order->get_id() );
		$this->assertCount( 2, Fake_WP::$requests );
		$this->assertSame(
			array(
				'amount'   => '119.00',
				'currency' => 'EUR',
				'buyer'    => array(
					'company'    => 'Muster GmbH',
					'legal_form' => 'GmbH',
					'vat_id'     => 'DE136695976',
					'street'     => 'Hauptstraße 5',
					'postcode'   => '10115',
					'city'       => 'Berlin',
					'country'    => 'DE',
				),
				'lines'    => array( array( 'sku' => 'DESK-1' ), array( 'sku' => null ) ),
			),
			$this->sent_body( 1 )
		);
		$this->assertSame( 8, Fake_WP::$requests[1][1]['timeout'] );
	}

	public function test_declined_order_fails_with_the_buyer_s_sentence(): void {
		$order = $this->order();
		Fake_WP::answer( 200, $this->declined( array( 'amount_below_minimum' ) ) );
		$result = ( new Gateway() )->process_payment( $order->get_id() );

		$this->assertSame( array( 'result' => 'failure' ), $result );
		$this->assertSame( 'pending', $order->get_status() );
		$this->assertSame( array( array( 'The order total is below the minimum for purchase on account.', 'error' ) ), Fake_WC::$notices );
		$this->assertSame( array(), Fake_Checkout::$stock_reduced );
		$this->assertFalse( Fake_WC::$cart->emptied );
		$this->assertContains( 'Purchase on account declined by invoicekit (amount_below_minimum).', $order->notes );
	}

	public function test_declined_order_in_german(): void {
		Fake_WP::$locale = 'de_DE';
		Fake_Checkout::load_po( self::PO );
		$order = $this->order();
		Fake_WP::answer( 200, $this->declined( array( 'vat_id_invalid' ), array( 'vat_id_invalid' ) ) );
		$result = ( new Gateway() )->process_payment( $order->get_id() );

		$this->assertSame( 'failure', $result['result'] );
		$this->assertSame( array( array( 'Die USt-IdNr. ist ungültig. Bitte prüfen Sie sie.', 'error' ) ), Fake_WC::$notices );
	}

	public function test_credit_and_unknown_reasons_read_as_the_neutral_sentence(): void {
		foreach ( array( array( 'limit_exceeded' ), array( 'risk_policy', 'invoices_overdue' ), array( 'collection_entries' ), array( 'something_new' ), array() ) as $reasons ) {
			Fake_WC::$notices = array();
			$order            = $this->order();
			Fake_WP::answer( 200, $this->declined( $reasons ) );
			$this->assertSame( 'failure', ( new Gateway() )->process_payment( $order->get_id() )['result'] );
			$this->assertSame(
				array( array( 'Purchase on account is not available for this order. Please choose another payment method.', 'error' ) ),
				Fake_WC::$notices,
				implode( ',', $reasons )
			);
		}
	}

	public function test_several_reasons_give_each_distinct_sentence_and_no_neutral_one(): void {
		$decision = new Decision( Decision::DECLINED, array( 'not_a_business', 'amount_below_minimum', 'country_not_supported', 'product_not_approved', 'trial_product', 'limit_exceeded' ) );
		$this->assertSame(
			'Purchase on account is only available to businesses. Please enter your company name and legal form.'
			. ' The order total is below the minimum for purchase on account.'
			. ' Purchase on account is not available for billing addresses in this country.'
			. ' Some products in your cart cannot be bought on account.',
			$decision->buyer_message()
		);
	}

	public function test_every_reason_invoicekit_knows_has_its_sentence_or_the_neutral_one(): void {
		// From core/risk (rules.py, company.py, decide.py, plugin.py) and core/local_provider.
		$specific = array(
			'not_a_business',
			'amount_below_minimum',
			'amount_above_maximum',
			'currency_not_supported',
			'country_not_supported',
			'product_not_approved',
			'no_approved_products',
			'trial_product',
			'vat_id_invalid',
			'vat_id_country_mismatch',
			'vat_id_not_registered',
			'vat_id_unverified',
			'legal_form_invalid',
			'address_implausible',
			'company_invalid',
			'company_unverified',
		);
		$neutral  = array( 'merchant_not_verified', 'business_type_excluded', 'collection_entries', 'invoices_overdue', 'risk_policy', 'limit_exceeded', 'order_number_too_long' );
		foreach ( $specific as $reason ) {
			$sentence = Decision::reason_sentence( $reason );
			$this->assertNotNull( $sentence, $reason );
			$this->assertNotSame( Decision::neutral_sentence(), $sentence, $reason );
		}
		foreach ( $neutral as $reason ) {
			$this->assertNull( Decision::reason_sentence( $reason ), $reason );
			$this->assertSame( Decision::neutral_sentence(), ( new Decision( Decision::DECLINED, array( $reason ) ) )->buyer_message() );
		}
	}

	public function test_unreachable_at_placement_refused_when_the_shop_hides(): void {
		$order = $this->order();
		Fake_WP::unreachable();
		$result = ( new Gateway() )->process_payment( $order->get_id() );
		$this->assertSame( array( 'result' => 'failure' ), $result );
		$this->assertSame( 'pending', $order->get_status() );
		$this->assertSame( array( array( 'Purchase on account is not available right now, please choose another payment method.', 'error' ) ), Fake_WC::$notices );
	}

	public function test_unreachable_at_placement_accepted_when_the_shop_does_not_hide(): void {
		Settings::update( array( 'hide_when_unreachable' => false ) );
		$order = $this->order();
		Fake_WP::answer( 503, array( 'error' => 'maintenance' ) );
		$result = ( new Gateway() )->process_payment( $order->get_id() );
		$this->assertSame( 'success', $result['result'] );
		$this->assertSame( 'processing', $order->get_status() );
		$this->assertStringContainsString( 'it decides when it receives the order', implode( "\n", $order->notes ) );
		$this->assertSame( array( 1001 ), Fake_Checkout::$stock_reduced );
	}

	public function test_a_revoked_key_counts_as_unreachable_and_is_logged_without_the_key(): void {
		$order = $this->order();
		Fake_WP::answer( 401, array( 'error' => "send the merchant's API key as 'Authorization: Bearer <key>'" ) );
		$this->assertSame( 'failure', ( new Gateway() )->process_payment( $order->get_id() )['result'] );
		$this->assertSame( array( array( Gateway::not_available_sentence(), 'error' ) ), Fake_WC::$notices );
		$this->assertCount( 1, Fake_Checkout::$logs );
		list( $level, $message, $context ) = Fake_Checkout::$logs[0];
		$this->assertSame( 'error', $level );
		$this->assertStringContainsString( '401', $message );
		$this->assertStringNotContainsString( 'secretpart', $message );
		$this->assertStringNotContainsString( 'ik_3f9a', $message );
		$this->assertSame( 'invoicekit', $context['source'] );
	}

	public function test_refused_buyer_fields_at_placement_are_named(): void {
		$order = $this->order();
		Fake_WP::answer(
			422,
			array(
				'error'  => 'invalid input: buyer.vat_id, buyer.country',
				'fields' => array(
					'buyer.vat_id'  => array( 'Longer than maximum length 32.' ),
					'buyer.country' => array( 'must be an upper-case ISO 3166-1 alpha-2 code' ),
				),
			)
		);
		$this->assertSame( 'failure', ( new Gateway() )->process_payment( $order->get_id() )['result'] );
		$this->assertSame(
			array(
				array( 'The VAT ID is not valid. Please check it.', 'error' ),
				array( 'Please choose a valid billing country.', 'error' ),
			),
			Fake_WC::$notices
		);
		$this->assertSame( 'pending', $order->get_status() );
	}

	public function test_a_422_on_fields_the_buyer_cannot_change_counts_as_unreachable(): void {
		Settings::update( array( 'hide_when_unreachable' => false ) );
		$order = $this->order();
		Fake_WP::answer( 422, array( 'fields' => array( 'amount' => array( 'not a number' ) ) ) );
		$this->assertSame( 'success', ( new Gateway() )->process_payment( $order->get_id() )['result'] );
		$this->assertCount( 1, Fake_Checkout::$logs );
	}

	// -- translations -------------------------------------------------------------------------------

	public function test_every_string_of_the_checkout_has_a_german_translation(): void {
		$translations = Fake_Checkout::load_po( self::PO );
		$strings      = array();
		foreach ( array( 'class-gateway.php', 'class-eligibility.php', 'class-checkout-fields.php', 'class-blocks-support.php', 'class-checkout-session.php' ) as $file ) {
			$source = file_get_contents( __DIR__ . '/../invoicekit-for-woocommerce/includes/' . $file );
			preg_match_all( "/__\(\s*'((?:[^'\\\\]|\\\\.)*)'\s*,\s*'invoicekit-for-woocommerce'\s*\)/", $source, $m );
			$strings = array_merge( $strings, array_map( 'stripslashes', $m[1] ) );
		}
		$this->assertGreaterThan( 40, count( array_unique( $strings ) ) );
		foreach ( array_unique( $strings ) as $string ) {
			$this->assertArrayHasKey( $string, $translations, 'untranslated: ' . $string );
			$this->assertNotSame( $string, $translations[ $string ], 'not translated: ' . $string );
		}
	}

	// -- block checkout ------------------------------------------------------------------------------

	public function test_block_payment_method_data_is_translated_in_php(): void {
		Fake_Checkout::load_po( self::PO );
		delete_option( 'woocommerce_invoicekit_settings' );
		$registry = new Fake_Checkout_Registry();
		Blocks_Support::register();
		do_action( 'woocommerce_blocks_payment_method_type_registration', $registry );
		$this->assertCount( 1, $registry->registered );
		$method = $registry->registered[0];
		$this->assertInstanceOf( Blocks_Support::class, $method );
		$method->initialize();
		$this->assertSame( 'invoicekit', $method->get_name() );
		$this->assertFalse( $method->is_active(), 'disabled by default' );
		$data = $method->get_payment_method_data();
		$this->assertSame( 'Kauf auf Rechnung', $data['title'] );
		$this->assertStringStartsWith( 'Bezahlen Sie per Rechnung', $data['description'] );
		$this->assertSame( array( 'products' ), $data['supports'] );
		$this->assertSame( array( 'invoicekit-blocks' ), $method->get_payment_method_script_handles() );
	}

	public function test_block_payment_method_active_when_enabled_and_connected(): void {
		$method = new Blocks_Support();
		$this->assertTrue( $method->is_active() );
		Settings::forget_connection();
		$this->assertFalse( ( new Blocks_Support() )->is_active() );
	}

	public function test_blocks_script_registers_the_method_with_server_side_availability(): void {
		$script = file_get_contents( __DIR__ . '/../invoicekit-for-woocommerce/assets/js/blocks.js' );
		$this->assertStringContainsString( "getSetting( 'invoicekit_data'", $script );
		$this->assertStringContainsString( "name: 'invoicekit'", $script );
		$this->assertMatchesRegularExpression( '/canMakePayment: function \(\) \{\s*return true;/', $script );
		$this->assertStringNotContainsString( 'dangerouslySetInnerHTML', $script );
	}

	public function test_eligibility_builds_one_shape_for_cart_and_order(): void {
		$cart  = Eligibility::request_for_cart( Fake_WC::$cart, Eligibility::buyer_from_customer( Fake_WC::$customer ) );
		$order = Eligibility::request_for_order( $this->order() );
		$this->assertSame( array_keys( $cart ), array_keys( $order ) );
		$this->assertSame( array_keys( $cart['buyer'] ), array_keys( $order['buyer'] ) );
		$this->assertSame( array( 'amount', 'currency', 'buyer', 'lines' ), array_keys( $cart ) );
	}

	public function test_at_most_500_lines_are_sent(): void {
		$skus = array_map( static fn( $i ) => 'SKU-' . $i, range( 1, 600 ) );
		$this->assertCount( 500, Eligibility::build_request( '1.00', 'EUR', array(), $skus )['lines'] );
	}
}
