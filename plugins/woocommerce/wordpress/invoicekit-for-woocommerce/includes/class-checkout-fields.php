<?php
/**
 * The buyer's company fields at checkout: company, legal form, VAT ID.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Legal form and VAT ID in both checkouts, stored on the order under the meta keys invoicekit
 * reads (`_billing_legal_form`, `_billing_vat_id`):
 *
 * - classic checkout: billing fields `billing_legal_form` and `billing_vat_id`; WooCommerce
 *   keeps them on the customer as `billing_legal_form` / `billing_vat_id`;
 * - block checkout: additional address fields `invoicekit/legal-form` and `invoicekit/vat-id`;
 *   WooCommerce keeps them as `_wc_billing/invoicekit/…` meta, copied here to the keys above.
 */
final class Checkout_Fields {

	public const BLOCK_LEGAL_FORM = 'invoicekit/legal-form';
	public const BLOCK_VAT_ID     = 'invoicekit/vat-id';

	/** The legal forms offered, per invoice country (as invoicekit spells them). */
	private const LEGAL_FORMS = array(
		'GmbH',
		'UG (haftungsbeschränkt)',
		'GmbH & Co. KG',
		'AG',
		'KG',
		'OHG',
		'GbR',
		'PartG',
		'e.K.',
		'eG',
		'e.V.',
		'Ges.m.b.H.',
		'FlexCo',
		'OG',
		'e.U.',
		'SE',
		'SAS',
		'SASU',
		'SARL',
		'EURL',
		'SA',
		'SNC',
		'EI',
		'B.V.',
		'N.V.',
		'V.O.F.',
		'C.V.',
		'Eenmanszaak',
		'Stichting',
		'AB',
		'HB',
		'KB',
		'Enskild firma',
		'AS',
		'ASA',
		'ANS',
		'DA',
		'ENK',
		'Oy',
		'Oyj',
		'Ky',
		'Ay',
		'Tmi',
		'S.L.',
		'S.L.U.',
		'S.A.',
		'S.C.',
		'Autónomo',
		'ApS',
		'A/S',
		'I/S',
		'P/S',
		'K/S',
		'Enkeltmandsvirksomhed',
		'Einzelunternehmen',
	);

	public static function register(): void {
		// Classic checkout (WC_Countries::get_address_fields(), WC_Checkout, WC_AJAX).
		add_filter( 'woocommerce_billing_fields', array( self::class, 'billing_fields' ), 20, 1 );
		add_filter( 'option_woocommerce_checkout_company_field', array( self::class, 'company_field_visibility' ), 10, 1 );
		add_filter( 'default_option_woocommerce_checkout_company_field', array( self::class, 'company_field_visibility' ), 10, 1 );
		add_filter( 'woocommerce_customer_allowed_session_meta_keys', array( self::class, 'session_meta_keys' ), 10, 1 );
		add_action( 'woocommerce_checkout_update_order_review', array( self::class, 'update_order_review' ), 10, 1 );
		add_filter( 'woocommerce_checkout_posted_data', array( self::class, 'posted_data' ), 10, 1 );
		add_action( 'woocommerce_checkout_create_order', array( self::class, 'save_classic_fields' ), 10, 2 );
		add_action( 'woocommerce_after_checkout_validation', array( self::class, 'validate_classic' ), 10, 2 );
		// Block checkout (CheckoutFields service, Store API).
		add_action( 'woocommerce_init', array( self::class, 'register_block_fields' ), 10, 0 );
		add_action( 'woocommerce_validate_additional_field', array( self::class, 'validate_block_field' ), 10, 3 );
		add_action( 'woocommerce_set_additional_field_value', array( self::class, 'block_field_set' ), 10, 4 );
		add_action( 'woocommerce_store_api_checkout_update_order_from_request', array( self::class, 'copy_block_fields' ), 10, 1 );
		// The admin's order view and e-mails (block fields are shown by WooCommerce itself).
		add_action( 'woocommerce_admin_order_data_after_billing_address', array( self::class, 'admin_order_fields' ), 10, 1 );
		add_filter( 'woocommerce_email_order_meta_fields', array( self::class, 'email_fields' ), 10, 3 );
	}

	/** The legal forms of the select (values as invoicekit knows them). */
	public static function legal_forms(): array {
		return self::LEGAL_FORMS;
	}

