<?php
/**
 * The one-click connection to invoicekit: a one-time code in, a REST key, two webhooks and
 * an API key out; and the way back (disconnect), and the connection's health.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/** What connect() or disconnect() did: success, a machine-readable cause, a translated sentence. */
final class Connection_Result {

	public function __construct(
		public readonly bool $ok,
		public readonly string $cause,
		public readonly string $message
	) {}
}

/**
 * Connects the shop to invoicekit with a code from `invoicekit shops connect-code`.
 *
 * connect(): check the URL and the code, make a WooCommerce REST key (read/write) the way
 * WooCommerce does, post both with the code to `POST /api/v1/connect` (once: a code is used
 * up by the first answer), make the `order.created` and `order.updated` webhooks with the
 * delivery URL and secret invoicekit answers, then store the connection. Anything failing on
 * the way removes what was made. The code, the keys and the secret are never stored by the
 * plugin (the webhook secret and the key live where WooCommerce keeps them) nor shown.
 */
final class Connection {

	/** The description of the REST key in WooCommerce > Settings > Advanced > REST API. */
	public const KEY_DESCRIPTION = 'invoicekit';

	/** The webhooks made: topic => name. */
	public const WEBHOOKS = array(
		'order.created' => 'invoicekit order created',
		'order.updated' => 'invoicekit order updated',
	);

	/** The REST API version of the webhooks' payloads (WooCommerce's v3 orders). */
	public const WEBHOOK_API_VERSION = 'wp_api_v3';

	/** Seconds to wait for invoicekit's answer to a connect or disconnect. */
	private const TIMEOUT = 20;

	/** Hosts that may be reached over plain http (a local invoicekit, for testing only). */
	private const LOCAL_HOSTS = array( 'localhost', '127.0.0.1', '[::1]', '::1' );

	// -- input ------------------------------------------------------------------------------

	/**
	 * The invoicekit URL as it is stored (scheme, host, port, path, no trailing slash), or
	 * null: https only, http only for localhost / 127.0.0.1; no user, query or fragment.
	 */
	public static function normalise_url( string $url ): ?string {
		$url = trim( $url );
		if ( '' === $url || preg_match( '/\s/', $url ) ) {
			return null;
		}
		if ( ! preg_match( '#^[a-z][a-z0-9+.-]*://#i', $url ) ) {
			$url = 'https://' . $url;
		}
		$parts = wp_parse_url( $url );
		if ( ! is_array( $parts ) || empty( $parts['host'] ) || isset( $parts['user'] ) || isset( $parts['pass'] )
			|| isset( $parts['query'] ) || isset( $parts['fragment'] ) ) {
			return null;
		}
		$scheme = strtolower( (string) ( $parts['scheme'] ?? '' ) );
		$host   = strtolower( (string) $parts['host'] );
		if ( 'https' !== $scheme && ! ( 'http' === $scheme && in_array( $host, self::LOCAL_HOSTS, true ) ) ) {
			return null;
		}
		if ( ! preg_match( '/^(\[[0-9a-f:]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/', $host ) ) {
			return null;
		}
		$port = isset( $parts['port'] ) ? ':' . (int) $parts['port'] : '';
		$path = rtrim( (string) ( $parts['path'] ?? '' ), '/' );
		if ( '' !== $path && ! preg_match( '#^(/[A-Za-z0-9._~-]+)+$#', $path ) ) {
			return null;
		}
		return $scheme . '://' . $host . $port . $path;
	}

	/**
	 * A code as typed or pasted (any case, spaces, dashes) in its printed form
	 * `7Q4M-XP2D-9HRT-KM3W`, or null: 16 letters and digits. Which characters a code may
	 * hold is invoicekit's to decide; it reads a code the same way (upper case, no dashes
	 * or white space).
	 */
	public static function normalise_code( string $code ): ?string {
		$code = strtoupper( (string) preg_replace( '/[\s\-]+/u', '', $code ) );
		if ( ! preg_match( '/^[A-Z0-9]{16}$/', $code ) ) {
			return null;
		}
		return implode( '-', str_split( $code, 4 ) );
	}

	// -- connect ----------------------------------------------------------------------------

