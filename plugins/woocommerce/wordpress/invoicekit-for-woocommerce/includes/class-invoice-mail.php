<?php
/**
 * The e-mail with the payment details, once invoicekit has issued the invoice.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce's order e-mails go out when the status changes, before invoicekit has issued
 * the invoice (it writes the invoice back a moment later, through the REST API). So when a
 * write-back first brings invoice numbers with bank details, the buyer gets WooCommerce's
 * "Order details" e-mail (the customer invoice e-mail), which carries the payment block.
 * Once per set of invoice numbers; the gateway's setting `email_payment_details` turns it
 * off (for instance when invoicekit e-mails its invoices itself).
 */
final class Invoice_Mail {

	/** Order meta: the invoice numbers whose payment details were e-mailed. */
	public const SENT_META = '_invoicekit_payment_details_sent';

	public static function register(): void {
		add_action( 'woocommerce_rest_insert_shop_order_object', array( self::class, 'after_write_back' ), 20, 3 );
	}

	/** `woocommerce_rest_insert_shop_order_object`: an order was changed through the REST API. */
	public static function after_write_back( $order, $request = null, $creating = false ): void {
		if ( ! $order instanceof \WC_Order || $creating || ! self::enabled() ) {
			return;
		}
		$details = Payment_Block::details( $order );
		if ( null === $details || 'open' !== $details['status'] ) {
			return;
		}
		if ( (string) $order->get_meta( self::SENT_META, true ) === $details['invoice_ids'] ) {
			return;
		}
		// Marked first: a second write-back arriving meanwhile must not send it again.
		$order->update_meta_data( self::SENT_META, $details['invoice_ids'] );
		$order->save_meta_data();
		WC()->mailer()->customer_invoice( $order );
		/* translators: %s: invoice numbers */
		$order->add_order_note( sprintf( __( 'Payment details of invoice %s e-mailed to the buyer.', 'invoicekit-for-woocommerce' ), $details['invoice_ids'] ) );
	}

	/** The gateway's setting, on unless the owner turned it off. */
	private static function enabled(): bool {
		$settings = get_option( 'woocommerce_' . Gateway::ID . '_settings', array() );
		return 'no' !== ( is_array( $settings ) ? ( $settings['email_payment_details'] ?? 'yes' ) : 'yes' );
	}
}
