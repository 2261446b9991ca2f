<?php
/** The payment block: when it shows, what it shows, escaped, in which language. */

use Invoicekit\WooCommerce\Payment_Block;

final class PaymentBlockTest extends Invoicekit_TestCase {

	private const PO = __DIR__ . '/../invoicekit-for-woocommerce/languages/de_DE/admin.po';

	protected function setUp(): void {
		parent::setUp();
		Fake_Admin::reset();
		Payment_Block::reset();
		Payment_Block::register();
	}

	/** An order invoicekit invoiced: every value written back. */
	private function invoiced_order( array $meta = array(), array $data = array() ): WC_Order {
		$order = new WC_Order( $data );
		$meta  = array_merge(
			array(
				'provider'             => 'local',
				'provider_order_id'    => 'BP4711/3333',
				'invoice_ids'          => 'INV-000001',
				'payment_reference'    => 'BP4711/3333',
				'iban'                 => 'DE25100200304000000000',
				'bic'                  => 'ABCDDEFFXXX',
				'due_date'             => '2026-12-23',
				'open_amount'          => '549.73',
				'currency'             => 'EUR',
				'state'                => 'active',
				'invoice_document_url' => 'https://kit.example/documents/WzE3LCJwZGYiXQ.vzmz',
				'account_holder'       => 'invoicekit Treuhand',
				'girocode_url'         => 'https://kit.example/girocode/WzE3XQ.png',
			),
			$meta
		);
		foreach ( $meta as $key => $value ) {
			$order->update_meta_data( 'invoicekit_' . $key, $value );
		}
		return $order;
	}

	/** What an action prints. */
	private function printed( string $hook, ...$args ): string {
		ob_start();
		do_action( $hook, ...$args );
		return (string) ob_get_clean();
	}

	public function test_an_invoiced_order_shows_every_value(): void {
		$html = Payment_Block::html( $this->invoiced_order() );

		$this->assertStringContainsString( 'DE25 1002 0030 4000 0000 00', $html );
		$this->assertStringContainsString( 'ABCDDEFFXXX', $html );
		$this->assertStringContainsString( 'invoicekit Treuhand', $html );
		$this->assertMatchesRegularExpression( '#<strong[^>]*invoicekit-payment-block__reference[^>]*>BP4711/3333</strong>#', $html );
		$this->assertStringContainsString( 'Please give the payment reference exactly as shown', $html );
		$this->assertStringContainsString( 'December 23, 2026', $html );
		$this->assertStringContainsString( '549.73 EUR', $html );
		$this->assertStringContainsString( 'INV-000001', $html );
		$this->assertStringContainsString( '<img src="https://kit.example/girocode/WzE3XQ.png" alt="GiroCode: scan it with your banking app to fill in the transfer"', $html );
		$this->assertStringContainsString( '<a href="https://kit.example/documents/WzE3LCJwZGYiXQ.vzmz">Download the e-invoice</a>', $html );
	}

	public function test_the_amount_is_in_the_currency_invoicekit_wrote(): void {
		$html = Payment_Block::html( $this->invoiced_order( array( 'currency' => 'CHF', 'open_amount' => '1190' ), array( 'currency' => 'CHF' ) ) );

		$this->assertStringContainsString( '1,190.00 CHF', $html );
	}

	public function test_several_invoices_and_a_spaced_iban(): void {
		$html = Payment_Block::html( $this->invoiced_order( array( 'invoice_ids' => 'INV-000001,INV-000002', 'iban' => 'de25 1002 0030 4000 0000 00' ) ) );

		$this->assertStringContainsString( 'Invoices', $html );
		$this->assertStringContainsString( 'INV-000001, INV-000002', $html );
		$this->assertStringContainsString( 'DE25 1002 0030 4000 0000 00', $html );
	}

	public function test_every_value_is_escaped(): void {
		$html = Payment_Block::html(
			$this->invoiced_order(
				array(
					'account_holder'       => '<script>alert("holder")</script>',
					'payment_reference'    => 'BP<b>4711</b>"/3333',
					'bic'                  => '<img src=x onerror=alert(1)>',
					'invoice_ids'          => 'INV-1<script>x</script>',
					'due_date'             => '<script>date</script>',
					'girocode_url'         => 'javascript:alert(1)',
					'invoice_document_url' => 'https://kit.example/doc"><script>x</script>',
				)
			)
		);

		$this->assertStringNotContainsString( '<script', $html );
		$this->assertStringNotContainsString( '<b>4711', $html );
		$this->assertStringNotContainsString( '<img src=x', $html );
		$this->assertStringNotContainsString( 'javascript:', $html );
		$this->assertStringContainsString( '&lt;script&gt;alert(&quot;holder&quot;)&lt;/script&gt;', $html );
		$this->assertStringContainsString( 'BP&lt;b&gt;4711&lt;/b&gt;&quot;/3333', $html );
		$this->assertStringContainsString( 'INV-1&lt;script&gt;x&lt;/script&gt;', $html );
	}

