<?php
/**
 * Plugin Name: invoicekit recording helpers
 * Description: Lets a throw-away WooCommerce deliver webhooks to a recorder on 127.0.0.1 at once,
 *              and offers the "Rechnung" (id "invoice") payment method the kit expects.
 *              Copied into wp-content/mu-plugins/ by bench/woocommerce_record/record.py. Test use only.
 */

defined( 'ABSPATH' ) || exit;

function invoicekit_rec_is_loopback( $host ) {
	return in_array( strtolower( (string) $host ), array( '127.0.0.1', 'localhost', '::1', '[::1]' ), true );
}

// wp_safe_remote_request() (used by WC_Webhook::deliver and ::deliver_ping) refuses private
// addresses unless this filter says the host is "external" (wp-includes/http.php, wp_http_validate_url).
add_filter(
	'http_request_host_is_external',
	function ( $external, $host ) {
		return invoicekit_rec_is_loopback( $host ) ? true : $external;
	},
	10,
	2
);

// ... and then only allows the ports 80, 443 and 8080 (same file): add the recorder's port.
add_filter(
	'http_allowed_safe_ports',
	function ( $ports, $host, $url ) {
		$port = wp_parse_url( $url, PHP_URL_PORT );
		if ( invoicekit_rec_is_loopback( $host ) && $port ) {
			$ports[] = (int) $port;
		}
		return $ports;
	},
	10,
	3
);

// Deliver each webhook at the end of the request that caused it instead of through
// Action Scheduler (wc_webhook_execute_queue in includes/wc-webhook-functions.php).
add_filter( 'woocommerce_webhook_deliver_async', '__return_false' );

// The kit's WooCommerce side: an invoice payment method with id "invoice", title "Rechnung".
add_action(
	'plugins_loaded',
	function () {
		if ( ! class_exists( 'WC_Payment_Gateway' ) ) {
			return;
		}
		if ( ! class_exists( 'InvoiceKit_Recording_Gateway' ) ) {
			class InvoiceKit_Recording_Gateway extends WC_Payment_Gateway {
				public function __construct() {
					$this->id                 = 'invoice';
					$this->method_title       = 'Rechnung';
					$this->method_description = 'Kauf auf Rechnung (invoicekit recording stub)';
					$this->has_fields         = false;
					$this->init_form_fields();
					$this->init_settings();
					$this->title   = $this->get_option( 'title', 'Rechnung' );
					$this->enabled = $this->get_option( 'enabled', 'yes' );
				}

				public function init_form_fields() {
					$this->form_fields = array(
						'enabled' => array( 'title' => 'Enable', 'type' => 'checkbox', 'default' => 'yes' ),
						'title'   => array( 'title' => 'Title', 'type' => 'text', 'default' => 'Rechnung' ),
					);
				}

				public function process_payment( $order_id ) {
					$order = wc_get_order( $order_id );
					// Placed on account: the goods can be shipped, payment is due on the invoice.
					$status = apply_filters( 'invoicekit_rec_invoice_order_status', $this->get_option( 'order_status', 'processing' ) );
					$order->update_status( $status, 'Kauf auf Rechnung.' );
					return array( 'result' => 'success', 'redirect' => $this->get_return_url( $order ) );
				}
			}
		}
		add_filter(
			'woocommerce_payment_gateways',
			function ( $gateways ) {
				$gateways[] = 'InvoiceKit_Recording_Gateway';
				return $gateways;
			}
		);
	},
	20
);

// No mail server on a recording machine: pretend every e-mail was sent.
add_filter( 'pre_wp_mail', '__return_true' );