	/** Connect the shop to the invoicekit at `$url` with the one-time `$code`. */
	public static function connect( string $url, string $code ): Connection_Result {
		if ( Settings::connected() ) {
			return self::failed( 'already_connected', __( 'This shop is already connected to invoicekit. Disconnect first to connect it again.', 'invoicekit-for-woocommerce' ) );
		}
		$base = self::normalise_url( $url );
		if ( null === $base ) {
			return self::failed( 'invalid_url', __( 'The invoicekit URL is not valid. Enter the address of your invoicekit, starting with https:// (http:// only for localhost or 127.0.0.1, for testing).', 'invoicekit-for-woocommerce' ) );
		}
		$code = self::normalise_code( $code );
		if ( null === $code ) {
			return self::failed( 'invalid_code', __( 'The connection code is not valid: it has 16 letters and digits in four groups, like 7Q4M-XP2D-9HRT-KM3W.', 'invoicekit-for-woocommerce' ) );
		}
		$user_id = get_current_user_id();
		if ( $user_id <= 0 ) {
			return self::failed( 'no_user', __( 'Sign in as a shop manager to connect the shop.', 'invoicekit-for-woocommerce' ) );
		}

		$key = self::create_rest_key( $user_id );
		if ( null === $key ) {
			return self::failed( 'rest_key', __( 'WooCommerce could not create the REST API key for invoicekit. Nothing was connected; please try again.', 'invoicekit-for-woocommerce' ) );
		}

		$answer = ( new Client( $base, '', self::TIMEOUT ) )->post(
			'/api/v1/connect',
			array(
				'code'            => $code,
				'platform'        => 'woocommerce',
				'shop_url'        => home_url(),
				'shop_name'       => get_bloginfo( 'name' ),
				'consumer_key'    => $key['consumer_key'],
				'consumer_secret' => $key['consumer_secret'],
				'payment_method'  => Payment_Block::GATEWAY_ID,
			),
			self::TIMEOUT
		);
		unset( $code, $key['consumer_key'], $key['consumer_secret'] );

		if ( ! $answer->ok() ) {
			self::delete_rest_key( $key['key_id'] );
			return self::refused( $answer, $base );
		}

		$connected = self::connected_answer( $answer->body ?? array() );
		if ( null === $connected ) {
			self::delete_rest_key( $key['key_id'] );
			self::forget_remote( $base, $answer->body ?? array() );
			return self::failed( 'bad_answer', __( 'invoicekit answered, but its answer lacks the shop, the API key or the webhook details. Nothing was connected; check that the URL is your invoicekit and that it is up to date.', 'invoicekit-for-woocommerce' ) );
		}

		$webhook_ids = array();
		foreach ( self::WEBHOOKS as $topic => $name ) {
			$id = self::create_webhook( $name, $topic, $connected['delivery_url'], $connected['webhook_secret'], $user_id );
			if ( 0 === $id ) {
				array_map( array( self::class, 'delete_webhook' ), $webhook_ids );
				self::delete_rest_key( $key['key_id'] );
				self::forget_remote( $base, $connected );
				return self::failed( 'webhook', __( 'WooCommerce could not create the webhooks for invoicekit. Nothing was connected; ask for a new connection code and try again.', 'invoicekit-for-woocommerce' ) );
			}
			$webhook_ids[] = $id;
		}

		Settings::update(
			array(
				'url'          => $base,
				'api_key'      => $connected['api_key'],
				'shop'         => $connected['shop'],
				'merchant_id'  => $connected['merchant_id'],
				'webhook_ids'  => $webhook_ids,
				'rest_key_id'  => $key['key_id'],
				'connected_at' => gmdate( 'c' ),
			)
		);
		return new Connection_Result(
			true,
			'connected',
			sprintf(
				/* translators: 1: the shop's name at invoicekit, 2: the merchant's number */
				__( 'Connected to invoicekit as shop %1$s of merchant %2$s. New orders paid by invoice now reach invoicekit.', 'invoicekit-for-woocommerce' ),
				$connected['shop'],
				(string) $connected['merchant_id']
			)
		);
	}

	/** The fields of a 2xx answer to the connect that the plugin needs, checked; or null. */
	private static function connected_answer( array $body ): ?array {
		$text = static fn( string $key ): string => isset( $body[ $key ] ) && is_scalar( $body[ $key ] ) ? trim( (string) $body[ $key ] ) : '';

		$shop         = $text( 'shop' );
		$api_key      = $text( 'api_key' );
		$secret       = $text( 'webhook_secret' );
		$delivery_url = self::normalise_url( $text( 'delivery_url' ) );
		if ( '' === $shop || ! preg_match( '/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/', $shop ) || '' === $api_key
			|| '' === $secret || null === $delivery_url ) {
			return null;
		}
		return array(
			'shop'           => $shop,
			'merchant_id'    => absint( $body['merchant_id'] ?? 0 ),
			'api_key'        => $api_key,
			'webhook_secret' => $secret,
			'delivery_url'   => $delivery_url,
		);
	}

