<?php
/**
 * Asks invoicekit whether a business buyer may pay a cart or an order on account.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * invoicekit's answer to one eligibility question, as the checkout needs it.
 *
 * `outcome` is one of:
 * - `approved` / `declined`: invoicekit decided (`reasons` lists every decline reason,
 *   `company_reasons` those of the company check);
 * - `invalid`: invoicekit refused the question (422); `field_errors` names the buyer fields
 *   it refused (`vat_id`, `country`, …), keyed without the `buyer.` prefix;
 * - `unreachable`: no decision: no answer, a 5xx, a 429, an answer that is not JSON, or the
 *   shop's API key was refused (401) or the request was (other 4xx).
 */
final class Decision {

	public const APPROVED    = 'approved';
	public const DECLINED    = 'declined';
	public const INVALID     = 'invalid';
	public const UNREACHABLE = 'unreachable';

	/** Reasons about the VAT ID (company check): shown on the VAT ID field. */
	public const VAT_ID_REASONS = array( 'vat_id_invalid', 'vat_id_country_mismatch', 'vat_id_not_registered' );

	/**
	 * @param string $outcome         approved, declined, invalid or unreachable.
	 * @param array  $reasons         Every decline reason, in invoicekit's order.
	 * @param array  $company_reasons The company check's reasons.
	 * @param array  $field_errors    Buyer field => invoicekit's messages (422 only).
	 * @param int    $status          The HTTP status (0 when there was no answer).
	 */
	public function __construct(
		public readonly string $outcome,
		public readonly array $reasons = array(),
		public readonly array $company_reasons = array(),
		public readonly array $field_errors = array(),
		public readonly int $status = 0
	) {}

	public function approved(): bool {
		return self::APPROVED === $this->outcome;
	}

	public function declined(): bool {
		return self::DECLINED === $this->outcome;
	}

	public function invalid(): bool {
		return self::INVALID === $this->outcome;
	}

	public function unreachable(): bool {
		return self::UNREACHABLE === $this->outcome;
	}

	/** Every reason once: the decision's and the company check's. */
	public function all_reasons(): array {
		return array_values( array_unique( array_merge( $this->reasons, $this->company_reasons ) ) );
	}

	/** The decision as stored in the cache. */
	public function to_array(): array {
		return array(
			'outcome'         => $this->outcome,
			'reasons'         => $this->reasons,
			'company_reasons' => $this->company_reasons,
			'field_errors'    => $this->field_errors,
			'status'          => $this->status,
		);
	}

	/** A decision read back from the cache; null when it is not one. */
	public static function from_array( $data ): ?self {
		if ( ! is_array( $data ) || ! in_array( $data['outcome'] ?? null, array( self::APPROVED, self::DECLINED ), true ) ) {
			return null;
		}
		return new self(
			$data['outcome'],
			self::strings( $data['reasons'] ?? array() ),
			self::strings( $data['company_reasons'] ?? array() ),
			is_array( $data['field_errors'] ?? null ) ? $data['field_errors'] : array(),
			(int) ( $data['status'] ?? 200 )
		);
	}

	/** The strings of a list (anything else dropped). */
	public static function strings( $list ): array {
		return is_array( $list ) ? array_values( array_filter( $list, 'is_string' ) ) : array();
	}

	/**
	 * The sentence for the buyer about a decline: every distinct sentence of the reasons the
	 * buyer can act on (in invoicekit's order); the neutral sentence only when none is such.
	 * Credit and limit reasons always read as the neutral sentence: no credit details.
	 */
	public function buyer_message(): string {
		$specific = array();
		foreach ( $this->all_reasons() as $reason ) {
			$sentence = self::reason_sentence( $reason );
			if ( null !== $sentence && ! in_array( $sentence, $specific, true ) ) {
				$specific[] = $sentence;
			}
		}
		return array() === $specific ? self::neutral_sentence() : implode( ' ', $specific );
	}

	/** The sentence said when invoicekit declines without a reason the buyer can act on. */
	public static function neutral_sentence(): string {
		return __( 'Purchase on account is not available for this order. Please choose another payment method.', 'invoicekit-for-woocommerce' );
	}