	public function test_the_thank_you_page_shows_it_once(): void {
		$order = $this->invoiced_order();

		$page = $this->printed( 'woocommerce_thankyou_invoicekit', $order->get_id() )
			. $this->printed( 'woocommerce_order_details_after_order_table', $order );

		$this->assertSame( 1, substr_count( $page, 'invoicekit-payment-block__reference' ) );
		$this->assertStringContainsString( 'invoicekit-payment-block--thankyou', $page );
	}

	public function test_my_account_view_order_shows_it(): void {
		$order = $this->invoiced_order();

		$page = $this->printed( 'woocommerce_view_order', $order->get_id() )
			. $this->printed( 'woocommerce_order_details_after_order_table', $order );

		$this->assertSame( 1, substr_count( $page, 'invoicekit-payment-block__reference' ) );
		$this->assertStringContainsString( 'invoicekit-payment-block--account', $page );
	}

	public function test_nothing_for_an_order_paid_another_way(): void {
		$order = $this->invoiced_order( array(), array( 'payment_method' => 'bacs' ) );

		$this->assertSame( '', Payment_Block::html( $order ) );
		$this->assertSame( '', Payment_Block::text( $order ) );
		$this->assertNull( Payment_Block::details( $order ) );
		$this->assertSame( '', $this->printed( 'woocommerce_thankyou_bacs', $order->get_id() ) );
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, false, false, new Fake_Admin_Email( true ) ) );
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, false, true, new Fake_Admin_Email( true ) ) );
		$this->assertSame( '', $this->printed( 'woocommerce_view_order', $order->get_id() ) . $this->printed( 'woocommerce_order_details_after_order_table', $order ) );
	}

	public static function not_invoiced(): array {
		return array(
			'authorised, not invoiced yet'     => array( array( 'state' => 'authorised', 'invoice_ids' => '' ) ),
			'authorised with bank details'     => array( array( 'state' => 'authorised' ) ),
			'declined'                         => array( array( 'state' => 'declined', 'invoice_ids' => '' ) ),
			'voided'                           => array( array( 'state' => 'voided', 'invoice_ids' => '' ) ),
			'credited in full'                 => array( array( 'state' => 'credited', 'open_amount' => '0.00' ) ),
			'no state written'                 => array( array( 'state' => '' ) ),
			'active without invoice numbers'   => array( array( 'invoice_ids' => '' ) ),
			'active without an IBAN'           => array( array( 'iban' => '' ) ),
			'active without a reference'       => array( array( 'payment_reference' => '' ) ),
		);
	}

	/** @dataProvider not_invoiced */
	public function test_nothing_for_an_order_not_invoiced( array $meta ): void {
		$order = $this->invoiced_order( $meta );

		$this->assertSame( '', Payment_Block::html( $order ) );
		$this->assertSame( '', Payment_Block::text( $order ) );
		$this->assertSame( '', $this->printed( 'woocommerce_thankyou_invoicekit', $order->get_id() ) );
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, false, false, new Fake_Admin_Email( true ) ) );
	}

	public function test_a_paid_order_says_thank_you_without_bank_details(): void {
		foreach ( array( array( 'state' => 'paid', 'open_amount' => '0.00' ), array( 'open_amount' => '0.00' ) ) as $meta ) {
			$html = Payment_Block::html( $this->invoiced_order( $meta ) );

			$this->assertStringContainsString( 'Your invoice is paid in full. Thank you!', $html );
			$this->assertStringNotContainsString( 'DE25', $html );
			$this->assertStringNotContainsString( 'BP4711/3333', $html );
			$this->assertStringNotContainsString( '<img', $html );
		}
	}

	public function test_customer_e_mails_show_it(): void {
		$order = $this->invoiced_order();

		$html = $this->printed( 'woocommerce_email_before_order_table', $order, false, false, new Fake_Admin_Email( true ) );

		$this->assertStringContainsString( 'invoicekit-payment-block--email', $html );
		$this->assertStringContainsString( 'DE25 1002 0030 4000 0000 00', $html );
		$this->assertStringContainsString( 'src="https://kit.example/girocode/WzE3XQ.png"', $html );
	}

	public function test_plain_text_e_mails_get_the_plain_variant(): void {
		$order = $this->invoiced_order();

		$text = $this->printed( 'woocommerce_email_before_order_table', $order, false, true, new Fake_Admin_Email( true ) );

		$this->assertStringNotContainsString( '<', $text );
		$this->assertStringContainsString( "Account holder: invoicekit Treuhand\n", $text );
		$this->assertStringContainsString( "IBAN: DE25 1002 0030 4000 0000 00\n", $text );
		$this->assertStringContainsString( "BIC: ABCDDEFFXXX\n", $text );
		$this->assertStringContainsString( "Payment reference: BP4711/3333\n", $text );
		$this->assertStringContainsString( "Amount: 549.73 EUR\n", $text );
		$this->assertStringContainsString( "Due date: December 23, 2026\n", $text );
		$this->assertStringContainsString( 'Download the e-invoice: https://kit.example/documents/WzE3LCJwZGYiXQ.vzmz', $text );
		$this->assertStringContainsString( 'exactly as shown', $text );
	}

	public function test_plain_text_escapes_too(): void {
		$text = Payment_Block::text( $this->invoiced_order( array( 'account_holder' => '<script>x</script>' ) ) );

		$this->assertStringNotContainsString( '<script>', $text );
		$this->assertStringContainsString( '&lt;script&gt;', $text );
	}

	public function test_not_in_e_mails_to_the_shop(): void {
		$order = $this->invoiced_order();

		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, true, false, new Fake_Admin_Email( false, 'new_order' ) ) );
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, true, true, new Fake_Admin_Email( false, 'new_order' ) ) );
		// Without an e-mail object (older callers), sent_to_admin alone decides.
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, true, false, null ) );
		$this->assertNotSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, false, false, null ) );
		// An admin e-mail that does not say sent_to_admin (cancelled, failed order) is known by its e-mail object.
		$this->assertSame( '', $this->printed( 'woocommerce_email_before_order_table', $order, false, false, new Fake_Admin_Email( false, 'cancelled_order' ) ) );
	}

	public function test_german(): void {
		Fake_WP::$locale       = 'de_DE';
		Fake_WP::$translations = Fake_Admin::parse_po( self::PO );
		$order                 = $this->invoiced_order();

		$html = Payment_Block::html( $order );
		$text = Payment_Block::text( $order );

		foreach ( array( $html, $text ) as $block ) {
			$this->assertStringContainsString( 'Zahlungsinformationen', $block );
			$this->assertStringContainsString( 'Kontoinhaber', $block );
			$this->assertStringContainsString( 'Verwendungszweck', $block );
			$this->assertStringContainsString( 'Zahlbar bis', $block );
			$this->assertStringContainsString( 'Rechnung', $block );
			$this->assertStringContainsString( 'Bitte geben Sie den Verwendungszweck genau so an', $block );
			$this->assertStringContainsString( 'E-Rechnung herunterladen', $block );
			$this->assertStringNotContainsString( 'Account holder', $block );
			$this->assertStringNotContainsString( 'Payment reference', $block );
		}
		$this->assertStringContainsString( 'Bitte überweisen Sie 549.73 EUR auf folgendes Konto:', $html );
		$this->assertStringContainsString( 'alt="GiroCode: mit Ihrer Banking-App scannen', $html );
		$this->assertStringContainsString( 'Ihre Rechnung ist vollständig bezahlt. Vielen Dank!', Payment_Block::html( $this->invoiced_order( array( 'state' => 'paid', 'open_amount' => '0.00' ) ) ) );
	}

	/** Every string of the payment block, the connection and the settings page is in the PO, translated. */
	public function test_the_po_translates_every_string(): void {
		$translations = Fake_Admin::parse_po( self::PO );
		$dir          = dirname( __DIR__ ) . '/invoicekit-for-woocommerce';
		$files        = array(
			$dir . '/includes/class-payment-block.php',
			$dir . '/includes/class-connection.php',
			$dir . '/includes/class-settings-page.php',
			$dir . '/templates/payment-block.php',
			$dir . '/templates/payment-block-plain.php',
		);
		$found = array();
		foreach ( $files as $file ) {
			$source = (string) file_get_contents( $file );
			preg_match_all( "/\\b(?:__|_e|esc_html__|esc_html_e|esc_attr__|esc_attr_e)\\(\\s*'((?:[^'\\\\]|\\\\.)*)'\\s*,\\s*'invoicekit-for-woocommerce'/", $source, $singles );
			preg_match_all( "/\\b_n\\(\\s*'((?:[^'\\\\]|\\\\.)*)'\\s*,\\s*'((?:[^'\\\\]|\\\\.)*)'/", $source, $plurals );
			foreach ( array_merge( $singles[1], $plurals[1], $plurals[2] ) as $string ) {
				$found[] = str_replace( "\\'", "'", $string );
			}
		}
		$this->assertGreaterThan( 60, count( $found ) );
		$missing = array_values( array_diff( array_unique( $found ), array_keys( $translations ) ) );
		$this->assertSame( array(), $missing, 'strings without a German translation in admin.po' );

		$header = (string) file_get_contents( self::PO );
		$this->assertStringContainsString( '"Content-Type: text/plain; charset=UTF-8\n"', $header );
		$this->assertStringContainsString( '"Plural-Forms: nplurals=2; plural=(n != 1);\n"', $header );
	}
}
