<?php
/**
 * Checkout sessions: the provider's widget in which the buyer confirms the purchase (Billie).
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * When the shop's provider has a checkout widget (Billie), the buyer confirms the purchase on
 * account in it while placing the order, and the order is confirmed at the provider through
 * invoicekit before the buyer is told it is placed:
 *
 * 1. the checkout's script (assets/js/checkout-session.js, used by the block checkout's
 *    blocks.js and the classic checkout's checkout.js) posts to this plugin's REST route
 *    `invoicekit/v1/checkout-session`; the route asks invoicekit
 *    (`POST /api/v1/checkout-sessions`) with the cart and the buyer, keeps the session's id in
 *    WooCommerce's session and answers the browser only the widget, or none;
 * 2. the script mounts the widget and sends the session's id and what the widget resolved
 *    with (`invoicekit_checkout_session`, `invoicekit_checkout_answer`) with the order;
 * 3. the gateway's `process_payment()` confirms the session for the new order
 *    (`POST /api/v1/checkout-sessions/<id>/confirm`, `confirm()`).
 *
 * A provider without a widget (the local provider) answers no widget: nothing is kept and the
 * order is placed as before. invoicekit's API key never leaves the server.
 */
final class Checkout_Session {

	public const PATH = '/api/v1/checkout-sessions';

	/** The plugin's REST route: POST /wp-json/invoicekit/v1/checkout-session. */
	public const REST_NAMESPACE = 'invoicekit/v1';
	public const REST_ROUTE     = '/checkout-session';

	/** The WooCommerce session's entry: the session opened for this checkout (id, provider). */
	public const SESSION_KEY = 'invoicekit_checkout_session';

	/** What the checkout's script sends with the order (classic form fields, blocks' payment data). */
	public const POSTED_SESSION = 'invoicekit_checkout_session';
	public const POSTED_ANSWER  = 'invoicekit_checkout_answer';

	/** The shared script (loads and mounts the widget) and the classic checkout's script. */
	public const SCRIPT_HANDLE         = 'invoicekit-checkout-session';
	public const CLASSIC_SCRIPT_HANDLE = 'invoicekit-classic-checkout';

	/** invoicekit asks the provider while the buyer waits: at least this many seconds. */
	public const CONFIRM_TIMEOUT = 15;

	/** The checkout form's fields the route reads from the browser (newer than the customer's). */
	private const FORM_KEYS = array(
		'billing_first_name',
		'billing_last_name',
		'billing_company',
		'billing_legal_form',
		'billing_vat_id',
		'billing_address_1',
		'billing_postcode',
		'billing_city',
		'billing_country',
		'billing_email',
		'billing_phone',
		'shipping_address_1',
		'shipping_postcode',
		'shipping_city',
		'shipping_country',
	);

	public static function register(): void {
		add_action( 'rest_api_init', array( self::class, 'register_route' ), 10, 0 );
		// After WooCommerce registered its checkout script (wc-checkout) at priority 10.
		add_action( 'wp_enqueue_scripts', array( self::class, 'enqueue_classic_script' ), 20, 0 );
	}

	/** The REST route the checkout's script calls. */
	public static function register_route(): void {
		register_rest_route(
			self::REST_NAMESPACE,
			self::REST_ROUTE,
			array(
				'methods'             => 'POST',
				'callback'            => array( self::class, 'open_for_browser' ),
				'permission_callback' => array( self::class, 'permission' ),
			)
		);
	}

	/**
	 * Only with the REST nonce of the checkout page (`X-WP-Nonce`, action `wp_rest`): WordPress
	 * itself would let a request without one through as a guest.
	 *
	 * @param \WP_REST_Request $request The request.
	 */
	public static function permission( $request ): bool {
		$nonce = is_object( $request ) && is_callable( array( $request, 'get_header' ) ) ? $request->get_header( 'X-WP-Nonce' ) : '';
		return is_string( $nonce ) && '' !== $nonce && false !== wp_verify_nonce( $nonce, 'wp_rest' );
	}