	/**
	 * The buyer's sentence for one reason code; null for the reasons that get the neutral
	 * sentence (credit, limits, the merchant's own state, unknown codes).
	 */
	public static function reason_sentence( string $reason ): ?string {
		switch ( $reason ) {
			case 'not_a_business':
				return __( 'Purchase on account is only available to businesses. Please enter your company name and legal form.', 'invoicekit-for-woocommerce' );
			case 'amount_below_minimum':
				return __( 'The order total is below the minimum for purchase on account.', 'invoicekit-for-woocommerce' );
			case 'amount_above_maximum':
				return __( 'The order total is above the maximum for purchase on account.', 'invoicekit-for-woocommerce' );
			case 'currency_not_supported':
				return __( 'Purchase on account is not available in this currency.', 'invoicekit-for-woocommerce' );
			case 'country_not_supported':
				return __( 'Purchase on account is not available for billing addresses in this country.', 'invoicekit-for-woocommerce' );
			case 'product_not_approved':
			case 'trial_product':
				return __( 'Some products in your cart cannot be bought on account.', 'invoicekit-for-woocommerce' );
			case 'no_approved_products':
				return __( 'The products in your cart cannot be bought on account.', 'invoicekit-for-woocommerce' );
			case 'vat_id_invalid':
				return __( 'The VAT ID is not valid. Please check it.', 'invoicekit-for-woocommerce' );
			case 'vat_id_country_mismatch':
				return __( 'The VAT ID does not belong to the billing country. Please check the VAT ID and the country.', 'invoicekit-for-woocommerce' );
			case 'vat_id_not_registered':
				return __( 'The VAT ID is not registered. Please check it.', 'invoicekit-for-woocommerce' );
			case 'legal_form_invalid':
				return __( 'The legal form does not exist in the billing country. Please check it.', 'invoicekit-for-woocommerce' );
			case 'address_implausible':
				return __( 'The billing address seems incomplete. Please check street, postcode and city.', 'invoicekit-for-woocommerce' );
			case 'company_invalid':
				return __( 'Your company details could not be confirmed. Please check company name, legal form and VAT ID.', 'invoicekit-for-woocommerce' );
			case 'company_unverified':
			case 'vat_id_unverified':
				return __( 'Your company could not be verified right now. Please try again later or choose another payment method.', 'invoicekit-for-woocommerce' );
			default:
				// merchant_not_verified, business_type_excluded, collection_entries,
				// invoices_overdue, risk_policy, limit_exceeded, order_number_too_long and any
				// code this plugin does not know yet.
				return null;
		}
	}

	/**
	 * The checkout fields this decision finds wrong, with the buyer's sentence for each:
	 * `company`, `legal_form`, `vat_id`, `address_1`, `postcode`, `city`, `country`.
	 * From the company check's reasons and from a 422's buyer fields.
	 */
	public function field_problems(): array {
		$problems = array();
		foreach ( $this->all_reasons() as $reason ) {
			if ( in_array( $reason, self::VAT_ID_REASONS, true ) ) {
				$problems['vat_id'] ??= self::reason_sentence( $reason );
			} elseif ( 'legal_form_invalid' === $reason ) {
				$problems['legal_form'] ??= self::reason_sentence( $reason );
			}
		}
		foreach ( array_keys( $this->field_errors ) as $field ) {
			$sentence = self::field_sentence( (string) $field );
			if ( null !== $sentence ) {
				$problems[ 'street' === $field ? 'address_1' : (string) $field ] ??= $sentence;
			}
		}
		return $problems;
	}

	/** The buyer's sentence for a buyer field invoicekit refused (422); null for others. */
	public static function field_sentence( string $field ): ?string {
		switch ( $field ) {
			case 'company':
				return __( 'Please enter your company name.', 'invoicekit-for-woocommerce' );
			case 'legal_form':
				return __( 'Please choose your legal form from the list.', 'invoicekit-for-woocommerce' );
			case 'vat_id':
				return __( 'The VAT ID is not valid. Please check it.', 'invoicekit-for-woocommerce' );
			case 'street':
			case 'postcode':
			case 'city':
				return __( 'Please enter your complete billing address.', 'invoicekit-for-woocommerce' );
			case 'country':
				return __( 'Please choose a valid billing country.', 'invoicekit-for-woocommerce' );
			default:
				return null;
		}
	}
}