	/** Whether the purchase-on-account gateway is switched on (its stored settings). */
	private static function gateway_enabled(): bool {
		$settings = get_option( 'woocommerce_' . Gateway::ID . '_settings', array() );
		return is_array( $settings ) && 'yes' === ( $settings['enabled'] ?? 'no' );
	}

	/**
	 * The company field's visibility (both checkouts): never hidden while purchase on account
	 * is enabled, which is for companies only. The shop's "optional" or "required" stays.
	 *
	 * @param mixed $value The stored visibility (hidden, optional, required) or the default.
	 */
	public static function company_field_visibility( $value ) {
		if ( self::gateway_enabled() && ( 'hidden' === $value || false === $value || '' === $value || null === $value ) ) {
			return 'optional';
		}
		return $value;
	}

	/**
	 * The classic checkout's billing fields: the company field shown, legal form and VAT ID added;
	 * all three refresh the payment methods when changed.
	 *
	 * @param array $fields Billing fields.
	 */
	public static function billing_fields( $fields ): array {
		$fields = is_array( $fields ) ? $fields : array();
		if ( ! isset( $fields['billing_company'] ) && self::gateway_enabled() ) {
			$fields['billing_company'] = array(
				'label'        => __( 'Company name', 'invoicekit-for-woocommerce' ),
				'class'        => array( 'form-row-wide' ),
				'autocomplete' => 'organization',
				'required'     => false,
				'priority'     => 30,
			);
		}
		if ( ! self::gateway_enabled() ) {
			return $fields; // Purchase on account is off: the shop's own fields only.
		}
		$priority = (int) ( $fields['billing_company']['priority'] ?? 30 );
		if ( isset( $fields['billing_company'] ) ) {
			$fields['billing_company']['class'] = self::with_refresh_class( $fields['billing_company']['class'] ?? array() );
		}
		$fields['billing_legal_form'] = array(
			'type'     => 'select',
			'label'    => __( 'Legal form', 'invoicekit-for-woocommerce' ),
			'required' => false,
			'class'    => self::with_refresh_class( array( 'form-row-first' ) ),
			'options'  => array( '' => __( 'Choose the legal form', 'invoicekit-for-woocommerce' ) ) + array_combine( self::LEGAL_FORMS, self::LEGAL_FORMS ),
			'priority' => $priority + 1,
		);
		$fields['billing_vat_id']     = array(
			'type'        => 'text',
			'label'       => __( 'VAT ID', 'invoicekit-for-woocommerce' ),
			'placeholder' => __( 'e.g. DE123456789', 'invoicekit-for-woocommerce' ),
			'required'    => false,
			'class'       => self::with_refresh_class( array( 'form-row-last' ) ),
			'maxlength'   => 32,
			'priority'    => $priority + 2,
		);
		return $fields;
	}

	/** A field's classes plus WooCommerce's "refresh the order review on change". */
	private static function with_refresh_class( $classes ): array {
		$classes = is_array( $classes ) ? $classes : array();
		if ( ! in_array( 'update_totals_on_change', $classes, true ) ) {
			$classes[] = 'update_totals_on_change';
		}
		return $classes;
	}

	/**
	 * Keep the classic fields in a guest's session too.
	 *
	 * @param array $keys Customer meta keys kept in the session.
	 */
	public static function session_meta_keys( $keys ): array {
		$keys = is_array( $keys ) ? $keys : array();
		return array_values( array_unique( array_merge( $keys, array( Eligibility::CUSTOMER_LEGAL_FORM_KEY, Eligibility::CUSTOMER_VAT_ID_KEY ) ) ) );
	}

	/**
	 * Classic checkout refresh (WC_AJAX::update_order_review, nonce checked there): WooCommerce
	 * takes the address from it, not the company, legal form nor VAT ID; this does, before the
	 * payment methods are asked whether they are available.
	 *
	 * @param string $post_data The checkout form, URL-encoded.
	 */
	public static function update_order_review( $post_data ): void {
		if ( ! is_string( $post_data ) || '' === $post_data ) {
			return;
		}
		$form = array();
		parse_str( $post_data, $form );
		self::remember_buyer_fields( $form );
	}

	/**
	 * Classic checkout submit (nonce checked by WC_Checkout): the same, before the payment
	 * methods are checked.
	 *
	 * @param array $data The posted checkout data.
	 */
	public static function posted_data( $data ) {
		if ( is_array( $data ) ) {
			self::remember_buyer_fields( $data );
		}
		return $data;
	}