	/**
	 * The route: open a checkout session for the current cart and buyer and answer the browser
	 * `{widget: …}` or `{widget: null}` (place the order as usual), or an error whose message
	 * is the buyer's sentence. Nothing else of invoicekit's answer reaches the browser.
	 *
	 * No session is opened, and `{widget: null}` answered, while invoicekit cannot decide for
	 * the buyer yet (no company, address incomplete) or has declined the cart: the placement
	 * then tells the buyer why, as without a widget.
	 *
	 * @param \WP_REST_Request $request The request; its JSON body may carry `form`, the
	 *                                  checkout form's billing_* and shipping_* fields.
	 */
	public static function open_for_browser( $request ) {
		if ( ! self::offered() ) {
			return self::not_available( 404 );
		}
		if ( function_exists( 'wc_load_cart' ) && null === WC()->cart ) {
			wc_load_cart(); // REST requests do not load the cart and the session.
		}
		$cart     = WC()->cart;
		$customer = WC()->customer;
		if ( ! is_object( $cart ) || $cart->is_empty() ) {
			return self::not_available( 409 );
		}
		if ( is_callable( array( $cart, 'calculate_totals' ) ) ) {
			$cart->calculate_totals(); // The order will carry these totals: the widget must too.
		}
		$params = is_object( $request ) && is_callable( array( $request, 'get_json_params' ) ) ? $request->get_json_params() : array();
		$form   = self::clean_form( is_array( $params ) ? ( $params['form'] ?? array() ) : array() );

		$buyer = self::buyer( $customer, $form );
		if ( ! Eligibility::is_complete( $buyer ) ) {
			return self::widget( null );
		}
		$decision = Eligibility::for_cart( $cart, $buyer, (int) Settings::get( 'timeout' ) );
		if ( $decision->declined() || $decision->invalid() ) {
			return self::widget( null );
		}

		$response = Client::from_settings()->post(
			self::PATH,
			self::request_for_cart( $cart, $customer, $form ),
			max( (int) Settings::get( 'timeout' ), Eligibility::PLACEMENT_TIMEOUT )
		);
		$body = $response->body ?? array();
		if ( 200 === $response->status && array_key_exists( 'widget', $body ) && null === $body['widget'] ) {
			self::forget();
			return self::widget( null );
		}
		$session_id = self::clean_session_id( $body['session_id'] ?? '' );
		$widget     = $body['widget'] ?? null;
		if ( 200 === $response->status && '' !== $session_id && is_array( $widget ) && self::is_https( $widget['script_url'] ?? '' ) ) {
			self::remember( $session_id, is_string( $body['provider'] ?? null ) ? sanitize_key( $body['provider'] ) : '' );
			return self::widget( $widget );
		}
		Eligibility::log(
			200 === $response->status
				? 'invoicekit answered the checkout session without a usable widget (no session id or no https script).'
				: sprintf( 'invoicekit did not open a checkout session (HTTP %d): %s', $response->status, (string) $response->error )
		);
		return self::not_available( 503 );
	}

	/** The route's answer to the browser: only the widget. */
	private static function widget( ?array $widget ): \WP_REST_Response {
		return new \WP_REST_Response( array( 'widget' => $widget ), 200 );
	}

	/** The route's error: the buyer's sentence. */
	private static function not_available( int $status ): \WP_Error {
		return new \WP_Error( 'invoicekit_not_available', Gateway::not_available_sentence(), array( 'status' => $status ) );
	}

	/** Whether a widget's script address is one the checkout may load: https only. */
	private static function is_https( $url ): bool {
		return is_string( $url ) && str_starts_with( $url, 'https://' ) && '' !== esc_url_raw( $url );
	}

	/** Whether purchase on account is switched on and the shop connected. */
	public static function offered(): bool {
		$settings = get_option( 'woocommerce_' . Gateway::ID . '_settings', array() );
		return is_array( $settings ) && 'yes' === ( $settings['enabled'] ?? 'no' ) && Settings::connected();
	}

	/**
	 * The checkout form's fields sent by the browser, known ones only, trimmed; empty ones
	 * left out. Legal form and VAT ID cleaned as the checkout stores them.
	 *
	 * @param mixed $form The `form` object of the request.
	 */
	public static function clean_form( $form ): array {
		$clean = array();
		if ( ! is_array( $form ) ) {
			return $clean;
		}
		foreach ( self::FORM_KEYS as $key ) {
			if ( ! isset( $form[ $key ] ) || ! is_scalar( $form[ $key ] ) ) {
				continue;
			}
			$value = sanitize_text_field( (string) $form[ $key ] );
			if ( 'billing_legal_form' === $key ) {
				$value = Checkout_Fields::clean_legal_form( $value );
			} elseif ( 'billing_vat_id' === $key ) {
				$value = Checkout_Fields::clean_vat_id( $value );
			}
			if ( '' !== $value ) {
				$clean[ $key ] = $value;
			}
		}
		return $clean;
	}