/**
 * Builds eligibility questions from a cart or an order, asks invoicekit, caches the answers.
 *
 * One shape for both (`build_request()`), exactly what `POST /api/v1/eligibility` reads:
 * `amount` (decimal string), `currency`, `buyer` {company, legal_form, vat_id, street,
 * postcode, city, country}, `lines` [{sku}]. invoicekit refuses unknown fields, so nothing else
 * is sent.
 */
final class Eligibility {

	public const PATH = '/api/v1/eligibility';

	/** Transient prefix of cached answers. */
	public const CACHE_PREFIX = 'invoicekit_elig_';

	/** How long an answer for a cart counts: ten minutes. */
	public const CACHE_SECONDS = 600;

	/** How long the checkout does not ask an invoicekit that did not answer (seconds). */
	public const UNREACHABLE_SECONDS = 60;

	/** invoicekit reads at most 500 lines. */
	public const MAX_LINES = 500;

	/** At placement the buyer waits for the order anyway: at least this many seconds. */
	public const PLACEMENT_TIMEOUT = 8;

	/** Meta keys invoicekit reads on orders (classic and block checkout alike). */
	public const ORDER_LEGAL_FORM_KEY = '_billing_legal_form';
	public const ORDER_VAT_ID_KEY     = '_billing_vat_id';

	/** Meta keys WooCommerce gives the block checkout's billing fields (orders and customers). */
	public const BLOCK_LEGAL_FORM_KEY = '_wc_billing/invoicekit/legal-form';
	public const BLOCK_VAT_ID_KEY     = '_wc_billing/invoicekit/vat-id';

	/** Customer meta keys of the classic checkout fields (WooCommerce's own naming). */
	public const CUSTOMER_LEGAL_FORM_KEY = 'billing_legal_form';
	public const CUSTOMER_VAT_ID_KEY     = 'billing_vat_id';

	/**
	 * The one request shape, from raw values.
	 *
	 * @param string $amount   Gross total as an exact decimal string.
	 * @param string $currency ISO 4217 code.
	 * @param array  $buyer    company, legal_form, vat_id, street, postcode, city, country.
	 * @param array  $skus     One SKU (or '' / null) per line.
	 */
	public static function build_request( string $amount, string $currency, array $buyer, array $skus ): array {
		$buyer = self::clean_buyer( $buyer );
		$lines = array();
		foreach ( array_slice( array_values( $skus ), 0, self::MAX_LINES ) as $sku ) {
			$sku     = is_scalar( $sku ) ? trim( (string) $sku ) : '';
			$lines[] = array( 'sku' => '' === $sku ? null : $sku );
		}
		return array(
			'amount'   => $amount,
			'currency' => strtoupper( trim( $currency ) ),
			'buyer'    => array(
				'company'    => $buyer['company'],
				'legal_form' => '' === $buyer['legal_form'] ? null : $buyer['legal_form'],
				'vat_id'     => '' === $buyer['vat_id'] ? null : $buyer['vat_id'],
				'street'     => $buyer['street'],
				'postcode'   => $buyer['postcode'],
				'city'       => $buyer['city'],
				'country'    => strtoupper( $buyer['country'] ),
			),
			'lines'    => $lines,
		);
	}

	/** The buyer's fields as trimmed strings ('' when missing). */
	public static function clean_buyer( array $buyer ): array {
		$clean = array();
		foreach ( array( 'company', 'legal_form', 'vat_id', 'street', 'postcode', 'city', 'country' ) as $key ) {
			$value         = $buyer[ $key ] ?? '';
			$clean[ $key ] = is_scalar( $value ) ? sanitize_text_field( (string) $value ) : '';
		}
		return $clean;
	}

	/** Whether the buyer has typed a company name. */
	public static function has_company( array $buyer ): bool {
		return '' !== self::clean_buyer( $buyer )['company'];
	}

	/** Whether invoicekit can read the buyer: company, street, postcode, city and country given. */
	public static function is_complete( array $buyer ): bool {
		$buyer = self::clean_buyer( $buyer );
		foreach ( array( 'company', 'street', 'postcode', 'city', 'country' ) as $key ) {
			if ( '' === $buyer[ $key ] ) {
				return false;
			}
		}
		return true;
	}