	/** Put company, legal form and VAT ID of a classic checkout form on WC()->customer. */
	private static function remember_buyer_fields( array $form ): void {
		$customer = WC()->customer;
		if ( ! is_object( $customer ) ) {
			return;
		}
		if ( isset( $form['billing_company'] ) && is_scalar( $form['billing_company'] ) ) {
			$customer->set_billing_company( sanitize_text_field( (string) $form['billing_company'] ) );
		}
		if ( isset( $form['billing_legal_form'] ) && is_scalar( $form['billing_legal_form'] ) ) {
			$customer->update_meta_data( Eligibility::CUSTOMER_LEGAL_FORM_KEY, self::clean_legal_form( (string) $form['billing_legal_form'] ) );
		}
		if ( isset( $form['billing_vat_id'] ) && is_scalar( $form['billing_vat_id'] ) ) {
			$customer->update_meta_data( Eligibility::CUSTOMER_VAT_ID_KEY, self::clean_vat_id( (string) $form['billing_vat_id'] ) );
		}
	}

	/** A legal form (already unslashed by WooCommerce): one of the list, else ''. */
	public static function clean_legal_form( string $value ): string {
		$value = sanitize_text_field( $value );
		return in_array( $value, self::LEGAL_FORMS, true ) ? $value : '';
	}

	/** A VAT ID (already unslashed by WooCommerce) as typed: trimmed, upper case, at most 32 characters. */
	public static function clean_vat_id( string $value ): string {
		return substr( strtoupper( sanitize_text_field( $value ) ), 0, 32 );
	}

	/**
	 * Whether a VAT ID looks like one: a two-letter country prefix, then 2 to 13 letters and
	 * digits with at least one digit (spaces, dots, dashes ignored). invoicekit checks the
	 * check digits and the country.
	 */
	public static function plausible_vat_id( string $vat_id ): bool {
		$compact = strtoupper( (string) preg_replace( '/[\s.\-\/]/', '', $vat_id ) );
		return 1 === preg_match( '/^[A-Z]{2}[A-Z0-9]{2,13}$/', $compact ) && 1 === preg_match( '/\d/', substr( $compact, 2 ) );
	}

	/**
	 * Store the classic fields on the order under invoicekit's keys.
	 *
	 * @param \WC_Order $order The order being created.
	 * @param array     $data  The posted checkout data.
	 */
	public static function save_classic_fields( $order, $data ): void {
		$data = is_array( $data ) ? $data : array();
		self::save_on_order(
			$order,
			self::clean_legal_form( (string) ( $data['billing_legal_form'] ?? '' ) ),
			self::clean_vat_id( (string) ( $data['billing_vat_id'] ?? '' ) )
		);
	}

	/** Set (or clear) `_billing_legal_form` and `_billing_vat_id` on an order. */
	private static function save_on_order( $order, string $legal_form, string $vat_id ): void {
		foreach ( array(
			Eligibility::ORDER_LEGAL_FORM_KEY => $legal_form,
			Eligibility::ORDER_VAT_ID_KEY     => $vat_id,
		) as $key => $value ) {
			if ( '' === $value ) {
				$order->delete_meta_data( $key );
			} else {
				$order->update_meta_data( $key, $value );
			}
		}
	}

