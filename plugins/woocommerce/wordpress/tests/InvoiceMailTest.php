<?php
/** The order details e-mail with the payment details, sent once the invoice is written back. */

use Invoicekit\WooCommerce\Invoice_Mail;

final class InvoiceMailTest extends Invoicekit_TestCase {

	protected function setUp(): void {
		parent::setUp();
		Invoice_Mail::register();
	}

	private function order( array $meta, string $method = 'invoicekit' ): WC_Order {
		$order = new WC_Order( array( 'payment_method' => $method ) );
		foreach ( $meta as $key => $value ) {
			$order->update_meta_data( 'invoicekit_' . $key, $value );
		}
		return $order;
	}

	private function invoiced( string $method = 'invoicekit' ): WC_Order {
		return $this->order(
			array(
				'invoice_ids'       => 'INV-000001',
				'state'             => 'active',
				'iban'              => 'DE25100200304000000000',
				'payment_reference' => 'BP1001/3333',
				'open_amount'       => '119.00',
				'currency'          => 'EUR',
			),
			$method
		);
	}

	private function write_back( WC_Order $order, bool $creating = false ): void {
		do_action( 'woocommerce_rest_insert_shop_order_object', $order, null, $creating );
	}

	public function test_the_first_write_back_of_an_invoice_mails_the_payment_details_once(): void {
		$order = $this->invoiced();
		$this->write_back( $order );
		$this->write_back( $order );

		$this->assertSame( array( 1001 ), Fake_WooCommerce::$invoice_mails );
		$this->assertSame( 'INV-000001', $order->get_meta( Invoice_Mail::SENT_META ) );
		$this->assertStringContainsString( 'INV-000001', implode( "\n", $order->notes ) );
	}

	public function test_a_second_invoice_is_mailed_again(): void {
		$order = $this->invoiced();
		$this->write_back( $order );
		$order->update_meta_data( 'invoicekit_invoice_ids', 'INV-000001,INV-000002' );
		$this->write_back( $order );

		$this->assertSame( array( 1001, 1001 ), Fake_WooCommerce::$invoice_mails );
	}

	public function test_nothing_before_the_invoice_for_other_methods_or_when_paid(): void {
		$this->write_back( $this->order( array( 'state' => 'authorised', 'iban' => 'DE25100200304000000000', 'payment_reference' => 'BP1/3333' ) ) );
		$this->write_back( $this->invoiced( 'bacs' ) );
		$paid = $this->invoiced();
		$paid->update_meta_data( 'invoicekit_state', 'paid' );
		$this->write_back( $paid );
		$this->write_back( $this->invoiced(), true );

		$this->assertSame( array(), Fake_WooCommerce::$invoice_mails );
	}

	public function test_the_owner_can_turn_it_off(): void {
		update_option( 'woocommerce_invoicekit_settings', array( 'email_payment_details' => 'no' ) );
		$this->write_back( $this->invoiced() );

		$this->assertSame( array(), Fake_WooCommerce::$invoice_mails );
	}
}
