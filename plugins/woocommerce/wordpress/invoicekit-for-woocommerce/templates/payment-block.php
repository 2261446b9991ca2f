<?php
/**
 * The payment block (HTML): thank-you page, HTML e-mails, My account > View order.
 *
 * A theme may override it: yourtheme/invoicekit-for-woocommerce/payment-block.php.
 *
 * @package Invoicekit\WooCommerce
 *
 * @var array     $block   Unescaped values, see Payment_Block::details(): status (open|paid),
 *                         holder, iban (grouped), bic, reference, due_date (localised),
 *                         amount (wc_price HTML), invoice_ids, girocode_url, document_url.
 * @var \WC_Order $order   The order.
 * @var string    $context thankyou, email or account.
 */

defined( 'ABSPATH' ) || exit;

$invoicekit_email = 'email' === $context;
$invoicekit_count = count( explode( ',', $block['invoice_ids'] ) );
?>
<div class="invoicekit-payment-block invoicekit-payment-block--<?php echo esc_attr( $context ); ?>"<?php echo $invoicekit_email ? ' style="margin-bottom:40px;"' : ''; ?>>
	<h2 class="woocommerce-column__title"><?php esc_html_e( 'Payment details', 'invoicekit-for-woocommerce' ); ?></h2>
<?php if ( 'paid' === $block['status'] ) : ?>
	<p class="invoicekit-payment-block__paid"><?php esc_html_e( 'Your invoice is paid in full. Thank you!', 'invoicekit-for-woocommerce' ); ?></p>
<?php else : ?>
	<p>
	<?php
	if ( '' !== $block['amount'] ) {
		/* translators: %s: the amount still open, e.g. "€549.73" */
		echo wp_kses_post( sprintf( __( 'Please transfer %s to the following account:', 'invoicekit-for-woocommerce' ), $block['amount'] ) );
	} else {
		esc_html_e( 'Please transfer the amount of your invoice to the following account:', 'invoicekit-for-woocommerce' );
	}
	?>
	</p>
	<table class="invoicekit-payment-block__details shop_table" cellspacing="0" cellpadding="6"<?php echo $invoicekit_email ? ' style="width:100%;border:1px solid #e5e5e5;" border="1"' : ''; ?>>
		<tbody>
			<tr>
				<th scope="row"><?php echo esc_html( _n( 'Invoice', 'Invoices', $invoicekit_count, 'invoicekit-for-woocommerce' ) ); ?></th>
				<td><?php echo esc_html( $block['invoice_ids'] ); ?></td>
			</tr>
	<?php if ( '' !== $block['holder'] ) : ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'Account holder', 'invoicekit-for-woocommerce' ); ?></th>
				<td><?php echo esc_html( $block['holder'] ); ?></td>
			</tr>
	<?php endif; ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'IBAN', 'invoicekit-for-woocommerce' ); ?></th>
				<td><code class="invoicekit-payment-block__iban"><?php echo esc_html( $block['iban'] ); ?></code></td>
			</tr>
	<?php if ( '' !== $block['bic'] ) : ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'BIC', 'invoicekit-for-woocommerce' ); ?></th>
				<td><code><?php echo esc_html( $block['bic'] ); ?></code></td>
			</tr>
	<?php endif; ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'Payment reference', 'invoicekit-for-woocommerce' ); ?></th>
				<td><strong class="invoicekit-payment-block__reference" style="font-size:1.25em;"><?php echo esc_html( $block['reference'] ); ?></strong></td>
			</tr>
	<?php if ( '' !== $block['amount'] ) : ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'Amount', 'invoicekit-for-woocommerce' ); ?></th>
				<td><?php echo wp_kses_post( $block['amount'] ); ?></td>
			</tr>
	<?php endif; ?>
	<?php if ( '' !== $block['due_date'] ) : ?>
			<tr>
				<th scope="row"><?php esc_html_e( 'Due date', 'invoicekit-for-woocommerce' ); ?></th>
				<td><?php echo esc_html( $block['due_date'] ); ?></td>
			</tr>
	<?php endif; ?>
		</tbody>
	</table>
	<p class="invoicekit-payment-block__notice"><strong><?php esc_html_e( 'Please give the payment reference exactly as shown: it must reach us unchanged so that your payment can be matched.', 'invoicekit-for-woocommerce' ); ?></strong></p>
	<?php if ( '' !== $block['girocode_url'] && '' !== esc_url( $block['girocode_url'] ) ) : ?>
	<p class="invoicekit-payment-block__girocode">
		<img src="<?php echo esc_url( $block['girocode_url'] ); ?>" alt="<?php esc_attr_e( 'GiroCode: scan it with your banking app to fill in the transfer', 'invoicekit-for-woocommerce' ); ?>" width="160" height="160" /><br />
		<small><?php esc_html_e( 'Scan the GiroCode with your banking app to fill in the transfer.', 'invoicekit-for-woocommerce' ); ?></small>
	</p>
	<?php endif; ?>
<?php endif; ?>
<?php if ( '' !== $block['document_url'] && '' !== esc_url( $block['document_url'] ) ) : ?>
	<p class="invoicekit-payment-block__document"><a href="<?php echo esc_url( $block['document_url'] ); ?>"><?php esc_html_e( 'Download the e-invoice', 'invoicekit-for-woocommerce' ); ?></a></p>
<?php endif; ?>
</div>