	/**
	 * Classic checkout validation, when the buyer pays on account: a company name, a plausible
	 * VAT ID, and what invoicekit says about this buyer and cart (the VAT ID's verdict on the
	 * VAT ID field). An unreachable invoicekit adds nothing: the placement decides then.
	 *
	 * @param array     $data   The posted checkout data.
	 * @param \WP_Error $errors The checkout's errors.
	 */
	public static function validate_classic( $data, $errors ): void {
		if ( ! is_array( $data ) || Gateway::ID !== ( $data['payment_method'] ?? '' ) || ! is_object( $errors ) ) {
			return;
		}
		$buyer = Eligibility::buyer_from_posted( $data );
		$local = false;
		if ( '' === $buyer['company'] ) {
			$errors->add( 'billing_company_required', __( 'Please enter your company name: purchase on account is only available to businesses.', 'invoicekit-for-woocommerce' ), array( 'id' => 'billing_company' ) );
			$local = true;
		}
		if ( '' !== $buyer['vat_id'] && ! self::plausible_vat_id( $buyer['vat_id'] ) ) {
			$errors->add( 'billing_vat_id_validation', self::vat_id_format_sentence(), array( 'id' => 'billing_vat_id' ) );
			$local = true;
		}
		if ( $local || ( is_callable( array( $errors, 'has_errors' ) ) && $errors->has_errors() ) || ! Settings::connected() ) {
			return; // First what the buyer must fix anyway; invoicekit is asked once that is done.
		}
		$cart = WC()->cart;
		if ( ! is_object( $cart ) || ! Eligibility::is_complete( $buyer ) ) {
			return;
		}
		$decision = Eligibility::for_cart( $cart, $buyer, (int) Settings::get( 'timeout' ) );
		$problems = $decision->field_problems();
		if ( in_array( 'not_a_business', $decision->reasons, true ) && ! isset( $problems['legal_form'] ) ) {
			// The company name is there (checked above): the legal form is missing.
			$problems['legal_form'] = (string) Decision::reason_sentence( 'not_a_business' );
		}
		foreach ( $problems as $field => $sentence ) {
			$errors->add( 'billing_' . $field . '_validation', $sentence, array( 'id' => 'billing_' . $field ) );
		}
		if ( $decision->declined() && array() === $problems ) {
			$errors->add( 'invoicekit_declined', $decision->buyer_message(), array( 'id' => 'payment_method' ) );
		} elseif ( $decision->declined() ) {
			// The other reasons too (e.g. the amount), each sentence once.
			$said = array_values( $problems );
			foreach ( $decision->all_reasons() as $reason ) {
				$sentence = Decision::reason_sentence( $reason );
				if ( null !== $sentence && ! in_array( $sentence, $said, true ) ) {
					$errors->add( 'invoicekit_declined', $sentence, array( 'id' => 'payment_method' ) );
					$said[] = $sentence;
				}
			}
		}
	}

	/** Said about a VAT ID that does not look like one. */
	public static function vat_id_format_sentence(): string {
		return __( 'Please enter the VAT ID with its country prefix, e.g. DE123456789.', 'invoicekit-for-woocommerce' );
	}