	/** The buyer of the current checkout session (WC()->customer), classic or block fields. */
	public static function buyer_from_customer( $customer ): array {
		if ( ! is_object( $customer ) ) {
			return self::clean_buyer( array() );
		}
		return self::clean_buyer(
			array(
				'company'    => $customer->get_billing_company(),
				'legal_form' => self::first_meta( $customer, array( self::BLOCK_LEGAL_FORM_KEY, self::CUSTOMER_LEGAL_FORM_KEY ) ),
				'vat_id'     => self::first_meta( $customer, array( self::BLOCK_VAT_ID_KEY, self::CUSTOMER_VAT_ID_KEY ) ),
				'street'     => $customer->get_billing_address_1(),
				'postcode'   => $customer->get_billing_postcode(),
				'city'       => $customer->get_billing_city(),
				'country'    => $customer->get_billing_country(),
			)
		);
	}

	/** The buyer of the classic checkout's posted data (`billing_*` keys). */
	public static function buyer_from_posted( array $data ): array {
		return self::clean_buyer(
			array(
				'company'    => $data['billing_company'] ?? '',
				'legal_form' => $data['billing_legal_form'] ?? '',
				'vat_id'     => $data['billing_vat_id'] ?? '',
				'street'     => $data['billing_address_1'] ?? '',
				'postcode'   => $data['billing_postcode'] ?? '',
				'city'       => $data['billing_city'] ?? '',
				'country'    => $data['billing_country'] ?? '',
			)
		);
	}

	/** The buyer of an order: billing address, `_billing_legal_form`, `_billing_vat_id`. */
	public static function buyer_from_order( $order ): array {
		return self::clean_buyer(
			array(
				'company'    => $order->get_billing_company(),
				'legal_form' => self::first_meta( $order, array( self::ORDER_LEGAL_FORM_KEY, self::BLOCK_LEGAL_FORM_KEY ) ),
				'vat_id'     => self::first_meta( $order, array( self::ORDER_VAT_ID_KEY, self::BLOCK_VAT_ID_KEY ) ),
				'street'     => $order->get_billing_address_1(),
				'postcode'   => $order->get_billing_postcode(),
				'city'       => $order->get_billing_city(),
				'country'    => $order->get_billing_country(),
			)
		);
	}

	/** The first non-empty of some meta keys of an order or customer. */
	private static function first_meta( $wc_object, array $keys ): string {
		foreach ( $keys as $key ) {
			$value = $wc_object->get_meta( $key, true );
			if ( is_scalar( $value ) && '' !== trim( (string) $value ) ) {
				return (string) $value;
			}
		}
		return '';
	}

	/** A money value as invoicekit wants it: an exact decimal string in the shop's decimals. */
	public static function decimal( $amount ): string {
		return (string) wc_format_decimal( $amount, wc_get_price_decimals() );
	}

	/** The question for a cart (gross total incl. shipping and fees, one line per cart item). */
	public static function request_for_cart( $cart, array $buyer ): array {
		$skus = array();
		foreach ( $cart->get_cart() as $item ) {
			$product = $item['data'] ?? null;
			$skus[]  = is_object( $product ) ? $product->get_sku() : null;
		}
		return self::build_request( self::decimal( $cart->get_total( 'edit' ) ), get_woocommerce_currency(), $buyer, $skus );
	}

	/** The question for an order: its total, currency, billing buyer and product lines. */
	public static function request_for_order( $order ): array {
		$skus = array();
		foreach ( $order->get_items( 'line_item' ) as $item ) {
			$product = is_callable( array( $item, 'get_product' ) ) ? $item->get_product() : null;
			$skus[]  = is_object( $product ) ? $product->get_sku() : null;
		}
		return self::build_request( self::decimal( $order->get_total( 'edit' ) ), (string) $order->get_currency(), self::buyer_from_order( $order ), $skus );
	}

	/** The decision for a cart and buyer: cached per cart and buyer for ten minutes. */
	public static function for_cart( $cart, array $buyer, ?int $timeout = null ): Decision {
		$request = self::request_for_cart( $cart, $buyer );
		return self::ask( $request, self::cache_key( $request, (string) $cart->get_cart_hash() ), $timeout );
	}

	/** The decision for an order being placed: always asked afresh. */
	public static function for_order( $order ): Decision {
		return self::ask( self::request_for_order( $order ), null, max( (int) Settings::get( 'timeout' ), self::PLACEMENT_TIMEOUT ) );
	}