	/** The failure for a connect answer that is not 2xx. */
	private static function refused( Response $answer, string $base ): Connection_Result {
		if ( 401 === $answer->status || 403 === $answer->status ) {
			return self::failed( 'code_refused', __( 'invoicekit refused the connection code: it is unknown, expired or already used (a code works once, for a limited time: 30 minutes unless made otherwise). Ask for a new code (invoicekit shops connect-code --merchant <id>) and try again.', 'invoicekit-for-woocommerce' ) );
		}
		if ( 422 === $answer->status || 400 === $answer->status ) {
			return self::failed(
				'invalid_input',
				sprintf(
					/* translators: %s: what invoicekit found wrong, e.g. "shop_url: must be https" */
					__( 'invoicekit refused the shop\'s details: %s. Nothing was connected; the code was not used up.', 'invoicekit-for-woocommerce' ),
					self::fields_text( $answer->body ?? array() )
				)
			);
		}
		if ( 409 === $answer->status ) {
			$reason = isset( $answer->body['error'] ) && is_string( $answer->body['error'] ) ? mb_substr( sanitize_text_field( $answer->body['error'] ), 0, 300 ) : '';
			return self::failed(
				'shop_name_taken',
				sprintf(
					/* translators: %s: invoicekit's reason, e.g. "the shop name 'acme' is taken by another connection" */
					__( 'invoicekit refused to connect the shop the code names (%s). Nothing was connected. Ask for a new connection code and try again.', 'invoicekit-for-woocommerce' ),
					'' !== $reason ? $reason : 'HTTP 409'
				)
			);
		}
		if ( 404 === $answer->status || 405 === $answer->status ) {
			return self::failed(
				'not_invoicekit',
				sprintf(
					/* translators: %s: the invoicekit URL entered */
					__( 'No invoicekit answered at %s (HTTP 404). Check the invoicekit URL.', 'invoicekit-for-woocommerce' ),
					$base
				)
			);
		}
		if ( $answer->unreachable() ) {
			return self::failed(
				'unreachable',
				sprintf(
					/* translators: 1: the invoicekit URL entered, 2: the error, e.g. "HTTP 503" or "cURL error 28: Operation timed out" */
					__( 'invoicekit could not be reached at %1$s (%2$s). Nothing was connected here. Check the URL and try again; if the code is refused then, ask for a new one.', 'invoicekit-for-woocommerce' ),
					$base,
					self::error_text( $answer )
				)
			);
		}
		return self::failed(
			'unexpected',
			sprintf(
				/* translators: %d: the HTTP status invoicekit answered */
				__( 'invoicekit answered the connection with HTTP %d. Nothing was connected.', 'invoicekit-for-woocommerce' ),
				$answer->status
			)
		);
	}

	/** invoicekit's 422 answer as "field: message; …" (sanitised, never the code). */
	private static function fields_text( array $body ): string {
		$parts = array();
		if ( isset( $body['fields'] ) && is_array( $body['fields'] ) ) {
			foreach ( array_slice( $body['fields'], 0, 5, true ) as $field => $problem ) {
				$problem = is_array( $problem ) ? implode( ', ', array_filter( $problem, 'is_scalar' ) ) : ( is_scalar( $problem ) ? (string) $problem : '' );
				$parts[] = sanitize_key( (string) $field ) . ( '' !== $problem ? ': ' . sanitize_text_field( $problem ) : '' );
			}
		}
		if ( array() === $parts && isset( $body['error'] ) && is_string( $body['error'] ) ) {
			$parts[] = sanitize_text_field( $body['error'] );
		}
		$text = array() === $parts ? __( 'no reason given', 'invoicekit-for-woocommerce' ) : implode( '; ', $parts );
		return mb_substr( $text, 0, 300 );
	}

	/** A short reason for an unreachable invoicekit: "HTTP 503", or the transport error. */
	private static function error_text( Response $answer ): string {
		if ( $answer->status > 0 ) {
			return 'HTTP ' . $answer->status;
		}
		return mb_substr( sanitize_text_field( (string) $answer->error ), 0, 200 );
	}