	/** The buyer as eligibility reads it: the customer's, overlaid by the form's fields. */
	public static function buyer( $customer, array $form ): array {
		$buyer = Eligibility::buyer_from_customer( $customer );
		foreach ( Eligibility::buyer_from_posted( $form ) as $key => $value ) {
			if ( '' !== $value ) {
				$buyer[ $key ] = $value;
			}
		}
		return $buyer;
	}

	/** One field of the form, else the customer's (`get_<field>()`), trimmed. */
	private static function field( $customer, array $form, string $field ): string {
		if ( isset( $form[ $field ] ) ) {
			return $form[ $field ];
		}
		$getter = array( $customer, 'get_' . $field );
		return is_object( $customer ) && is_callable( $getter ) ? sanitize_text_field( (string) call_user_func( $getter ) ) : '';
	}

	/**
	 * The body of `POST /api/v1/checkout-sessions` for a cart: shop, customer_id, amount, tax,
	 * currency, buyer (as for eligibility), person and delivery when known, lines.
	 *
	 * @param \WC_Cart     $cart     The cart.
	 * @param \WC_Customer $customer The checkout's customer.
	 * @param array        $form     The form's fields (clean_form()).
	 */
	public static function request_for_cart( $cart, $customer, array $form = array() ): array {
		$eligibility = Eligibility::request_for_cart( $cart, self::buyer( $customer, $form ) );

		$person = array();
		foreach ( array(
			'first_name' => 255,
			'last_name'  => 255,
			'email'      => 255,
			'phone'      => 64,
		) as $key => $length ) {
			$value = self::cut( self::field( $customer, $form, 'billing_' . $key ), $length );
			if ( '' !== $value ) {
				$person[ $key ] = $value;
			}
		}
		$delivery = array();
		foreach ( array(
			'street'   => 'shipping_address_1',
			'postcode' => 'shipping_postcode',
			'city'     => 'shipping_city',
			'country'  => 'shipping_country',
		) as $key => $field ) {
			$delivery[ $key ] = self::field( $customer, $form, $field );
		}
		$delivery['country'] = strtoupper( $delivery['country'] );

		$request = array(
			'shop'        => (string) Settings::get( 'shop' ),
			'customer_id' => self::customer_id( $customer, $person['email'] ?? '' ),
			'amount'      => $eligibility['amount'],
			'tax'         => Eligibility::decimal( is_callable( array( $cart, 'get_total_tax' ) ) ? $cart->get_total_tax() : 0 ),
			'currency'    => $eligibility['currency'],
			'buyer'       => $eligibility['buyer'],
		);
		if ( array() !== $person ) {
			$request['person'] = $person;
		}
		if ( ! in_array( '', $delivery, true ) ) {
			$request['delivery'] = $delivery;
		}
		$request['lines'] = self::lines( $cart );
		return $request;
	}

	/** The cart's lines: sku, title, quantity, gross line total and the tax in it (at most 500). */
	private static function lines( $cart ): array {
		$lines = array();
		foreach ( array_slice( array_values( $cart->get_cart() ), 0, Eligibility::MAX_LINES ) as $item ) {
			$product = $item['data'] ?? null;
			$sku     = is_object( $product ) ? self::cut( trim( (string) $product->get_sku() ), 64 ) : '';
			$title   = is_object( $product ) && is_callable( array( $product, 'get_name' ) ) ? self::cut( wp_strip_all_tags( (string) $product->get_name() ), 255 ) : '';
			if ( '' === $title ) {
				$title = '' !== $sku ? $sku : '#' . (int) ( $item['product_id'] ?? 0 ); // invoicekit needs a title.
			}
			$tax     = (float) ( $item['line_tax'] ?? 0 );
			$lines[] = array(
				'sku'      => '' === $sku ? null : $sku,
				'title'    => $title,
				'quantity' => max( 1, (int) ( $item['quantity'] ?? 1 ) ),
				'amount'   => Eligibility::decimal( (float) ( $item['line_total'] ?? 0 ) + $tax ),
				'tax'      => Eligibility::decimal( $tax ),
			);
		}
		return $lines;
	}

	/** A text cut to invoicekit's limit of its field (characters). */
	private static function cut( string $text, int $length ): string {
		return function_exists( 'mb_substr' ) ? mb_substr( $text, 0, $length ) : substr( $text, 0, $length );
	}

