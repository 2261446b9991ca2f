<?php
/**
 * The payment block (plain text): plain-text customer e-mails.
 *
 * A theme may override it: yourtheme/invoicekit-for-woocommerce/payment-block-plain.php.
 * Values are escaped the way WooCommerce's plain e-mail templates do (esc_html); WooCommerce
 * turns the entities back into characters when it builds the plain-text e-mail.
 *
 * @package Invoicekit\WooCommerce
 *
 * @var array     $block   Unescaped values, see Payment_Block::details().
 * @var \WC_Order $order   The order.
 * @var string    $context email.
 */

defined( 'ABSPATH' ) || exit;

echo "\n" . esc_html__( 'Payment details', 'invoicekit-for-woocommerce' ) . "\n";
echo "==========\n\n";

if ( 'paid' === $block['status'] ) {
	echo esc_html__( 'Your invoice is paid in full. Thank you!', 'invoicekit-for-woocommerce' ) . "\n";
} else {
	if ( '' !== $block['amount_text'] ) {
		/* translators: %s: the amount still open, e.g. "€549.73" */
		echo esc_html( sprintf( __( 'Please transfer %s to the following account:', 'invoicekit-for-woocommerce' ), $block['amount_text'] ) ) . "\n\n";
	} else {
		echo esc_html__( 'Please transfer the amount of your invoice to the following account:', 'invoicekit-for-woocommerce' ) . "\n\n";
	}
	$invoicekit_lines = array(
		_n( 'Invoice', 'Invoices', count( explode( ',', $block['invoice_ids'] ) ), 'invoicekit-for-woocommerce' ) => $block['invoice_ids'],
		__( 'Account holder', 'invoicekit-for-woocommerce' )    => $block['holder'],
		__( 'IBAN', 'invoicekit-for-woocommerce' )              => $block['iban'],
		__( 'BIC', 'invoicekit-for-woocommerce' )               => $block['bic'],
		__( 'Payment reference', 'invoicekit-for-woocommerce' ) => $block['reference'],
		__( 'Amount', 'invoicekit-for-woocommerce' )            => $block['amount_text'],
		__( 'Due date', 'invoicekit-for-woocommerce' )          => $block['due_date'],
	);
	foreach ( $invoicekit_lines as $invoicekit_label => $invoicekit_value ) {
		if ( '' !== $invoicekit_value ) {
			echo esc_html( $invoicekit_label ) . ': ' . esc_html( $invoicekit_value ) . "\n";
		}
	}
	echo "\n" . esc_html__( 'Please give the payment reference exactly as shown: it must reach us unchanged so that your payment can be matched.', 'invoicekit-for-woocommerce' ) . "\n";
}

if ( '' !== $block['document_url'] && '' !== esc_url_raw( $block['document_url'] ) ) {
	echo "\n" . esc_html__( 'Download the e-invoice', 'invoicekit-for-woocommerce' ) . ': ' . esc_url_raw( $block['document_url'] ) . "\n";
}

echo "\n==========\n\n";