	/** The transient key of a question: the connection, the request body and the cart hash. */
	public static function cache_key( array $request, string $cart_hash = '' ): string {
		$settings = Settings::all();
		return self::CACHE_PREFIX . md5(
			(string) wp_json_encode(
				array( $settings['url'], $settings['merchant_id'], $request, $cart_hash )
			)
		);
	}

	/**
	 * Ask invoicekit (or the cache). Only decisions (approved / declined) are cached, never
	 * an unreachable invoicekit nor a refused question. A cart's question (with a cache key)
	 * that finds invoicekit unreachable keeps the checkout from asking again for a minute, so
	 * that an outage does not make every checkout refresh wait for the timeout; an order
	 * being placed (no cache key) always asks.
	 */
	public static function ask( array $request, ?string $cache_key = null, ?int $timeout = null ): Decision {
		if ( null !== $cache_key ) {
			$cached = Decision::from_array( get_transient( $cache_key ) );
			if ( null !== $cached ) {
				return $cached;
			}
			if ( (int) get_transient( self::unreachable_key() ) > time() ) {
				return new Decision( Decision::UNREACHABLE, array(), array(), array(), 0 );
			}
		}
		$decision = self::decision_of( Client::from_settings()->post( self::PATH, $request, $timeout ) );
		if ( $decision->approved() || $decision->declined() ) {
			delete_transient( self::unreachable_key() );
			if ( null !== $cache_key ) {
				set_transient( $cache_key, $decision->to_array(), self::CACHE_SECONDS );
			}
		} elseif ( null !== $cache_key && $decision->unreachable() ) {
			set_transient( self::unreachable_key(), time() + self::UNREACHABLE_SECONDS, self::UNREACHABLE_SECONDS );
		}
		return $decision;
	}

	/** The transient that marks the connection's invoicekit as unreachable for a minute. */
	public static function unreachable_key(): string {
		return self::CACHE_PREFIX . 'unreachable_' . md5( (string) Settings::get( 'url' ) );
	}

	/** invoicekit's answer as a decision; a refused key or request is logged for the admin. */
	public static function decision_of( Response $response ): Decision {
		if ( $response->unreachable() ) {
			return new Decision( Decision::UNREACHABLE, array(), array(), array(), $response->status );
		}
		$body = $response->body ?? array();
		if ( 200 === $response->status ) {
			$outcome = $body['decision'] ?? null;
			if ( Decision::APPROVED === $outcome || Decision::DECLINED === $outcome ) {
				$company = is_array( $body['company'] ?? null ) ? $body['company'] : array();
				return new Decision(
					$outcome,
					Decision::strings( $body['reasons'] ?? array() ),
					Decision::strings( $company['reasons'] ?? array() ),
					array(),
					200
				);
			}
		}
		if ( 422 === $response->status ) {
			$fields = array();
			foreach ( (array) ( $body['fields'] ?? array() ) as $name => $messages ) {
				if ( is_string( $name ) && str_starts_with( $name, 'buyer.' ) ) {
					$fields[ substr( $name, 6 ) ] = Decision::strings( $messages );
				}
			}
			if ( array() !== $fields ) {
				return new Decision( Decision::INVALID, array(), array(), $fields, 422 );
			}
		}
		// 401 (key revoked), 400, 413, a 422 on fields the buyer cannot change, an unexpected
		// answer: the shop's problem, not the buyer's. Treated as unreachable, told to the admin.
		self::log(
			401 === $response->status
				? 'invoicekit refused the shop\'s API key (HTTP 401): connect the shop again in WooCommerce → Settings → invoicekit.'
				: sprintf( 'invoicekit did not decide (HTTP %d): %s', $response->status, (string) $response->error )
		);
		return new Decision( Decision::UNREACHABLE, array(), array(), array(), $response->status );
	}

	/** A message in WooCommerce's log (source `invoicekit`), when WooCommerce has one. */
	public static function log( string $message, string $level = 'error' ): void {
		if ( ! function_exists( 'wc_get_logger' ) ) {
			return;
		}
		$logger = wc_get_logger();
		if ( is_object( $logger ) && is_callable( array( $logger, 'log' ) ) ) {
			$logger->log( $level, $message, array( 'source' => 'invoicekit' ) );
		}
	}
}
