<?php
/**
 * The payment method "Purchase on account (B2B)": offered when invoicekit approves the buyer.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * WooCommerce payment gateway `invoicekit`. invoicekit decides; this class only asks and
 * follows the answer:
 *
 * - at checkout (`is_available()`): approved → offered, declined → not offered, invoicekit
 *   unreachable → hidden when the shop chose so (the default), else offered;
 * - at placement (`process_payment()`): asked again with the order; approved → processing,
 *   declined → the buyer's sentence and no order on invoice;
 * - with a provider whose buyers confirm in its widget (Billie, Checkout_Session): approved
 *   orders are placed only once the provider confirmed the widget's answer for the order.
 */
class Gateway extends \WC_Payment_Gateway {

	public const ID = 'invoicekit';

	/** The order meta that keeps the provider's order id confirmed at checkout (Billie's order). */
	public const PROVIDER_REFERENCE_KEY = '_invoicekit_provider_reference';

	/** Whether an order is being placed in this request (classic checkout or Store API). */
	private static bool $placing = false;

	public function __construct() {
		$this->id                 = self::ID;
		$this->method_title       = __( 'Purchase on account (B2B)', 'invoicekit-for-woocommerce' );
		$this->method_description = __( 'Business buyers pay by invoice; invoicekit decides for each cart and order whether the buyer may.', 'invoicekit-for-woocommerce' );
		$this->has_fields         = false;
		$this->supports           = array( 'products' );

		$this->init_form_fields();
		$this->init_settings();

		$this->enabled     = (string) $this->get_option( 'enabled' );
		$this->title       = (string) $this->get_option( 'title' );
		$this->description = (string) $this->get_option( 'description' );

		add_action( 'woocommerce_update_options_payment_gateways_' . $this->id, array( $this, 'process_admin_options' ) );
	}

	/** Add the gateway to WooCommerce and note when an order is being placed. */
	public static function register(): void {
		add_filter( 'woocommerce_payment_gateways', array( self::class, 'add_gateway' ) );
		// Classic checkout: WC_Checkout::process_checkout(). Store API: Checkout::get_route_post_response().
		add_action( 'woocommerce_before_checkout_process', array( self::class, 'start_placing' ), 10, 0 );
		add_action( 'woocommerce_store_api_checkout_update_customer_from_request', array( self::class, 'start_placing' ), 10, 0 );
	}

	/**
	 * The `woocommerce_payment_gateways` filter.
	 *
	 * @param array $gateways Gateway class names or objects.
	 */
	public static function add_gateway( $gateways ): array {
		$gateways   = is_array( $gateways ) ? $gateways : array();
		$gateways[] = self::class;
		return $gateways;
	}

	/**
	 * From here on this request places an order: the gateway stays offered so that the decision
	 * at placement (`process_payment()`) tells the buyer why, instead of WooCommerce's
	 * "not available" for a method the buyer chose a moment ago.
	 */
	public static function start_placing(): void {
		self::$placing = true;
	}

	/** Back to browsing (tests). */
	public static function stop_placing(): void {
		self::$placing = false;
	}

	/** The settings form: enabled, title, description, and what to do when invoicekit is down. */
	public function init_form_fields() {
		$this->form_fields = array(
			'enabled'               => array(
				'title'   => __( 'Enable/Disable', 'invoicekit-for-woocommerce' ),
				'type'    => 'checkbox',
				'label'   => __( 'Offer purchase on account (B2B) through invoicekit', 'invoicekit-for-woocommerce' ),
				'default' => 'no',
			),
			'title'                 => array(
				'title'       => __( 'Title', 'invoicekit-for-woocommerce' ),
				'type'        => 'text',
				'description' => __( 'The name of the payment method buyers see at checkout.', 'invoicekit-for-woocommerce' ),
				'default'     => __( 'Purchase on account', 'invoicekit-for-woocommerce' ),
				'desc_tip'    => true,
			),
			'description'           => array(
				'title'       => __( 'Description', 'invoicekit-for-woocommerce' ),
				'type'        => 'textarea',
				'description' => __( 'What buyers read when they choose the payment method.', 'invoicekit-for-woocommerce' ),
				'default'     => __( 'Pay by invoice within the payment term. For businesses: please enter your company name and legal form.', 'invoicekit-for-woocommerce' ),
				'desc_tip'    => true,
			),
			'email_payment_details' => array(
				'title'       => __( 'E-mail the payment details', 'invoicekit-for-woocommerce' ),
				'type'        => 'checkbox',
				'label'       => __( 'Send the buyer the order details e-mail with the payment details once the invoice is issued', 'invoicekit-for-woocommerce' ),
				'description' => __( 'The invoice is issued a moment after the order is completed, after WooCommerce has sent its e-mail. Untick this if invoicekit e-mails the invoices itself.', 'invoicekit-for-woocommerce' ),
				'default'     => 'yes',
			),
			'hide_when_unreachable' => array(
				'title'       => __( 'When invoicekit cannot be reached', 'invoicekit-for-woocommerce' ),
				'type'        => 'checkbox',
				'label'       => __( 'Hide purchase on account when invoicekit cannot be reached', 'invoicekit-for-woocommerce' ),
				'description' => __( 'Unticked, purchase on account stays offered and invoicekit decides when it receives the order; a declined order is put on hold.', 'invoicekit-for-woocommerce' ),
				'default'     => 'yes',
			),
		);
	}