	// -- disconnect -------------------------------------------------------------------------

	/**
	 * Disconnect: tell invoicekit (it revokes the API key and forgets the REST key and the
	 * webhook secret; the orders stay), then remove the webhooks, the REST key and the stored
	 * connection here, even when invoicekit cannot be reached.
	 */
	public static function disconnect(): Connection_Result {
		$settings = Settings::all();
		if ( ! Settings::connected() ) {
			return self::failed( 'not_connected', __( 'This shop is not connected to invoicekit.', 'invoicekit-for-woocommerce' ) );
		}
		$answer = Client::from_settings()->delete( '/api/v1/shops/' . rawurlencode( (string) $settings['shop'] ) . '/connection', self::TIMEOUT );

		foreach ( (array) $settings['webhook_ids'] as $id ) {
			self::delete_webhook( (int) $id );
		}
		self::delete_rest_key( (int) $settings['rest_key_id'] );
		Settings::forget_connection();

		if ( $answer->ok() || 404 === $answer->status || 401 === $answer->status ) {
			return new Connection_Result( true, 'disconnected', __( 'Disconnected from invoicekit: the webhooks and the REST API key were removed, invoicekit no longer accepts the plugin\'s key. The orders stay as they are.', 'invoicekit-for-woocommerce' ) );
		}
		return new Connection_Result(
			true,
			'disconnected_locally',
			sprintf(
				/* translators: 1: the error, e.g. "HTTP 503", 2: the shop's name at invoicekit */
				__( 'Disconnected here (the webhooks and the REST API key were removed), but invoicekit could not be told (%1$s). Ask your invoicekit operator to disconnect the shop %2$s there.', 'invoicekit-for-woocommerce' ),
				self::error_text( $answer ),
				(string) $settings['shop']
			)
		);
	}

	// -- health -----------------------------------------------------------------------------

	/**
	 * The connection's health for the settings page: the stored connection, the local
	 * webhooks (active, paused, disabled — WooCommerce disables one after repeated failed
	 * deliveries — or missing), the REST key, and invoicekit's own view
	 * (`GET /api/v1/shops/<shop>/health`).
	 */
	public static function health(): array {
		$settings = Settings::all();
		$health   = array(
			'connected'       => Settings::connected(),
			'url'             => (string) $settings['url'],
			'shop'            => (string) $settings['shop'],
			'merchant_id'     => (int) $settings['merchant_id'],
			'connected_at'    => (string) $settings['connected_at'],
			'webhooks'        => array(),
			'webhooks_active' => false,
			'rest_key'        => false,
			'remote'          => null,
		);
		if ( ! $health['connected'] ) {
			return $health;
		}

		$all_active = array() !== (array) $settings['webhook_ids'];
		foreach ( (array) $settings['webhook_ids'] as $id ) {
			$webhook = wc_get_webhook( (int) $id );
			$status  = $webhook ? (string) $webhook->get_status() : 'missing';
			$health['webhooks'][] = array(
				'id'            => (int) $id,
				'name'          => $webhook ? (string) $webhook->get_name() : '',
				'topic'         => $webhook ? (string) $webhook->get_topic() : '',
				'status'        => $status,
				'failure_count' => $webhook && method_exists( $webhook, 'get_failure_count' ) ? (int) $webhook->get_failure_count() : 0,
			);
			$all_active = $all_active && 'active' === $status;
		}
		$health['webhooks_active'] = $all_active;
		$health['rest_key']        = self::rest_key_exists( (int) $settings['rest_key_id'] );

		$answer = Client::from_settings()->get( '/api/v1/shops/' . rawurlencode( (string) $settings['shop'] ) . '/health' );
		$body   = $answer->body ?? array();
		$remote = array(
			'reachable'        => ! $answer->unreachable(),
			'ok'               => $answer->ok() && array() !== $body,
			'status'           => $answer->status,
			'error'            => $answer->ok() ? '' : self::error_text( $answer ),
			'provider'         => isset( $body['provider'] ) && is_scalar( $body['provider'] ) ? (string) $body['provider'] : '',
			'deliveries'       => self::counters( $body['deliveries'] ?? null ),
			'writebacks'       => self::counters( $body['writebacks'] ?? null ),
			'rest_credentials' => isset( $body['rest_credentials'] ) ? (bool) $body['rest_credentials'] : null,
		);
		$health['remote'] = $remote;
		return $health;
	}

