<?php
/** The provider's checkout widget (Billie): the route that opens a session, the confirmation at placement. */

use Invoicekit\WooCommerce\Blocks_Support;
use Invoicekit\WooCommerce\Checkout_Session;
use Invoicekit\WooCommerce\Gateway;
use Invoicekit\WooCommerce\Settings;

final class CheckoutSessionTest extends Invoicekit_TestCase {

	private const PO = __DIR__ . '/../invoicekit-for-woocommerce/languages/de_DE/checkout.po';
	private const JS = __DIR__ . '/../invoicekit-for-woocommerce/assets/js/';

	private const SESSION_ID = '5d1c0b7e-9f1a-4c1e-8a51-2f3a4b5c6d7e';

	protected function setUp(): void {
		parent::setUp();
		Fake_Checkout::reset();
		Gateway::stop_placing();
		$this->connect();
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'yes' ) );

		Fake_WC::$cart = new Fake_Checkout_Cart();
		Fake_WC::$cart->add_line( new Fake_Checkout_Product( 'DESK-1', 'Desk' ), 2, '420.00', '79.80' );
		Fake_WC::$cart->add_line( new Fake_Checkout_Product( '', 'Cable <b>set</b>' ), 1, '84.03', '15.97' );
		Fake_WC::$cart->total     = '599.64';
		Fake_WC::$cart->total_tax = '95.74';

		$customer = Fake_WC::$customer;
		$customer->set_billing_company( 'Muster GmbH' );
		$customer->set_billing_first_name( 'Erika' );
		$customer->set_billing_last_name( 'Muster' );
		$customer->set_billing_email( 'erika@muster.de' );
		$customer->set_billing_phone( '+49 30 1234' );
		$customer->set_billing_address_1( 'Hauptstr. 5' );
		$customer->set_billing_postcode( '10115' );
		$customer->set_billing_city( 'Berlin' );
		$customer->set_billing_country( 'DE' );
		$customer->set_shipping_address_1( 'Lagerweg 1' );
		$customer->set_shipping_postcode( '10115' );
		$customer->set_shipping_city( 'Berlin' );
		$customer->set_shipping_country( 'de' );
		$customer->update_meta_data( 'billing_legal_form', 'GmbH' );
	}

	protected function tearDown(): void {
		$_POST = array();
		parent::tearDown();
	}

	/** invoicekit's answer for a provider without a widget (the local provider). */
	private function no_widget(): array {
		return array(
			'provider'   => 'local',
			'session_id' => null,
			'widget'     => null,
		);
	}

	private function approved(): array {
		return array(
			'decision' => 'approved',
			'reasons'  => array(),
			'company'  => null,
		);
	}

	private function widget(): array {
		return array(
			'kind'       => 'billie',
			'script_url' => 'https://static.billie.io/checkout/billie-checkout.js',
			'config'     => array(
				'session_id'    => self::SESSION_ID,
				'merchant_name' => 'Acme',
			),
			'order_data' => array(
				'amount'   => array(
					'gross' => '599.64',
					'net'   => '503.90',
					'tax'   => '95.74',
				),
				'duration' => 30,
			),
		);
	}

	private function billie_session(): array {
		return array(
			'provider'   => 'billie',
			'session_id' => self::SESSION_ID,
			'expires_at' => '2026-12-09T12:00:00+00:00',
			'widget'     => $this->widget(),
		);
	}

	private function request( array $form = array(), string $nonce = 'nonce-wp_rest' ): WP_REST_Request {
		$request = new WP_REST_Request();
		$request->set_header( 'X-WP-Nonce', $nonce );
		$request->set_body( json_encode( array( 'form' => $form ) ) );
		return $request;
	}

	private function open( array $form = array() ) {
		return Checkout_Session::open_for_browser( $this->request( $form ) );
	}

	private function entry() {
		return WC()->session->get( Checkout_Session::SESSION_KEY );
	}

	// -- the route ------------------------------------------------------------------------------

	public function test_the_route_is_registered_and_checks_the_rest_nonce(): void {
		Checkout_Session::register();
		do_action( 'rest_api_init' );
		$route = Fake_Checkout::$routes['invoicekit/v1/checkout-session'] ?? null;
		$this->assertNotNull( $route );
		$this->assertSame( 'POST', $route['methods'] );
		$this->assertSame( array( Checkout_Session::class, 'open_for_browser' ), $route['callback'] );

		$this->assertTrue( Checkout_Session::permission( $this->request() ) );
		$this->assertFalse( Checkout_Session::permission( $this->request( array(), 'nonce-other' ) ) );
		$this->assertFalse( Checkout_Session::permission( $this->request( array(), '' ) ) );
		$this->assertFalse( Checkout_Session::permission( new WP_REST_Request() ) );
	}

	public function test_the_route_answers_only_the_widget_and_remembers_the_session(): void {
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->billie_session() );
		$response = $this->open();

		$this->assertInstanceOf( WP_REST_Response::class, $response );
		$this->assertSame( 200, $response->get_status() );
		$this->assertSame( array( 'widget' => $this->widget() ), $response->get_data() );
		$this->assertSame(
			array(
				'id'       => self::SESSION_ID,
				'provider' => 'billie',
			),
			$this->entry()
		);
		$this->assertSame( 1, Fake_WC::$cart->calculations, 'the totals are those the order will carry' );
		$this->assertStringNotContainsString( 'secretpart', json_encode( $response->get_data() ) );
		$this->assertStringNotContainsString( 'ik_3f9a', json_encode( $response->get_data() ) );

		$this->assertSame( 'https://invoicekit.example.com/api/v1/eligibility', Fake_WP::$requests[0][0] );
		$this->assertSame( 'https://invoicekit.example.com/api/v1/checkout-sessions', Fake_WP::$requests[1][0] );
		$args = Fake_WP::$requests[1][1];
		$this->assertSame( 'POST', $args['method'] );
		$this->assertSame( 'Bearer ik_3f9a0c71e2b4_secretpart', $args['headers']['Authorization'] );
		$this->assertSame( 8, $args['timeout'] );
	}

	public function test_the_session_body_is_the_contract_s(): void {
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->billie_session() );
		$this->open();
		$this->assertSame(
			array(
				'shop'        => 'shop-example-com',
				'customer_id' => 'erika@muster.de',
				'amount'      => '599.64',
				'tax'         => '95.74',
				'currency'    => 'EUR',
				'buyer'       => array(
					'company'    => 'Muster GmbH',
					'legal_form' => 'GmbH',
					'vat_id'     => null,
					'street'     => 'Hauptstr. 5',
					'postcode'   => '10115',
					'city'       => 'Berlin',
					'country'    => 'DE',
				),
				'person'      => array(
					'first_name' => 'Erika',
					'last_name'  => 'Muster',
					'email'      => 'erika@muster.de',
					'phone'      => '+49 30 1234',
				),
				'delivery'    => array(
					'street'   => 'Lagerweg 1',
					'postcode' => '10115',
					'city'     => 'Berlin',
					'country'  => 'DE',
				),
				'lines'       => array(
					array(
						'sku'      => 'DESK-1',
						'title'    => 'Desk',
						'quantity' => 2,
						'amount'   => '499.80',
						'tax'      => '79.80',
					),
					array(
						'sku'      => null,
						'title'    => 'Cable set',
						'quantity' => 1,
						'amount'   => '100.00',
						'tax'      => '15.97',
					),
				),
			),
			$this->sent_body( 1 )
		);
	}

	public function test_a_registered_customer_is_named_by_number_and_delivery_left_out_when_incomplete(): void {
		Fake_WC::$customer->set_id( 42 );
		Fake_WC::$customer->set_shipping_city( '' );
		Fake_WC::$customer->set_billing_phone( '' );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->billie_session() );
		$this->open();
		$body = $this->sent_body( 1 );
		$this->assertSame( '42', $body['customer_id'] );
		$this->assertArrayNotHasKey( 'delivery', $body );
		$this->assertSame( array( 'first_name', 'last_name', 'email' ), array_keys( $body['person'] ) );
	}

	public function test_the_browser_s_form_is_newer_than_the_customer(): void {
		Fake_WC::$customer->set_billing_email( '' );
		Fake_WC::$customer->set_billing_first_name( '' );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->billie_session() );
		$this->open(
			array(
				'billing_first_name' => ' Max ',
				'billing_email'      => 'max@muster.de',
				'billing_company'    => 'Muster AG',
				'billing_legal_form' => 'No such form',
				'billing_vat_id'     => 'de811569869',
				'shipping_city'      => 'Potsdam',
				'payment_method'     => 'ignored',
				'billing_state'      => array( 'not', 'scalar' ),
			)
		);
		$body = $this->sent_body( 1 );
		$this->assertSame( 'max@muster.de', $body['customer_id'] );
		$this->assertSame( 'Max', $body['person']['first_name'] );
		$this->assertSame( 'Muster AG', $body['buyer']['company'] );
		$this->assertSame( 'GmbH', $body['buyer']['legal_form'], 'an unknown legal form is not taken' );
		$this->assertSame( 'DE811569869', $body['buyer']['vat_id'] );
		$this->assertSame( 'Potsdam', $body['delivery']['city'] );
		$this->assertSame( 'Muster AG', $this->sent_body( 0 )['buyer']['company'], 'eligibility asked for the same buyer' );
	}

	public function test_the_local_provider_answers_no_widget_and_the_entry_is_forgotten(): void {
		Checkout_Session::remember( 'old-session', 'billie' );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->no_widget() );
		$response = $this->open();
		$this->assertSame( 200, $response->get_status() );
		$this->assertSame( array( 'widget' => null ), $response->get_data() );
		$this->assertNull( Checkout_Session::remembered() );
	}

	public function test_no_session_is_opened_before_invoicekit_can_decide_or_when_it_declines(): void {
		Fake_WC::$customer->set_billing_company( '' );
		$this->assertSame( array( 'widget' => null ), $this->open()->get_data() );
		$this->assertSame( array(), Fake_WP::$requests, 'no company: the placement says why' );

		Fake_WC::$customer->set_billing_company( 'Muster GmbH' );
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'limit_exceeded' ),
			)
		);
		$this->assertSame( array( 'widget' => null ), $this->open()->get_data() );
		$this->assertCount( 1, Fake_WP::$requests, 'declined: no session' );
		$this->assertNull( $this->entry() );
	}

	public static function failing_answers(): array {
		return array(
			'provider refused (502)' => array( 502, array( 'error' => 'Billie refused the session' ) ),
			'unknown shop (404)'     => array( 404, array( 'error' => 'unknown shop' ) ),
			'invalid (422)'          => array( 422, array( 'error' => 'invalid input: person.email' ) ),
			'unreachable'            => array( 0, null ),
			'no session id'          => array( 200, array( 'provider' => 'billie', 'widget' => array( 'kind' => 'billie' ) ) ),
			'script not https'       => array( 200, array( 'provider' => 'billie', 'session_id' => 'x', 'widget' => array( 'kind' => 'billie', 'script_url' => 'http://evil.example/x.js' ) ) ),
		);
	}

	/** @dataProvider failing_answers */
	public function test_the_route_answers_the_buyer_s_sentence_when_invoicekit_fails( int $status, ?array $body ): void {
		Checkout_Session::remember( 'earlier', 'billie' );
		Fake_WP::answer( 200, $this->approved() );
		if ( 0 === $status ) {
			Fake_WP::unreachable();
		} else {
			Fake_WP::answer( $status, $body );
		}
		$response = $this->open();

		$this->assertInstanceOf( WP_Error::class, $response );
		$this->assertSame( 'invoicekit_not_available', $response->get_error_code() );
		$this->assertSame( 'Purchase on account is not available right now, please choose another payment method.', $response->get_error_message() );
		$this->assertSame( array( 'status' => 503 ), $response->get_error_data() );
		$this->assertSame( 'earlier', Checkout_Session::remembered()['id'], 'the widget stays required' );
		$this->assertCount( 1, Fake_Checkout::$logs );
		$this->assertStringNotContainsString( 'secretpart', Fake_Checkout::$logs[0][1] );
	}

	public function test_the_route_refuses_while_the_method_is_off_or_the_cart_empty(): void {
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'no' ) );
		$this->assertSame( 'invoicekit_not_available', $this->open()->get_error_code() );
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'yes' ) );
		Settings::forget_connection();
		$this->assertSame( 'invoicekit_not_available', $this->open()->get_error_code() );
		$this->connect();
		Fake_WC::$cart = new Fake_Checkout_Cart();
		$this->assertSame( 'invoicekit_not_available', $this->open()->get_error_code() );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	public function test_the_route_s_sentence_in_german(): void {
		Fake_Checkout::load_po( self::PO );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 502, array( 'error' => 'nope' ) );
		$this->assertSame( 'Kauf auf Rechnung ist im Moment nicht verfügbar, bitte wählen Sie eine andere Zahlungsart.', $this->open()->get_error_message() );
	}

	// -- placement ------------------------------------------------------------------------------

	private function order(): WC_Order {
		$order = new WC_Order(
			array(
				'id'           => 2001,
				'order_number' => 'A-1001',
				'total'        => '599.64',
				'total_tax'    => '95.74',
				'items'        => array( new Fake_Checkout_Item( new WC_Product( 'DESK-1' ) ) ),
			)
		);
		$order->update_meta_data( '_billing_legal_form', 'GmbH' );
		return $order;
	}

	private function answer(): array {
		return array(
			'debtor_company'   => array(
				'name'            => 'Muster GmbH',
				'address_street'  => 'Hauptstr.',
				'address_country' => 'DE',
			),
			'debtor_person'    => array(),
			'delivery_address' => array( 'city' => 'Berlin' ),
			'amount'           => array(
				'gross' => '599.64',
				'net'   => '503.90',
				'tax'   => '95.74',
			),
			'duration'         => 30,
		);
	}

	/** The checkout's script posted the session and the widget's answer. */
	private function post_answer( string $session_id = self::SESSION_ID, ?string $answer = null ): void {
		$_POST[ Checkout_Session::POSTED_SESSION ] = $session_id;

		// The widget's empty objects come as {} (PHP's empty array would be []).
		$_POST[ Checkout_Session::POSTED_ANSWER ] = $answer ?? str_replace( '"debtor_person":[]', '"debtor_person":{}', json_encode( $this->answer() ) );
	}

	private function pay( WC_Order $order ): array {
		return ( new Gateway() )->process_payment( $order->get_id() );
	}

	public function test_the_session_is_confirmed_for_the_order_and_billie_s_order_kept(): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer(
			200,
			array(
				'decision'           => 'approved',
				'provider'           => 'billie',
				'provider_reference' => 'b1f1e0c2-7d3a-4a57-9a0e-0d7f2a7c1b11',
			)
		);
		$result = $this->pay( $order );

		$this->assertSame( 'success', $result['result'] );
		$this->assertSame( 'https://invoicekit.example.com/api/v1/checkout-sessions/' . self::SESSION_ID . '/confirm', Fake_WP::$requests[1][0] );
		$this->assertSame(
			array(
				'shop'         => 'shop-example-com',
				'order_number' => 'A-1001',
				'amount'       => '599.64',
				'tax'          => '95.74',
				'currency'     => 'EUR',
				'answer'       => $this->answer(),
			),
			$this->sent_body( 1 )
		);
		$this->assertStringContainsString( '"debtor_person":{}', Fake_WP::$requests[1][1]['body'], 'an empty object stays an object' );
		$this->assertSame( 'Bearer ik_3f9a0c71e2b4_secretpart', Fake_WP::$requests[1][1]['headers']['Authorization'] );
		$this->assertSame( 15, Fake_WP::$requests[1][1]['timeout'] );

		$this->assertSame( 'b1f1e0c2-7d3a-4a57-9a0e-0d7f2a7c1b11', $order->get_meta( '_invoicekit_provider_reference' ) );
		$this->assertSame( 'processing', $order->get_status() );
		$this->assertContains( 'Purchase on account approved by invoicekit and confirmed by the buyer at Billie (Billie order b1f1e0c2-7d3a-4a57-9a0e-0d7f2a7c1b11).', $order->notes );
		$this->assertSame( array( 2001 ), Fake_Checkout::$stock_reduced );
		$this->assertTrue( Fake_WC::$cart->emptied );
		$this->assertSame( array(), Fake_WC::$notices );
		$this->assertNull( Checkout_Session::remembered(), 'a final answer clears the entry' );
	}

	public function test_the_classic_checkout_s_slashed_answer_is_read(): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer( self::SESSION_ID, addslashes( json_encode( array( 'debtor_company' => array( 'name' => 'Muster "Büro" GmbH' ) ) ) ) );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer(
			200,
			array(
				'decision'           => 'approved',
				'provider'           => 'billie',
				'provider_reference' => 'ref-1',
			)
		);
		$this->assertSame( 'success', $this->pay( $this->order() )['result'] );
		$this->assertSame( 'Muster "Büro" GmbH', $this->sent_body( 1 )['answer']['debtor_company']['name'] );
	}

	public function test_the_widget_s_numbers_are_sent_as_the_buyer_confirmed_them(): void {
		$precision = ini_get( 'serialize_precision' );
		ini_set( 'serialize_precision', '17' ); // As some hosts still have it.
		try {
			Checkout_Session::remember( self::SESSION_ID, 'billie' );
			$this->post_answer( self::SESSION_ID, '{"amount":{"gross":599.64,"net":503.9,"tax":95.74},"duration":30}' );
			Fake_WP::answer( 200, $this->approved() );
			Fake_WP::answer(
				200,
				array(
					'decision'           => 'approved',
					'provider'           => 'billie',
					'provider_reference' => 'ref-4',
				)
			);
			$this->assertSame( 'success', $this->pay( $this->order() )['result'] );
			$this->assertStringContainsString( '"answer":{"amount":{"gross":599.64,"net":503.9,"tax":95.74},"duration":30}', Fake_WP::$requests[1][1]['body'] );
			$this->assertSame( '17', ini_get( 'serialize_precision' ), 'the setting is given back' );
		} finally {
			ini_set( 'serialize_precision', $precision );
		}
	}

	public function test_lines_without_a_name_or_with_long_texts_stay_within_invoicekit_s_limits(): void {
		Fake_WC::$cart = new Fake_Checkout_Cart();
		Fake_WC::$cart->add_line( new Fake_Checkout_Product( str_repeat( 'S', 80 ), '' ), 1, '10.00', '1.90' );
		Fake_WC::$cart->add_line( new Fake_Checkout_Product( '', str_repeat( 'ä', 300 ) ), 1, '10.00', '1.90' );
		Fake_WC::$cart->add_line( new Fake_Checkout_Product( '', '' ), 1, '10.00', '1.90' );
		Fake_WC::$cart->total = '35.70';
		$lines = Checkout_Session::request_for_cart( Fake_WC::$cart, Fake_WC::$customer )['lines'];
		$this->assertSame( str_repeat( 'S', 64 ), $lines[0]['sku'] );
		$this->assertSame( str_repeat( 'S', 64 ), $lines[0]['title'] );
		$this->assertSame( str_repeat( 'ä', 255 ), $lines[1]['title'] );
		$this->assertSame( '#1', $lines[2]['title'] );
	}

	public function test_a_posted_session_counts_when_woocommerce_s_session_lost_it(): void {
		$this->post_answer();
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer(
			200,
			array(
				'decision'           => 'approved',
				'provider'           => 'billie',
				'provider_reference' => 'ref-2',
			)
		);
		$this->assertSame( 'success', $this->pay( $this->order() )['result'] );
		$this->assertStringEndsWith( '/checkout-sessions/' . self::SESSION_ID . '/confirm', Fake_WP::$requests[1][0] );
	}

	public function test_declined_at_confirmation_fails_with_the_buyer_s_sentence(): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'debtor_not_identified', 'amount_above_maximum' ),
			)
		);
		$result = $this->pay( $order );

		$this->assertSame( array( 'result' => 'failure' ), $result );
		$this->assertSame( 'pending', $order->get_status() );
		$this->assertSame( array( array( 'The order total is above the maximum for purchase on account.', 'error' ) ), Fake_WC::$notices );
		$this->assertContains( 'Purchase on account declined by Billie when the order was confirmed (debtor_not_identified, amount_above_maximum).', $order->notes );
		$this->assertSame( '', $order->get_meta( '_invoicekit_provider_reference' ) );
		$this->assertSame( array(), Fake_Checkout::$stock_reduced );
		$this->assertFalse( Fake_WC::$cart->emptied );
		$this->assertNull( Checkout_Session::remembered() );
	}

	public function test_declined_without_a_reason_the_buyer_can_act_on_reads_neutral(): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'debtor_not_identified' ),
			)
		);
		$this->pay( $this->order() );
		$this->assertSame( array( array( 'Purchase on account is not available for this order. Please choose another payment method.', 'error' ) ), Fake_WC::$notices );
	}

	public static function unconfirmed_answers(): array {
		return array(
			'unreachable'                => array( 0, null, 'no answer', true ),
			'Billie failed (502)'        => array( 502, array( 'error' => 'Billie could not be reached' ), 'HTTP 502', true ),
			'429'                        => array( 429, array( 'error' => 'slow down' ), 'HTTP 429', true ),
			'unknown session (404)'      => array( 404, array( 'error' => 'no such checkout session' ), 'HTTP 404', false ),
			'another order (409)'        => array( 409, array( 'error' => 'confirmed for another order' ), 'HTTP 409', false ),
			'another amount (422)'       => array( 422, array( 'error' => 'invalid input: amount' ), 'HTTP 422', false ),
			'approved answer is no JSON' => array( 200, null, 'HTTP 200', true ),
		);
	}

	/** @dataProvider unconfirmed_answers */
	public function test_no_order_on_account_without_billie_s_confirmation( int $status, ?array $body, string $named, bool $kept ): void {
		Settings::update( array( 'hide_when_unreachable' => false ) ); // Even then: never without the confirmation.
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		if ( 0 === $status ) {
			Fake_WP::unreachable();
		} elseif ( null === $body ) {
			Fake_WP::answer( $status, '<html>oops</html>' );
		} else {
			Fake_WP::answer( $status, $body );
		}
		$result = $this->pay( $order );

		$this->assertSame( array( 'result' => 'failure' ), $result );
		$this->assertSame( 'pending', $order->get_status() );
		$this->assertSame( array( array( Gateway::not_available_sentence(), 'error' ) ), Fake_WC::$notices );
		$this->assertContains( 'invoicekit could not confirm the purchase on account at Billie (' . $named . '); the order was not placed on account.', $order->notes );
		$this->assertSame( array(), Fake_Checkout::$stock_reduced );
		$this->assertSame( $kept, null !== Checkout_Session::remembered(), 'kept only when the shop may ask again' );
		$this->assertCount( 1, Fake_Checkout::$logs );
		$this->assertStringNotContainsString( 'secretpart', Fake_Checkout::$logs[0][1] );
	}

	public static function missing_answers(): array {
		return array(
			'nothing posted'         => array( null, null ),
			'empty answer'           => array( self::SESSION_ID, '' ),
			'empty object'           => array( self::SESSION_ID, '{}' ),
			'not an object'          => array( self::SESSION_ID, '[1,2]' ),
			'not JSON'               => array( self::SESSION_ID, 'confirmed' ),
			'another session posted' => array( 'an-older-session', null ),
		);
	}

	/** @dataProvider missing_answers */
	public function test_without_the_widget_s_answer_invoicekit_is_not_asked_to_confirm( ?string $session_id, ?string $answer ): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		if ( null !== $session_id ) {
			$this->post_answer( $session_id, $answer );
		}
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		$result = $this->pay( $order );

		$this->assertSame( array( 'result' => 'failure' ), $result );
		$this->assertCount( 1, Fake_WP::$requests, 'eligibility only, no confirmation' );
		$this->assertSame( array( array( 'Please place the order again and confirm the purchase on account in the window that opens.', 'error' ) ), Fake_WC::$notices );
		$this->assertSame( 'pending', $order->get_status() );
		$this->assertSame( array(), Fake_Checkout::$stock_reduced );
	}

	public function test_the_missing_answer_sentence_in_german(): void {
		Fake_Checkout::load_po( self::PO );
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		Fake_WP::answer( 200, $this->approved() );
		$this->pay( $this->order() );
		$this->assertSame( array( array( 'Bitte senden Sie die Bestellung erneut ab und bestätigen Sie den Kauf auf Rechnung in dem Fenster, das sich dann öffnet.', 'error' ) ), Fake_WC::$notices );
	}

	public function test_a_decline_by_invoicekit_is_said_as_before_without_confirming(): void {
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'amount_below_minimum' ),
			)
		);
		$this->assertSame( 'failure', $this->pay( $this->order() )['result'] );
		$this->assertCount( 1, Fake_WP::$requests );
		$this->assertSame( array( array( 'The order total is below the minimum for purchase on account.', 'error' ) ), Fake_WC::$notices );
	}

	public function test_invoicekit_unreachable_with_a_widget_still_needs_the_confirmation(): void {
		Settings::update( array( 'hide_when_unreachable' => false ) );
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		$this->post_answer();
		$order = $this->order();
		Fake_WP::answer( 503, array( 'error' => 'maintenance' ) );
		Fake_WP::answer(
			200,
			array(
				'decision'           => 'approved',
				'provider'           => 'billie',
				'provider_reference' => 'ref-3',
			)
		);
		$this->assertSame( 'success', $this->pay( $order )['result'] );
		$this->assertStringEndsWith( '/confirm', Fake_WP::$requests[1][0] );
		$this->assertSame( 'ref-3', $order->get_meta( '_invoicekit_provider_reference' ) );

		Settings::update( array( 'hide_when_unreachable' => true ) );
		Fake_WP::$requests = array();
		Checkout_Session::remember( self::SESSION_ID, 'billie' );
		Fake_WP::unreachable();
		$this->assertSame( 'failure', $this->pay( $this->order() )['result'] );
		$this->assertCount( 1, Fake_WP::$requests, 'hidden when unreachable: refused without confirming' );
	}

	public function test_the_local_provider_s_placement_is_unchanged(): void {
		$order = $this->order();
		Fake_WP::answer( 200, $this->approved() );
		$result = $this->pay( $order );

		$this->assertSame( 'success', $result['result'] );
		$this->assertCount( 1, Fake_WP::$requests, 'no confirmation' );
		$this->assertSame( array( 'Purchase on account approved by invoicekit.' ), $order->notes );
		$this->assertSame( '', $order->get_meta( '_invoicekit_provider_reference' ) );
		$this->assertSame( 'processing', $order->get_status() );
	}

	public function test_the_local_provider_after_the_route_said_no_widget(): void {
		Checkout_Session::remember( 'earlier', 'billie' );
		Fake_WP::answer( 200, $this->approved() );
		Fake_WP::answer( 200, $this->no_widget() );
		$this->open();
		$_POST = array(
			Checkout_Session::POSTED_SESSION => '',
			Checkout_Session::POSTED_ANSWER  => '',
		);
		Fake_WP::answer( 200, $this->approved() );
		$this->assertSame( 'success', $this->pay( $this->order() )['result'] );
		$this->assertCount( 3, Fake_WP::$requests );
		$this->assertStringEndsWith( '/api/v1/eligibility', Fake_WP::$requests[2][0] );
	}

	// -- scripts --------------------------------------------------------------------------------

	public function test_the_block_checkout_gets_the_route_nonce_and_sentences_never_the_key(): void {
		Fake_Checkout::load_po( self::PO );
		$method = new Blocks_Support();
		$method->initialize();
		$data = $method->get_payment_method_data();
		$this->assertSame( 'https://shop.example.com/wp-json/invoicekit/v1/checkout-session', $data['checkout']['route'] );
		$this->assertSame( 'nonce-wp_rest', $data['checkout']['nonce'] );
		$this->assertSame( 'Der Kauf auf Rechnung wurde nicht bestätigt. Bitte versuchen Sie es erneut oder wählen Sie eine andere Zahlungsart.', $data['checkout']['texts']['notConfirmed'] );
		$this->assertSame( 'Kauf auf Rechnung ist im Moment nicht verfügbar, bitte wählen Sie eine andere Zahlungsart.', $data['checkout']['texts']['notAvailable'] );
		$this->assertStringNotContainsString( 'secretpart', json_encode( $data ) );
		$this->assertStringNotContainsString( 'invoicekit.example.com', json_encode( $data ) );
	}

	public function test_the_classic_script_on_the_checkout_only_while_enabled_and_connected(): void {
		Checkout_Session::register();
		do_action( 'wp_enqueue_scripts' );
		$this->assertSame( array( 'invoicekit-classic-checkout' ), Fake_WP::$enqueued );
		$params = Fake_Checkout::$localized['invoicekit-classic-checkout']['invoicekit_checkout_params'];
		$this->assertSame( 'https://shop.example.com/wp-json/invoicekit/v1/checkout-session', $params['route'] );
		$this->assertSame( 'nonce-wp_rest', $params['nonce'] );
		$this->assertStringNotContainsString( 'secretpart', json_encode( $params ) );

		Fake_WP::$enqueued = array();
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'no' ) );
		do_action( 'wp_enqueue_scripts' );
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'yes' ) );
		Settings::forget_connection();
		do_action( 'wp_enqueue_scripts' );
		$this->assertSame( array(), Fake_WP::$enqueued );
	}

	public function test_the_scripts_mount_billie_s_widget_and_send_its_answer(): void {
		$shared = file_get_contents( self::JS . 'checkout-session.js' );
		$this->assertStringContainsString( 'window.BillieCheckoutWidget = BILLIE_QUEUE', $shared );
		$this->assertStringContainsString( 'window.billieSrc = src', $shared );
		$this->assertMatchesRegularExpression( '/billie\.mount\(\s*\{\s*billie_config_data: config,\s*billie_order_data: withNumbers\( widget\.order_data \)/', $shared );
		$this->assertStringContainsString( "'X-WP-Nonce': settings.nonce", $shared );
		$this->assertStringNotContainsString( 'innerHTML', $shared );

		$blocks = file_get_contents( self::JS . 'blocks.js' );
		$this->assertStringContainsString( 'registration.onPaymentSetup', $blocks );
		$this->assertMatchesRegularExpression( '/invoicekit_checkout_session: result\.session,\s*invoicekit_checkout_answer: result\.answer/', $blocks );
		$this->assertStringContainsString( 'types.ERROR', $blocks );

		$classic = file_get_contents( self::JS . 'checkout.js' );
		$this->assertStringContainsString( "'checkout_place_order_invoicekit'", $classic );
		$this->assertStringContainsString( "'invoicekit_checkout_session'", $classic );
		$this->assertStringContainsString( "'invoicekit_checkout_answer'", $classic );
		$this->assertStringContainsString( ".text( message )", $classic, 'the sentence is shown as text' );
	}
}