	/** The shop's customer number; a guest's e-mail address (else WooCommerce's session id). */
	private static function customer_id( $customer, string $email ): string {
		$id = is_object( $customer ) && is_callable( array( $customer, 'get_id' ) ) ? (int) $customer->get_id() : 0;
		if ( $id > 0 ) {
			return (string) $id;
		}
		if ( '' !== $email ) {
			return $email;
		}
		$session = WC()->session;
		return is_object( $session ) && is_callable( array( $session, 'get_customer_id' ) ) ? (string) $session->get_customer_id() : '';
	}

	// -- WooCommerce's session ---------------------------------------------------------------

	/** The session opened for this checkout: id and provider; null when none needs a widget. */
	public static function remembered(): ?array {
		$session = WC()->session;
		$entry   = is_object( $session ) ? $session->get( self::SESSION_KEY ) : null;
		if ( ! is_array( $entry ) || ! is_string( $entry['id'] ?? null ) || '' === $entry['id'] ) {
			return null;
		}
		return array(
			'id'       => $entry['id'],
			'provider' => is_string( $entry['provider'] ?? null ) ? $entry['provider'] : '',
		);
	}

	/** Keep the session opened: the order must bring the widget's answer. */
	public static function remember( string $session_id, string $provider ): void {
		$session = WC()->session;
		if ( is_object( $session ) ) {
			$session->set(
				self::SESSION_KEY,
				array(
					'id'       => $session_id,
					'provider' => $provider,
				)
			);
		}
	}

	/** Forget the session: no widget needed (any more). */
	public static function forget(): void {
		$session = WC()->session;
		if ( is_object( $session ) ) {
			$session->set( self::SESSION_KEY, null );
		}
	}

	// -- placement ---------------------------------------------------------------------------

	/**
	 * What the order being placed brings of a checkout session: null when no widget is
	 * required (none opened for this checkout, none posted); else `id`, `provider` and
	 * `answer` (the widget's answer as a JSON object, null when none was posted, when it is
	 * not a JSON object or when it answers another session than the one opened last).
	 */
	public static function for_placement(): ?array {
		$remembered = self::remembered();
		// Nonces: checked by WooCommerce (classic WC_Checkout, the Store API's checkout).
		$posted_id = self::clean_session_id( isset( $_POST[ self::POSTED_SESSION ] ) ? wp_unslash( $_POST[ self::POSTED_SESSION ] ) : '' ); // phpcs:ignore WordPress.Security.NonceVerification.Missing, WordPress.Security.ValidatedSanitizedInput.InputNotSanitized
		if ( null === $remembered && '' === $posted_id ) {
			return null;
		}
		$id     = null !== $remembered ? $remembered['id'] : $posted_id;
		$answer = self::decode_answer( $_POST[ self::POSTED_ANSWER ] ?? null ); // phpcs:ignore WordPress.Security.NonceVerification.Missing, WordPress.Security.ValidatedSanitizedInput.InputNotSanitized -- JSON, decoded and sent to invoicekit as is.
		if ( '' !== $posted_id && $posted_id !== $id ) {
			$answer = null; // The answer of an older session: the buyer confirms again.
		}
		return array(
			'id'       => $id,
			'provider' => null !== $remembered ? $remembered['provider'] : '',
			'answer'   => $answer,
		);
	}

	/**
	 * The widget's answer: a non-empty JSON object (kept as an object, so that `{}` inside it
	 * stays an object), else null. The classic checkout's `$_POST` is slashed, the Store API's
	 * payment data is not: read as sent first, unslashed second.
	 *
	 * @param mixed $raw The posted text.
	 */
	public static function decode_answer( $raw ): ?\stdClass {
		if ( ! is_string( $raw ) || '' === trim( $raw ) ) {
			return null;
		}
		foreach ( array( $raw, wp_unslash( $raw ) ) as $text ) {
			$answer = json_decode( $text, false, 64 );
			if ( $answer instanceof \stdClass ) {
				return array() === get_object_vars( $answer ) ? null : $answer;
			}
		}
		return null;
	}

	/** A session id as invoicekit and Billie make them (letters, digits, `-`, `_`, `.`), else ''. */
	public static function clean_session_id( $id ): string {
		return is_string( $id ) && 1 === preg_match( '/^[A-Za-z0-9._\-]{1,128}$/', $id ) ? $id : '';
	}