	/** `{"last_at", "last_status", "pending", "dead"}` from invoicekit, as plain values. */
	private static function counters( $part ): array {
		$part = is_array( $part ) ? $part : array();
		return array(
			'last_at'     => isset( $part['last_at'] ) && is_scalar( $part['last_at'] ) ? (string) $part['last_at'] : '',
			'last_status' => isset( $part['last_status'] ) && is_scalar( $part['last_status'] ) ? (string) $part['last_status'] : '',
			'pending'     => absint( $part['pending'] ?? 0 ),
			'dead'        => absint( $part['dead'] ?? 0 ),
		);
	}

	// -- WooCommerce: REST key and webhooks -------------------------------------------------

	/**
	 * A read/write REST key for the current user, made as WooCommerce makes one
	 * (WC_Auth::create_keys): the consumer key stored hashed, the secret as it is.
	 *
	 * @return array{key_id: int, consumer_key: string, consumer_secret: string}|null
	 */
	private static function create_rest_key( int $user_id ): ?array {
		global $wpdb;
		$consumer_key    = 'ck_' . wc_rand_hash();
		$consumer_secret = 'cs_' . wc_rand_hash();
		$inserted        = $wpdb->insert(
			$wpdb->prefix . 'woocommerce_api_keys',
			array(
				'user_id'         => $user_id,
				'description'     => self::KEY_DESCRIPTION,
				'permissions'     => 'read_write',
				'consumer_key'    => wc_api_hash( $consumer_key ),
				'consumer_secret' => $consumer_secret,
				'truncated_key'   => substr( $consumer_key, -7 ),
			),
			array( '%d', '%s', '%s', '%s', '%s', '%s' )
		);
		if ( ! $inserted || (int) $wpdb->insert_id <= 0 ) {
			return null;
		}
		return array(
			'key_id'          => (int) $wpdb->insert_id,
			'consumer_key'    => $consumer_key,
			'consumer_secret' => $consumer_secret,
		);
	}

	/** Remove the REST key (as WC_Admin_API_Keys::remove_key does). */
	private static function delete_rest_key( int $key_id ): void {
		global $wpdb;
		if ( $key_id > 0 ) {
			$wpdb->delete( $wpdb->prefix . 'woocommerce_api_keys', array( 'key_id' => $key_id ), array( '%d' ) );
		}
	}

	/** Whether the REST key is still there (an admin may have revoked it). */
	private static function rest_key_exists( int $key_id ): bool {
		global $wpdb;
		if ( $key_id <= 0 ) {
			return false;
		}
		$row = $wpdb->get_row(
			$wpdb->prepare( "SELECT key_id FROM {$wpdb->prefix}woocommerce_api_keys WHERE key_id = %d", $key_id )
		);
		return null !== $row;
	}

	/** An active webhook; its id, or 0 when WooCommerce did not save it. */
	private static function create_webhook( string $name, string $topic, string $delivery_url, string $secret, int $user_id ): int {
		$webhook = new \WC_Webhook();
		$webhook->set_name( $name );
		$webhook->set_user_id( $user_id );
		$webhook->set_topic( $topic );
		$webhook->set_delivery_url( $delivery_url );
		$webhook->set_secret( $secret );
		$webhook->set_api_version( self::WEBHOOK_API_VERSION );
		$webhook->set_status( 'active' );
		if ( $topic !== $webhook->get_topic() ) {
			return 0;
		}
		return (int) $webhook->save();
	}

	/** Remove a webhook, if it is still there. */
	private static function delete_webhook( int $id ): void {
		$webhook = $id > 0 ? wc_get_webhook( $id ) : null;
		if ( $webhook ) {
			$webhook->delete( true );
		}
	}

	/** After a failed connect: ask invoicekit to undo it (best effort, with the new API key). */
	private static function forget_remote( string $base, array $answer ): void {
		$shop    = isset( $answer['shop'] ) && is_scalar( $answer['shop'] ) ? (string) $answer['shop'] : '';
		$api_key = isset( $answer['api_key'] ) && is_scalar( $answer['api_key'] ) ? (string) $answer['api_key'] : '';
		if ( '' !== $shop && '' !== $api_key ) {
			( new Client( $base, $api_key, self::TIMEOUT ) )->delete( '/api/v1/shops/' . rawurlencode( $shop ) . '/connection' );
		}
	}

	/** A failure. */
	private static function failed( string $cause, string $message ): Connection_Result {
		return new Connection_Result( false, $cause, $message );
	}
}
