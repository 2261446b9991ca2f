<?php
/**
 * The HTTP client of invoicekit's API.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/** One answer of invoicekit: HTTP status (0 when unreachable), decoded JSON body, error text. */
final class Response {

	public function __construct(
		public readonly int $status,
		public readonly ?array $body,
		public readonly ?string $error = null
	) {}

	/** invoicekit answered 2xx. */
	public function ok(): bool {
		return $this->status >= 200 && $this->status < 300;
	}

	/** invoicekit could not be asked: no answer, a 5xx, a 429 or an answer that is not JSON. */
	public function unreachable(): bool {
		return 0 === $this->status || 429 === $this->status || $this->status >= 500
			|| ( $this->ok() && null === $this->body );
	}
}

/** Calls invoicekit with the shop's API key; never throws, never logs the key. */
final class Client {

	public function __construct(
		private string $base_url,
		private string $api_key = '',
		private int $timeout = 3
	) {}

	/** The client of the stored connection. */
	public static function from_settings(): self {
		$settings = Settings::all();
		return new self( (string) $settings['url'], (string) $settings['api_key'], (int) $settings['timeout'] );
	}

	/** POST a JSON body to an API path such as `/api/v1/eligibility`. */
	public function post( string $path, array $body, ?int $timeout = null ): Response {
		return $this->request( 'POST', $path, $body, $timeout );
	}

	/** GET an API path. */
	public function get( string $path, ?int $timeout = null ): Response {
		return $this->request( 'GET', $path, null, $timeout );
	}

	/** DELETE an API path. */
	public function delete( string $path, ?int $timeout = null ): Response {
		return $this->request( 'DELETE', $path, null, $timeout );
	}

	/** Send one request; transport errors become status 0. */
	public function request( string $method, string $path, ?array $body = null, ?int $timeout = null ): Response {
		if ( '' === $this->base_url ) {
			return new Response( 0, null, 'not connected' );
		}
		$headers = array( 'Accept' => 'application/json' );
		if ( '' !== $this->api_key ) {
			$headers['Authorization'] = 'Bearer ' . $this->api_key;
		}
		$args = array(
			'method'      => $method,
			'timeout'     => $timeout ?? $this->timeout,
			'redirection' => 0,
			'headers'     => $headers,
		);
		if ( null !== $body ) {
			$args['headers']['Content-Type'] = 'application/json';
			$args['body']                    = wp_json_encode( $body );
		}
		$answer = wp_remote_request( rtrim( $this->base_url, '/' ) . $path, $args );
		if ( is_wp_error( $answer ) ) {
			return new Response( 0, null, $answer->get_error_message() );
		}
		$decoded = json_decode( (string) wp_remote_retrieve_body( $answer ), true );
		return new Response(
			(int) wp_remote_retrieve_response_code( $answer ),
			is_array( $decoded ) ? $decoded : null,
			is_array( $decoded ) && isset( $decoded['error'] ) && is_string( $decoded['error'] ) ? $decoded['error'] : null
		);
	}
}