	/**
	 * Register the block checkout's fields (WooCommerce 8.9 and later), on `woocommerce_init`.
	 * Address fields: shown with the billing (and the shipping) address; the billing ones count.
	 */
	public static function register_block_fields(): void {
		if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) || ! self::gateway_enabled() ) {
			return;
		}
		$options = array();
		foreach ( self::LEGAL_FORMS as $form ) {
			$options[] = array(
				'value' => $form,
				'label' => $form,
			);
		}
		woocommerce_register_additional_checkout_field(
			array(
				'id'          => self::BLOCK_LEGAL_FORM,
				'label'       => __( 'Legal form', 'invoicekit-for-woocommerce' ),
				'location'    => 'address',
				'type'        => 'select',
				'required'    => false,
				'placeholder' => __( 'Choose the legal form', 'invoicekit-for-woocommerce' ),
				'options'     => $options,
			)
		);
		woocommerce_register_additional_checkout_field(
			array(
				'id'                => self::BLOCK_VAT_ID,
				'label'             => __( 'VAT ID', 'invoicekit-for-woocommerce' ),
				'location'          => 'address',
				'type'              => 'text',
				'required'          => false,
				'attributes'        => array(
					'autocomplete' => 'off',
					'maxLength'    => 32,
				),
				'sanitize_callback' => array( self::class, 'sanitize_block_vat_id' ),
			)
		);
	}

	/**
	 * The block checkout's VAT ID as stored: trimmed, upper case.
	 *
	 * @param mixed $value The posted value.
	 */
	public static function sanitize_block_vat_id( $value ): string {
		return is_scalar( $value ) ? self::clean_vat_id( (string) $value ) : '';
	}

	/**
	 * Block checkout validation of the two fields (the Store API): a plausible VAT ID, a legal
	 * form of the list. invoicekit's verdict comes at placement, as the failure notice.
	 *
	 * @param \WP_Error $errors Errors to add to.
	 * @param string    $key    The field id.
	 * @param mixed     $value  The field's value.
	 */
	public static function validate_block_field( $errors, $key, $value ): void {
		if ( ! is_object( $errors ) || ! is_scalar( $value ) || '' === trim( (string) $value ) ) {
			return;
		}
		if ( self::BLOCK_VAT_ID === $key && ! self::plausible_vat_id( (string) $value ) ) {
			$errors->add( 'invoicekit_vat_id_invalid', self::vat_id_format_sentence() );
		}
		if ( self::BLOCK_LEGAL_FORM === $key && '' === self::clean_legal_form( (string) $value ) ) {
			$errors->add( 'invoicekit_legal_form_invalid', Decision::field_sentence( 'legal_form' ) );
		}
	}

	/**
	 * WooCommerce stores a block field (checkout, or the admin editing an order): the billing
	 * values go to invoicekit's keys of the order as well.
	 *
	 * @param string $key       The field id.
	 * @param mixed  $value     The value stored.
	 * @param string $group     billing, shipping or other.
	 * @param mixed  $wc_object The order or customer.
	 */
	public static function block_field_set( $key, $value, $group, $wc_object ): void {
		if ( 'billing' !== $group || ! ( $wc_object instanceof \WC_Order ) || ! is_scalar( $value ) ) {
			return;
		}
		if ( self::BLOCK_VAT_ID === $key ) {
			self::set_or_delete( $wc_object, Eligibility::ORDER_VAT_ID_KEY, self::clean_vat_id( (string) $value ) );
		} elseif ( self::BLOCK_LEGAL_FORM === $key ) {
			self::set_or_delete( $wc_object, Eligibility::ORDER_LEGAL_FORM_KEY, self::clean_legal_form( (string) $value ) );
		}
	}

	/** One meta value set, or deleted when empty. */
	private static function set_or_delete( $order, string $key, string $value ): void {
		if ( '' === $value ) {
			$order->delete_meta_data( $key );
		} else {
			$order->update_meta_data( $key, $value );
		}
	}

	/**
	 * Store API checkout, before the payment: the block fields' values, which WooCommerce has put
	 * on the order as `_wc_billing/invoicekit/…`, under invoicekit's keys (saved by WooCommerce
	 * right after this action).
	 *
	 * @param \WC_Order $order The order being placed.
	 */
	public static function copy_block_fields( $order ): void {
		if ( ! is_object( $order ) ) {
			return;
		}
		$legal_form = $order->get_meta( Eligibility::BLOCK_LEGAL_FORM_KEY, true );
		$vat_id     = $order->get_meta( Eligibility::BLOCK_VAT_ID_KEY, true );
		self::save_on_order(
			$order,
			is_scalar( $legal_form ) ? self::clean_legal_form( (string) $legal_form ) : '',
			is_scalar( $vat_id ) ? self::clean_vat_id( (string) $vat_id ) : ''
		);
	}

	/** Whether WooCommerce shows the fields itself (an order of the block checkout). */
	private static function is_block_order( $order ): bool {
		return '' !== (string) $order->get_meta( Eligibility::BLOCK_LEGAL_FORM_KEY, true )
			|| '' !== (string) $order->get_meta( Eligibility::BLOCK_VAT_ID_KEY, true );
	}

	/** The legal form and VAT ID of a classic order: key => [label, value] (empty ones left out). */
	private static function classic_values( $order ): array {
		if ( ! is_object( $order ) || self::is_block_order( $order ) ) {
			return array();
		}
		$values = array(
			'legal_form' => array( __( 'Legal form', 'invoicekit-for-woocommerce' ), (string) $order->get_meta( Eligibility::ORDER_LEGAL_FORM_KEY, true ) ),
			'vat_id'     => array( __( 'VAT ID', 'invoicekit-for-woocommerce' ), (string) $order->get_meta( Eligibility::ORDER_VAT_ID_KEY, true ) ),
		);
		return array_filter( $values, static fn( $pair ) => '' !== $pair[1] );
	}

	/**
	 * The admin's order view, under the billing address.
	 *
	 * @param \WC_Order $order The order shown.
	 */
	public static function admin_order_fields( $order ): void {
		foreach ( self::classic_values( $order ) as list( $label, $value ) ) {
			echo '<p><strong>' . esc_html( $label ) . ':</strong> ' . esc_html( $value ) . '</p>';
		}
	}

	/**
	 * The order e-mails' meta fields.
	 *
	 * @param array     $fields        label/value pairs.
	 * @param bool      $sent_to_admin Whether the e-mail goes to the admin.
	 * @param \WC_Order $order         The order.
	 */
	public static function email_fields( $fields, $sent_to_admin = false, $order = null ): array {
		$fields = is_array( $fields ) ? $fields : array();
		foreach ( self::classic_values( $order ) as $key => list( $label, $value ) ) {
			$fields[ 'invoicekit_' . $key ] = array(
				'label' => $label,
				'value' => $value,
			);
		}
		return $fields;
	}
}