	/**
	 * A setting; `hide_when_unreachable` lives in the plugin's settings (Settings), the others
	 * in the gateway's own option.
	 *
	 * @param string $key         Setting key.
	 * @param mixed  $empty_value Value when the setting is empty.
	 */
	public function get_option( $key, $empty_value = null ) {
		if ( 'hide_when_unreachable' === $key ) {
			return Settings::get( 'hide_when_unreachable' ) ? 'yes' : 'no';
		}
		return parent::get_option( $key, $empty_value );
	}

	/** Save the settings form; the unreachable choice goes to the plugin's settings. */
	public function process_admin_options(): bool {
		$saved = parent::process_admin_options();
		if ( array_key_exists( 'hide_when_unreachable', $this->settings ) ) {
			Settings::update( array( 'hide_when_unreachable' => 'yes' === $this->settings['hide_when_unreachable'] ) );
		}
		return (bool) $saved;
	}

	/**
	 * Whether to offer purchase on account to the current cart and buyer.
	 *
	 * Before the buyer has typed a company name the method is offered, so that buyers see it
	 * exists; its description says it is for businesses. From the company name on, and once the
	 * billing address is complete enough for invoicekit to read it, invoicekit decides (cached
	 * per cart and buyer for ten minutes). While an order is being placed, the decision is left
	 * to `process_payment()`, which tells the buyer why.
	 */
	public function is_available() {
		if ( ! parent::is_available() || 'yes' !== $this->enabled || ! Settings::connected() ) {
			return false;
		}
		if ( function_exists( 'is_checkout_pay_page' ) && is_checkout_pay_page() ) {
			return true; // Paying an existing order: process_payment() asks with the order.
		}
		$cart = WC()->cart;
		if ( ! is_object( $cart ) || $cart->is_empty() || '' === (string) get_woocommerce_currency() ) {
			return false;
		}
		if ( (float) Eligibility::decimal( $cart->get_total( 'edit' ) ) <= 0 ) {
			return false;
		}
		if ( self::$placing ) {
			return true;
		}
		$buyer = Eligibility::buyer_from_customer( WC()->customer );
		if ( ! Eligibility::has_company( $buyer ) || ! Eligibility::is_complete( $buyer ) ) {
			// No company yet: shown "for businesses". Address incomplete: invoicekit would refuse
			// the question; it is asked as soon as the address is there.
			return true;
		}
		$decision = Eligibility::for_cart( $cart, $buyer, (int) Settings::get( 'timeout' ) );
		if ( $decision->approved() ) {
			return true;
		}
		if ( $decision->declined() ) {
			return false;
		}
		if ( $decision->unreachable() ) {
			return ! Settings::get( 'hide_when_unreachable' );
		}
		return true; // Refused buyer fields: checkout validation and placement name them.
	}

	/**
	 * Place the order on account when invoicekit approves it.
	 *
	 * @param int $order_id The order's id.
	 */
	public function process_payment( $order_id ) {
		$order = wc_get_order( $order_id );
		if ( ! $order ) {
			wc_add_notice( self::not_available_sentence(), 'error' );
			return array( 'result' => 'failure' );
		}
		$decision = Eligibility::for_order( $order );
		$checkout = Checkout_Session::for_placement(); // Null: no widget, as with the local provider.

		if ( $decision->approved() ) {
			if ( null !== $checkout ) {
				return $this->confirm_checkout( $order, $checkout );
			}
			$order->update_status( 'processing', __( 'Purchase on account approved by invoicekit.', 'invoicekit-for-woocommerce' ) );
			return $this->placed( $order );
		}

		if ( $decision->declined() ) {
			$order->add_order_note(
				sprintf(
					/* translators: %s: invoicekit's reason codes, comma separated */
					__( 'Purchase on account declined by invoicekit (%s).', 'invoicekit-for-woocommerce' ),
					implode( ', ', $decision->all_reasons() )
				)
			);
			wc_add_notice( $decision->buyer_message(), 'error' );
			return array( 'result' => 'failure' );
		}

		if ( $decision->invalid() ) {
			foreach ( array_unique( array_values( $decision->field_problems() ) ) as $sentence ) {
				wc_add_notice( $sentence, 'error' );
			}
			return array( 'result' => 'failure' );
		}

		// Unreachable (no answer, 5xx, 429, key refused).
		if ( Settings::get( 'hide_when_unreachable' ) ) {
			$order->add_order_note( __( 'invoicekit could not be reached; purchase on account was refused.', 'invoicekit-for-woocommerce' ) );
			wc_add_notice( self::not_available_sentence(), 'error' );
			return array( 'result' => 'failure' );
		}
		if ( null !== $checkout ) {
			// Never on account without the provider's confirmation of the widget's answer.
			return $this->confirm_checkout( $order, $checkout );
		}
		$order->update_status( 'processing', __( 'invoicekit could not be reached at checkout; it decides when it receives the order and puts the order on hold if it declines.', 'invoicekit-for-woocommerce' ) );
		return $this->placed( $order );
	}

