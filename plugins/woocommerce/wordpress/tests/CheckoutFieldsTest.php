<?php
/** Company, legal form and VAT ID at the classic and the block checkout. */

use Invoicekit\WooCommerce\Checkout_Fields;
use Invoicekit\WooCommerce\Gateway;

final class CheckoutFieldsTest extends Invoicekit_TestCase {

	protected function setUp(): void {
		parent::setUp();
		Fake_Checkout::reset();
		Gateway::stop_placing();
		$this->connect();
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'yes' ) );
		Fake_WC::$cart = new Fake_Checkout_Cart();
		Fake_WC::$cart->add( new WC_Product( 'DESK-1' ) );
		Fake_WC::$cart->total = '1190.00';
		Checkout_Fields::register();
	}

	/** The classic checkout's posted data of a business buyer paying on account. */
	private function posted( array $changes = array() ): array {
		return array_merge(
			array(
				'payment_method'     => 'invoicekit',
				'billing_company'    => 'Beispiel',
				'billing_legal_form' => 'B.V.',
				'billing_vat_id'     => 'NL004495446B01',
				'billing_address_1'  => 'Damrak 1',
				'billing_postcode'   => '1012 LG',
				'billing_city'       => 'Amsterdam',
				'billing_country'    => 'NL',
			),
			$changes
		);
	}

	private function validate( array $data ): WP_Error {
		$errors = new WP_Error();
		do_action( 'woocommerce_after_checkout_validation', $data, $errors );
		return $errors;
	}

	// -- classic fields ---------------------------------------------------------------------------

	public function test_billing_fields_add_legal_form_and_vat_id_after_the_company(): void {
		$fields = apply_filters(
			'woocommerce_billing_fields',
			array(
				'billing_company' => array(
					'label'    => 'Company name',
					'class'    => array( 'form-row-wide' ),
					'priority' => 30,
				),
			),
			'DE'
		);
		$this->assertSame( 'select', $fields['billing_legal_form']['type'] );
		$this->assertFalse( $fields['billing_legal_form']['required'] );
		$this->assertSame( 31, $fields['billing_legal_form']['priority'] );
		$this->assertArrayHasKey( 'GmbH', $fields['billing_legal_form']['options'] );
		$this->assertArrayHasKey( 'B.V.', $fields['billing_legal_form']['options'] );
		$this->assertSame( '', array_key_first( $fields['billing_legal_form']['options'] ) );
		$this->assertSame( 'text', $fields['billing_vat_id']['type'] );
		$this->assertFalse( $fields['billing_vat_id']['required'] );
		$this->assertSame( 32, $fields['billing_vat_id']['priority'] );
		foreach ( array( 'billing_company', 'billing_legal_form', 'billing_vat_id' ) as $key ) {
			$this->assertContains( 'update_totals_on_change', $fields[ $key ]['class'], $key );
		}
	}

	public function test_the_company_field_is_brought_back_while_the_gateway_is_enabled(): void {
		$fields = Checkout_Fields::billing_fields( array( 'billing_first_name' => array( 'label' => 'First name' ) ) );
		$this->assertArrayHasKey( 'billing_company', $fields );
		$this->assertFalse( $fields['billing_company']['required'] );

		$this->assertSame( 'optional', Checkout_Fields::company_field_visibility( 'hidden' ) );
		$this->assertSame( 'optional', Checkout_Fields::company_field_visibility( false ) );
		$this->assertSame( 'required', Checkout_Fields::company_field_visibility( 'required' ) );

		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'no' ) );
		$this->assertSame( 'hidden', Checkout_Fields::company_field_visibility( 'hidden' ) );
		$this->assertArrayNotHasKey( 'billing_company', Checkout_Fields::billing_fields( array() ) );
	}

	public function test_no_legal_form_or_vat_id_field_while_the_gateway_is_off(): void {
		update_option( 'woocommerce_invoicekit_settings', array( 'enabled' => 'no' ) );
		$fields = Checkout_Fields::billing_fields( array( 'billing_company' => array( 'label' => 'Company name' ) ) );
		$this->assertSame( array( 'billing_company' ), array_keys( $fields ) );
		Checkout_Fields::register_block_fields();
		$this->assertSame( array(), Fake_Checkout::$block_fields );
	}

	public function test_a_guest_s_fields_are_kept_in_the_session(): void {
		$keys = apply_filters( 'woocommerce_customer_allowed_session_meta_keys', array( '_wc_billing/x/y' ), Fake_WC::$customer );
		$this->assertSame( array( '_wc_billing/x/y', 'billing_legal_form', 'billing_vat_id' ), $keys );
	}

	public function test_order_review_refresh_puts_the_fields_on_the_customer(): void {
		do_action(
			'woocommerce_checkout_update_order_review',
			http_build_query(
				array(
					'billing_company'    => '  Muster <b>Bürobedarf</b> ',
					'billing_legal_form' => 'GmbH',
					'billing_vat_id'     => ' de136695976 ',
				)
			)
		);
		$this->assertSame( 'Muster Bürobedarf', Fake_WC::$customer->get_billing_company() );
		$this->assertSame( 'GmbH', Fake_WC::$customer->get_meta( 'billing_legal_form' ) );
		$this->assertSame( 'DE136695976', Fake_WC::$customer->get_meta( 'billing_vat_id' ) );

		do_action( 'woocommerce_checkout_update_order_review', http_build_query( array( 'billing_legal_form' => '<script>' ) ) );
		$this->assertSame( '', Fake_WC::$customer->get_meta( 'billing_legal_form' ), 'only forms of the list' );
	}

	public function test_posted_data_reach_the_customer_before_payment_methods_are_checked(): void {
		$data = apply_filters( 'woocommerce_checkout_posted_data', $this->posted() );
		$this->assertSame( $this->posted(), $data );
		$this->assertSame( 'Beispiel', Fake_WC::$customer->get_billing_company() );
		$this->assertSame( 'B.V.', Fake_WC::$customer->get_meta( 'billing_legal_form' ) );
		$this->assertSame( 'NL004495446B01', Fake_WC::$customer->get_meta( 'billing_vat_id' ) );
	}

	public function test_classic_fields_are_saved_on_the_order_under_invoicekit_s_keys(): void {
		$order = new WC_Order();
		do_action( 'woocommerce_checkout_create_order', $order, $this->posted( array( 'billing_vat_id' => 'nl004495446b01' ) ) );
		$this->assertSame( 'B.V.', $order->get_meta( '_billing_legal_form' ) );
		$this->assertSame( 'NL004495446B01', $order->get_meta( '_billing_vat_id' ) );

		$order = new WC_Order();
		do_action( 'woocommerce_checkout_create_order', $order, $this->posted( array( 'billing_legal_form' => '', 'billing_vat_id' => '' ) ) );
		$this->assertArrayNotHasKey( '_billing_legal_form', $order->get_meta_data() );
		$this->assertArrayNotHasKey( '_billing_vat_id', $order->get_meta_data() );
	}

	// -- classic validation ---------------------------------------------------------------------------

	public function test_company_is_required_for_purchase_on_account(): void {
		$errors = $this->validate( $this->posted( array( 'billing_company' => ' ' ) ) );
		$this->assertSame( array( 'billing_company_required' ), $errors->get_error_codes() );
		$this->assertSame( array(), Fake_WP::$requests, 'invoicekit is not asked before the buyer fixed it' );
	}

	public function test_other_payment_methods_are_not_validated(): void {
		$errors = $this->validate( $this->posted( array( 'payment_method' => 'bacs', 'billing_company' => '', 'billing_vat_id' => 'x' ) ) );
		$this->assertFalse( $errors->has_errors() );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	public function test_an_implausible_vat_id_is_refused_locally(): void {
		foreach ( array( '123456789', 'DE', 'DEABCDEFG', 'D1234567', 'DE 123 456 789 012 345 678' ) as $vat_id ) {
			$errors = $this->validate( $this->posted( array( 'billing_vat_id' => $vat_id ) ) );
			$this->assertSame( array( 'billing_vat_id_validation' ), $errors->get_error_codes(), $vat_id );
		}
		$this->assertSame( array(), Fake_WP::$requests );
		foreach ( array( 'DE136695976', 'de 136 695 976', 'NL004495446B01', 'FR40303265045', 'NO923609016MVA', 'ATU13585627' ) as $vat_id ) {
			$this->assertTrue( Checkout_Fields::plausible_vat_id( $vat_id ), $vat_id );
		}
	}

	public function test_a_vat_id_invoicekit_finds_invalid_is_an_error_on_the_vat_id_field(): void {
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'vat_id_invalid' ),
				'company'  => array(
					'status'  => 'invalid',
					'reasons' => array( 'vat_id_invalid' ),
					'source'  => 'format',
				),
			)
		);
		$errors = $this->validate( $this->posted() );
		$this->assertSame( array( 'billing_vat_id_validation' ), $errors->get_error_codes() );
		$this->assertSame( 'The VAT ID is not valid. Please check it.', $errors->get_error_message( 'billing_vat_id_validation' ) );
		$this->assertSame( 'NL004495446B01', $this->sent_body()['buyer']['vat_id'] );
		$this->assertSame( 'B.V.', $this->sent_body()['buyer']['legal_form'] );
	}

	public function test_a_vat_id_of_another_country_is_an_error_on_the_vat_id_field(): void {
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'vat_id_country_mismatch' ),
				'company'  => array(
					'status'  => 'invalid',
					'reasons' => array( 'vat_id_country_mismatch' ),
				),
			)
		);
		$errors = $this->validate( $this->posted( array( 'billing_vat_id' => 'DE136695976' ) ) );
		$this->assertSame( array( 'billing_vat_id_validation' ), $errors->get_error_codes() );
	}

	public function test_a_vat_id_invoicekit_refuses_to_read_is_an_error_on_the_vat_id_field(): void {
		Fake_WP::answer(
			422,
			array(
				'error'  => 'invalid input: buyer.vat_id',
				'fields' => array( 'buyer.vat_id' => array( 'Longer than maximum length 32.' ) ),
			)
		);
		$errors = $this->validate( $this->posted() );
		$this->assertSame( array( 'billing_vat_id_validation' ), $errors->get_error_codes() );
	}

	public function test_a_valid_buyer_passes(): void {
		Fake_WP::answer(
			200,
			array(
				'decision' => 'approved',
				'reasons'  => array(),
				'company'  => array(
					'status'  => 'valid',
					'reasons' => array(),
				),
			)
		);
		$errors = $this->validate( $this->posted() );
		$this->assertFalse( $errors->has_errors() );
		$this->assertCount( 1, Fake_WP::$requests );
	}

	public function test_unreachable_invoicekit_adds_no_error(): void {
		Fake_WP::unreachable();
		$this->assertFalse( $this->validate( $this->posted() )->has_errors() );
	}

	public function test_a_missing_legal_form_is_named_on_the_legal_form_field(): void {
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'not_a_business' ),
				'company'  => null,
			)
		);
		$errors = $this->validate( $this->posted( array( 'billing_legal_form' => '' ) ) );
		$this->assertSame( array( 'billing_legal_form_validation' ), $errors->get_error_codes() );
		$this->assertNull( $this->sent_body()['buyer']['legal_form'] );
	}

	public function test_other_declines_are_said_at_validation(): void {
		Fake_WP::answer(
			200,
			array(
				'decision' => 'declined',
				'reasons'  => array( 'amount_above_maximum' ),
				'company'  => null,
			)
		);
		$errors = $this->validate( $this->posted() );
		$this->assertSame( array( 'invoicekit_declined' ), $errors->get_error_codes() );
		$this->assertSame( 'The order total is above the maximum for purchase on account.', $errors->get_error_message() );
	}

	// -- block checkout ---------------------------------------------------------------------------------

	public function test_block_fields_are_registered_on_woocommerce_init(): void {
		do_action( 'woocommerce_init' );
		$this->assertSame( array( 'invoicekit/legal-form', 'invoicekit/vat-id' ), array_keys( Fake_Checkout::$block_fields ) );
		$legal_form = Fake_Checkout::$block_fields['invoicekit/legal-form'];
		$this->assertSame( 'address', $legal_form['location'] );
		$this->assertSame( 'select', $legal_form['type'] );
		$this->assertFalse( $legal_form['required'] );
		$this->assertContains( array( 'value' => 'GmbH', 'label' => 'GmbH' ), $legal_form['options'] );
		$vat_id = Fake_Checkout::$block_fields['invoicekit/vat-id'];
		$this->assertSame( 'address', $vat_id['location'] );
		$this->assertSame( 'text', $vat_id['type'] );
		$this->assertSame( 'DE136695976', call_user_func( $vat_id['sanitize_callback'], ' de136695976 ' ) );
	}

	public function test_block_fields_are_validated(): void {
		$errors = new WP_Error();
		do_action( 'woocommerce_validate_additional_field', $errors, 'invoicekit/vat-id', 'DE136695976' );
		do_action( 'woocommerce_validate_additional_field', $errors, 'invoicekit/vat-id', '' );
		do_action( 'woocommerce_validate_additional_field', $errors, 'invoicekit/legal-form', 'GmbH' );
		do_action( 'woocommerce_validate_additional_field', $errors, 'other/field', 'whatever' );
		$this->assertFalse( $errors->has_errors() );

		do_action( 'woocommerce_validate_additional_field', $errors, 'invoicekit/vat-id', '12345' );
		do_action( 'woocommerce_validate_additional_field', $errors, 'invoicekit/legal-form', 'Ltd' );
		$this->assertSame( array( 'invoicekit_vat_id_invalid', 'invoicekit_legal_form_invalid' ), $errors->get_error_codes() );
	}

	public function test_block_values_stored_by_woocommerce_are_copied_to_invoicekit_s_keys(): void {
		$order = new WC_Order();
		do_action( 'woocommerce_set_additional_field_value', 'invoicekit/vat-id', 'de811569869', 'billing', $order );
		do_action( 'woocommerce_set_additional_field_value', 'invoicekit/legal-form', 'AG', 'billing', $order );
		do_action( 'woocommerce_set_additional_field_value', 'invoicekit/vat-id', 'FR40303265045', 'shipping', $order );
		do_action( 'woocommerce_set_additional_field_value', 'invoicekit/vat-id', 'AT1', 'billing', Fake_WC::$customer );
		$this->assertSame( 'DE811569869', $order->get_meta( '_billing_vat_id' ) );
		$this->assertSame( 'AG', $order->get_meta( '_billing_legal_form' ) );
		$this->assertSame( '', Fake_WC::$customer->get_meta( '_billing_vat_id' ) );
	}

	public function test_store_api_checkout_copies_the_block_meta_to_invoicekit_s_keys(): void {
		$order = new WC_Order();
		// WooCommerce's own keys of the block fields (CheckoutFields::BILLING_FIELDS_PREFIX . id).
		$order->update_meta_data( '_wc_billing/invoicekit/legal-form', 'B.V.' );
		$order->update_meta_data( '_wc_billing/invoicekit/vat-id', 'NL004495446B01' );
		$order->update_meta_data( '_wc_shipping/invoicekit/vat-id', 'DE136695976' );
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, null );
		$this->assertSame( 'B.V.', $order->get_meta( '_billing_legal_form' ) );
		$this->assertSame( 'NL004495446B01', $order->get_meta( '_billing_vat_id' ) );
	}

	public function test_a_block_order_is_asked_about_with_its_fields(): void {
		$order = new WC_Order( array( 'billing_company' => 'Beispiel', 'billing_country' => 'NL' ) );
		$order->update_meta_data( '_wc_billing/invoicekit/legal-form', 'B.V.' );
		$order->update_meta_data( '_wc_billing/invoicekit/vat-id', 'NL004495446B01' );
		do_action( 'woocommerce_store_api_checkout_update_order_from_request', $order, null );
		Fake_WP::answer( 200, array( 'decision' => 'approved', 'reasons' => array(), 'company' => null ) );
		$this->assertSame( 'success', ( new Gateway() )->process_payment( $order->get_id() )['result'] );
		$this->assertSame( 'B.V.', $this->sent_body()['buyer']['legal_form'] );
		$this->assertSame( 'NL004495446B01', $this->sent_body()['buyer']['vat_id'] );
	}

	// -- admin and e-mails --------------------------------------------------------------------------------

	public function test_classic_fields_show_in_the_admin_order_view_escaped(): void {
		$order = new WC_Order();
		$order->update_meta_data( '_billing_legal_form', 'GmbH & Co. KG' );
		$order->update_meta_data( '_billing_vat_id', 'DE<b>1</b>' );
		ob_start();
		do_action( 'woocommerce_admin_order_data_after_billing_address', $order );
		$html = ob_get_clean();
		$this->assertStringContainsString( '<strong>Legal form:</strong> GmbH &amp; Co. KG', $html );
		$this->assertStringContainsString( '<strong>VAT ID:</strong> DE&lt;b&gt;1&lt;/b&gt;', $html );
	}

	public function test_block_orders_are_left_to_woocommerce_s_own_display(): void {
		$order = new WC_Order();
		$order->update_meta_data( '_wc_billing/invoicekit/vat-id', 'DE136695976' );
		$order->update_meta_data( '_billing_vat_id', 'DE136695976' );
		ob_start();
		do_action( 'woocommerce_admin_order_data_after_billing_address', $order );
		$this->assertSame( '', ob_get_clean() );
		$this->assertSame( array(), apply_filters( 'woocommerce_email_order_meta_fields', array(), false, $order ) );
	}

	public function test_classic_fields_are_in_the_order_e_mails(): void {
		$order = new WC_Order();
		$order->update_meta_data( '_billing_vat_id', 'DE136695976' );
		$fields = apply_filters( 'woocommerce_email_order_meta_fields', array(), true, $order );
		$this->assertSame(
			array(
				'invoicekit_vat_id' => array(
					'label' => 'VAT ID',
					'value' => 'DE136695976',
				),
			),
			$fields
		);
	}
}
