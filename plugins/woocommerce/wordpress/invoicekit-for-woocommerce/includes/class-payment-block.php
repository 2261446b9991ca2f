<?php
/**
 * The payment block: where and how the buyer pays an invoice order, from the values
 * invoicekit writes back onto the order (meta `invoicekit_*`).
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Shows the account holder, IBAN, BIC, payment reference, due date, open amount, GiroCode and
 * e-invoice link on the thank-you page, in customer e-mails and in My account > Orders > View.
 *
 * Shown only for an order paid by invoicekit that is invoiced: state `active`, invoice
 * numbers, an IBAN and a payment reference written back, and something still open. An order
 * invoicekit reports `paid` (or `active` with nothing open) gets a short "paid in full,
 * thank you" line instead of bank details, so that nobody pays twice. Nothing at all for
 * authorised (not invoiced yet), declined, voided and credited (cancelled in full) orders,
 * nor for any other payment method.
 */
final class Payment_Block {

	public const GATEWAY_ID = 'invoicekit';

	/** The template's theme folder: `yourtheme/invoicekit-for-woocommerce/payment-block.php`. */
	public const TEMPLATE_PATH = 'invoicekit-for-woocommerce/';

	/** @var array<int, true> Orders whose My account view (or order tracking) is being shown. */
	private static array $viewing = array();

	/** Hook into the thank-you page, the customer e-mails and My account's order view. */
	public static function register(): void {
		add_action( 'woocommerce_thankyou_' . self::GATEWAY_ID, array( self::class, 'on_thankyou' ), 10, 1 );
		add_action( 'woocommerce_email_before_order_table', array( self::class, 'on_email' ), 20, 4 );
		// My account > View order (and the order tracking page) fire `woocommerce_view_order`
		// before the order details table; the thank-you page does not, but it fires
		// `woocommerce_order_details_after_order_table` too (classic template and the
		// order confirmation blocks): remember the view, print only there.
		add_action( 'woocommerce_view_order', array( self::class, 'on_view_order' ), 1, 1 );
		add_action( 'woocommerce_order_details_after_order_table', array( self::class, 'on_order_details' ), 20, 1 );
	}