	/**
	 * The buyer confirmed in the provider's widget (or was to): confirm the session for the
	 * order through invoicekit. Approved → the provider's order id on the order, processing;
	 * declined → the buyer's sentence; anything else → not available right now, no order on
	 * account. Without the widget's answer invoicekit is not asked.
	 *
	 * @param \WC_Order $order    The order being placed.
	 * @param array     $checkout Checkout_Session::for_placement().
	 */
	private function confirm_checkout( $order, array $checkout ): array {
		if ( null === $checkout['answer'] ) {
			wc_add_notice( Checkout_Session::confirm_in_widget_sentence(), 'error' );
			return array( 'result' => 'failure' );
		}
		$response = Checkout_Session::confirm( $order, $checkout['id'], $checkout['answer'] );
		$body     = $response->body ?? array();
		$outcome  = 200 === $response->status ? ( $body['decision'] ?? null ) : null;
		$provider = Checkout_Session::provider_name( is_string( $body['provider'] ?? null ) ? $body['provider'] : $checkout['provider'] );

		if ( Decision::APPROVED === $outcome ) {
			Checkout_Session::forget();
			$reference = is_scalar( $body['provider_reference'] ?? null ) ? sanitize_text_field( (string) $body['provider_reference'] ) : '';
			if ( '' !== $reference ) {
				$order->update_meta_data( self::PROVIDER_REFERENCE_KEY, $reference );
			}
			$order->update_status(
				'processing',
				sprintf(
					/* translators: 1: the provider's name (Billie), 2: the provider's order id */
					__( 'Purchase on account approved by invoicekit and confirmed by the buyer at %1$s (%1$s order %2$s).', 'invoicekit-for-woocommerce' ),
					$provider,
					'' === $reference ? '?' : $reference
				)
			);
			return $this->placed( $order );
		}

		if ( Decision::DECLINED === $outcome ) {
			Checkout_Session::forget();
			$declined = new Decision( Decision::DECLINED, Decision::strings( $body['reasons'] ?? array() ) );
			$order->add_order_note(
				sprintf(
					/* translators: 1: the provider's name (Billie), 2: reason codes, comma separated */
					__( 'Purchase on account declined by %1$s when the order was confirmed (%2$s).', 'invoicekit-for-woocommerce' ),
					$provider,
					implode( ', ', $declined->all_reasons() )
				)
			);
			wc_add_notice( $declined->buyer_message(), 'error' );
			return array( 'result' => 'failure' );
		}

		if ( ! $response->unreachable() ) {
			// 404 (unknown session), 409 (confirmed for another order), 422 (e.g. another amount
			// than the buyer confirmed): this session is done; the next try opens a new one.
			Checkout_Session::forget();
		}
		Eligibility::log( sprintf( 'invoicekit did not confirm the checkout session of order %s (HTTP %d): %s', $order->get_order_number(), $response->status, (string) $response->error ) );
		$order->add_order_note(
			sprintf(
				/* translators: 1: the provider's name (Billie), 2: "HTTP 502" or "no answer" */
				__( 'invoicekit could not confirm the purchase on account at %1$s (%2$s); the order was not placed on account.', 'invoicekit-for-woocommerce' ),
				$provider,
				0 === $response->status ? __( 'no answer', 'invoicekit-for-woocommerce' ) : 'HTTP ' . $response->status
			)
		);
		wc_add_notice( self::not_available_sentence(), 'error' );
		return array( 'result' => 'failure' );
	}

	/** The order is on account: stock reduced, cart emptied, off to the thank-you page. */
	private function placed( $order ): array {
		if ( function_exists( 'wc_reduce_stock_levels' ) ) {
			wc_reduce_stock_levels( $order->get_id() );
		}
		$cart = WC()->cart;
		if ( is_object( $cart ) && is_callable( array( $cart, 'empty_cart' ) ) ) {
			$cart->empty_cart();
		}
		return array(
			'result'   => 'success',
			'redirect' => $this->get_return_url( $order ),
		);
	}

	/** Said when invoicekit cannot be asked and the shop hides the method then. */
	public static function not_available_sentence(): string {
		return __( 'Purchase on account is not available right now, please choose another payment method.', 'invoicekit-for-woocommerce' );
	}
}
