<?php
/**
 * Purchase on account in the Cart and Checkout blocks.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

use Automattic\WooCommerce\Blocks\Payments\Integrations\AbstractPaymentMethodType;

defined( 'ABSPATH' ) || exit;

if ( ! class_exists( AbstractPaymentMethodType::class ) ) {
	/** A WooCommerce without the blocks' payment API: nothing to register. */
	final class Blocks_Support {
		public static function register(): void {}
	}
	return;
}

/**
 * The block checkout's side of the `invoicekit` gateway: its script (assets/js/blocks.js) and
 * the texts it shows, translated here. Whether the method is offered to a cart is the
 * gateway's `is_available()`, which the Store API reports in the cart's `payment_methods`;
 * placing the order runs the gateway's `process_payment()` (WooCommerce's legacy bridge),
 * whose failure notice is the buyer's sentence. Before that, blocks.js shows the provider's
 * widget when invoicekit asks for one (Checkout_Session).
 */
final class Blocks_Support extends AbstractPaymentMethodType {

	public const SCRIPT_HANDLE = 'invoicekit-blocks';

	/** @var string */
	protected $name = Gateway::ID;

	/** The gateway, once asked for. */
	private ?Gateway $gateway = null;

	public static function register(): void {
		add_action( 'woocommerce_blocks_payment_method_type_registration', array( self::class, 'register_payment_method' ), 10, 1 );
	}

	/**
	 * Register with the blocks' payment method registry.
	 *
	 * @param \Automattic\WooCommerce\Blocks\Payments\PaymentMethodRegistry $registry The registry.
	 */
	public static function register_payment_method( $registry ): void {
		if ( is_object( $registry ) && is_callable( array( $registry, 'register' ) ) ) {
			$registry->register( new self() );
		}
	}

	public function initialize() {
		$settings       = get_option( 'woocommerce_' . Gateway::ID . '_settings', array() );
		$this->settings = is_array( $settings ) ? $settings : array();
	}

	/** The gateway WooCommerce loaded, or a new one. */
	private function gateway(): Gateway {
		if ( null === $this->gateway ) {
			$gateways = array();
			if ( function_exists( 'WC' ) && is_object( WC()->payment_gateways ) ) {
				$gateways = WC()->payment_gateways->payment_gateways();
			}
			$this->gateway = ( $gateways[ Gateway::ID ] ?? null ) instanceof Gateway ? $gateways[ Gateway::ID ] : new Gateway();
		}
		return $this->gateway;
	}

	/** Scripts and data only when the gateway is enabled and the shop connected. */
	public function is_active() {
		return 'yes' === $this->gateway()->enabled && Settings::connected();
	}

	/** blocks.js, and the script that shows the provider's widget (Checkout_Session) before it. */
	public function get_payment_method_script_handles() {
		Checkout_Session::register_script();
		wp_register_script(
			self::SCRIPT_HANDLE,
			plugins_url( 'assets/js/blocks.js', INVOICEKIT_WC_FILE ),
			array( 'wc-blocks-registry', 'wc-settings', 'wp-element', 'wp-html-entities', Checkout_Session::SCRIPT_HANDLE ),
			INVOICEKIT_WC_VERSION,
			true
		);
		return array( self::SCRIPT_HANDLE );
	}

	/**
	 * What blocks.js shows and needs: the title and description (translated here), the
	 * features, and for the provider's widget the plugin's route, its nonce and the sentences.
	 */
	public function get_payment_method_data() {
		$gateway = $this->gateway();
		return array(
			'title'       => wp_strip_all_tags( (string) $gateway->get_title() ),
			'description' => wp_strip_all_tags( (string) $gateway->get_description() ),
			'supports'    => array_values( array_filter( (array) $gateway->supports, array( $gateway, 'supports' ) ) ),
			'checkout'    => Checkout_Session::script_data(),
		);
	}
}