	/** `woocommerce_thankyou_invoicekit`: the block under the order confirmation. */
	public static function on_thankyou( $order_id ): void {
		$order = wc_get_order( $order_id );
		if ( $order ) {
			echo self::html( $order, 'thankyou' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the template escapes every value.
		}
	}

	/** `woocommerce_email_before_order_table`: customer e-mails only, plain text when asked. */
	public static function on_email( $order, $sent_to_admin = false, $plain_text = false, $email = null ): void {
		if ( ! $order instanceof \WC_Order || $sent_to_admin ) {
			return;
		}
		if ( is_object( $email ) && method_exists( $email, 'is_customer_email' ) && ! $email->is_customer_email() ) {
			return;
		}
		if ( $plain_text ) {
			echo self::text( $order ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the plain template escapes every value.
			return;
		}
		echo self::html( $order, 'email' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the template escapes every value.
	}

	/** `woocommerce_view_order`: the order's My account view (or tracking) is being shown. */
	public static function on_view_order( $order_id ): void {
		self::$viewing[ absint( $order_id ) ] = true;
	}

	/** `woocommerce_order_details_after_order_table`: only in My account's order view. */
	public static function on_order_details( $order ): void {
		if ( ! $order instanceof \WC_Order || ! isset( self::$viewing[ absint( $order->get_id() ) ] ) ) {
			return;
		}
		echo self::html( $order, 'account' ); // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- the template escapes every value.
	}

	/** Forget the My account views seen in this request (tests). */
	public static function reset(): void {
		self::$viewing = array();
	}

	/**
	 * What the block shows for an order, unescaped; null when it shows nothing.
	 *
	 * @return array{status: string, holder: string, iban: string, bic: string, reference: string,
	 *               due_date: string, amount: string, amount_text: string, invoice_ids: string,
	 *               girocode_url: string, document_url: string}|null
	 */
	public static function details( \WC_Order $order ): ?array {
		if ( self::GATEWAY_ID !== $order->get_payment_method() ) {
			return null;
		}
		$meta = static fn( string $key ): string => trim( (string) $order->get_meta( 'invoicekit_' . $key, true ) );

		$state       = $meta( 'state' );
		$invoice_ids = $meta( 'invoice_ids' );
		if ( '' === $invoice_ids || ! in_array( $state, array( 'active', 'paid' ), true ) ) {
			return null;
		}
		$open     = $meta( 'open_amount' );
		$currency = '' !== $meta( 'currency' ) ? $meta( 'currency' ) : (string) $order->get_currency();
		$base     = array(
			'holder'       => '',
			'iban'         => '',
			'bic'          => '',
			'reference'    => '',
			'due_date'     => '',
			'amount'       => '',
			'amount_text'  => '',
			'invoice_ids'  => implode( ', ', array_filter( array_map( 'trim', explode( ',', $invoice_ids ) ) ) ),
			'girocode_url' => '',
			'document_url' => $meta( 'invoice_document_url' ),
		);
		if ( 'paid' === $state || ( is_numeric( $open ) && (float) $open <= 0.0 ) ) {
			return array_merge( $base, array( 'status' => 'paid' ) );
		}

		$iban      = strtoupper( (string) preg_replace( '/\s+/', '', $meta( 'iban' ) ) );
		$reference = $meta( 'payment_reference' );
		if ( '' === $iban || '' === $reference ) {
			return null;
		}
		$amount = is_numeric( $open ) ? wc_price( (float) $open, array( 'currency' => $currency ) ) : '';
		return array_merge(
			$base,
			array(
				'status'       => 'open',
				'holder'       => $meta( 'account_holder' ),
				'iban'         => trim( chunk_split( $iban, 4, ' ' ) ),
				'bic'          => strtoupper( $meta( 'bic' ) ),
				'reference'    => $reference,
				'due_date'     => self::localised_date( $meta( 'due_date' ) ),
				'amount'       => $amount,
				'amount_text'  => '' === $amount ? '' : trim( html_entity_decode( wp_strip_all_tags( $amount ), ENT_QUOTES, 'UTF-8' ) ),
				'girocode_url' => $meta( 'girocode_url' ),
			)
		);
	}

	/** The HTML block ('' when nothing to show); `$context`: thankyou, email or account. */
	public static function html( \WC_Order $order, string $context = 'thankyou' ): string {
		return self::template( 'payment-block.php', $order, $context );
	}

	/** The plain-text block for plain e-mails ('' when nothing to show). */
	public static function text( \WC_Order $order ): string {
		return self::template( 'payment-block-plain.php', $order, 'email' );
	}

	/** Render a template of `templates/` (a theme may override it) with the order's details. */
	private static function template( string $name, \WC_Order $order, string $context ): string {
		$block = self::details( $order );
		if ( null === $block ) {
			return '';
		}
		ob_start();
		wc_get_template(
			$name,
			array(
				'block'   => $block,
				'order'   => $order,
				'context' => $context,
			),
			self::TEMPLATE_PATH,
			INVOICEKIT_WC_DIR . '/templates/'
		);
		return (string) ob_get_clean();
	}

	/** `2026-12-23` in the site's date format and language; anything else as it is. */
	private static function localised_date( string $date ): string {
		if ( ! preg_match( '/^(\d{4})-(\d{2})-(\d{2})$/', $date, $parts )
			|| ! checkdate( (int) $parts[2], (int) $parts[3], (int) $parts[1] ) ) {
			return $date;
		}
		$utc = new \DateTimeZone( 'UTC' );
		$day = new \DateTimeImmutable( $date . ' 12:00:00', $utc );
		// A calendar day: formatted in UTC so that no time zone moves it to the day before.
		return wp_date( (string) get_option( 'date_format', 'F j, Y' ), $day->getTimestamp(), $utc );
	}
}