	/**
	 * Confirm the session for the order: `POST /api/v1/checkout-sessions/<id>/confirm` with
	 * shop, order number, the order's total and tax, currency and the widget's answer.
	 *
	 * @param \WC_Order $order      The order being placed.
	 * @param string    $session_id The session's id.
	 * @param \stdClass $answer     What the widget resolved with.
	 */
	public static function confirm( $order, string $session_id, \stdClass $answer ): Response {
		// The widget's amounts are JSON numbers that invoicekit compares exactly: encoded again
		// in their shortest form (599.64, not 599.63999999999999 as serialize_precision 17 has it).
		$precision = ini_get( 'serialize_precision' );
		ini_set( 'serialize_precision', '-1' ); // phpcs:ignore WordPress.PHP.IniSet.Risky
		try {
			return Client::from_settings()->post(
				self::PATH . '/' . rawurlencode( $session_id ) . '/confirm',
				array(
					'shop'         => (string) Settings::get( 'shop' ),
					'order_number' => (string) $order->get_order_number(),
					'amount'       => Eligibility::decimal( $order->get_total( 'edit' ) ),
					'tax'          => Eligibility::decimal( $order->get_total_tax( 'edit' ) ),
					'currency'     => strtoupper( (string) $order->get_currency() ),
					'answer'       => $answer,
				),
				max( (int) Settings::get( 'timeout' ), self::CONFIRM_TIMEOUT )
			);
		} finally {
			if ( false !== $precision ) {
				ini_set( 'serialize_precision', $precision ); // phpcs:ignore WordPress.PHP.IniSet.Risky
			}
		}
	}

	/** The provider's name for order notes (`billie` → Billie; unknown: invoicekit). */
	public static function provider_name( string $provider ): string {
		return '' === $provider ? 'invoicekit' : ucfirst( $provider );
	}

	// -- scripts -----------------------------------------------------------------------------

	/** Register the shared script that loads and mounts the widget. */
	public static function register_script(): void {
		wp_register_script(
			self::SCRIPT_HANDLE,
			plugins_url( 'assets/js/checkout-session.js', INVOICEKIT_WC_FILE ),
			array(),
			INVOICEKIT_WC_VERSION,
			true
		);
	}

	/** What the scripts need: the route, its nonce and the buyer's sentences (translated here). */
	public static function script_data(): array {
		return array(
			'route' => esc_url_raw( rest_url( self::REST_NAMESPACE . self::REST_ROUTE ) ),
			'nonce' => wp_create_nonce( 'wp_rest' ),
			'texts' => array(
				'notAvailable' => Gateway::not_available_sentence(),
				'notConfirmed' => self::not_confirmed_sentence(),
			),
		);
	}

	/**
	 * The classic checkout's script, on the checkout page only (not the block checkout, the
	 * order-pay or the thank-you page), while the method is enabled and the shop connected.
	 */
	public static function enqueue_classic_script(): void {
		if ( ! function_exists( 'is_checkout' ) || ! is_checkout() || ! self::offered() ) {
			return;
		}
		if ( ( function_exists( 'is_checkout_pay_page' ) && is_checkout_pay_page() )
			|| ( function_exists( 'is_order_received_page' ) && is_order_received_page() )
			|| ( function_exists( 'has_block' ) && has_block( 'woocommerce/checkout' ) ) ) {
			return;
		}
		self::register_script();
		wp_register_script(
			self::CLASSIC_SCRIPT_HANDLE,
			plugins_url( 'assets/js/checkout.js', INVOICEKIT_WC_FILE ),
			array( 'jquery', 'wc-checkout', self::SCRIPT_HANDLE ),
			INVOICEKIT_WC_VERSION,
			true
		);
		wp_localize_script( self::CLASSIC_SCRIPT_HANDLE, 'invoicekit_checkout_params', self::script_data() );
		wp_enqueue_script( self::CLASSIC_SCRIPT_HANDLE );
	}

	/** Said when the buyer closed the widget or the provider declined in it. */
	public static function not_confirmed_sentence(): string {
		return __( 'Purchase on account was not confirmed. Please try again or choose another payment method.', 'invoicekit-for-woocommerce' );
	}

	/** Said when the order arrives without the widget's answer although a widget is required. */
	public static function confirm_in_widget_sentence(): string {
		return __( 'Please place the order again and confirm the purchase on account in the window that opens.', 'invoicekit-for-woocommerce' );
	}
}
