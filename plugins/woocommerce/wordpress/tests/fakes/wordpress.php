<?php
/**
 * A fake of the WordPress functions the plugin uses. State lives in `Fake_WP` and is reset
 * by `Fake_WP::reset()` before each test (see `Invoicekit_TestCase`).
 */

/** The fake's state: options, transients, hooks, HTTP calls and scripted answers. */
final class Fake_WP {
	public static array $options    = array();
	public static array $transients = array();
	public static array $actions    = array();
	public static array $filters    = array();
	/** Every outgoing HTTP request: list of [url, args]. */
	public static array $requests = array();
	/** Scripted answers, taken in order: array{status:int, body:string} or WP_Error. */
	public static array $http_answers = array();
	public static string $locale      = 'en_US';
	/** Translations for the current test: English text => translated text. */
	public static array $translations = array();
	public static array $notices      = array();
	public static bool $is_admin      = false;
	public static array $capabilities = array( 'manage_woocommerce' => true );
	public static array $enqueued     = array();
	public static string $site_url    = 'https://shop.example.com';

	public static function reset(): void {
		self::$options      = array();
		self::$transients   = array();
		self::$actions      = array();
		self::$filters      = array();
		self::$requests     = array();
		self::$http_answers = array();
		self::$locale       = 'en_US';
		self::$translations = array();
		self::$notices      = array();
		self::$is_admin     = false;
		self::$capabilities = array( 'manage_woocommerce' => true );
		self::$enqueued     = array();
		self::$site_url     = 'https://shop.example.com';
	}

	/** Script the next HTTP answer: a status and a JSON body (array) or raw string. */
	public static function answer( int $status, $body = array() ): void {
		self::$http_answers[] = array(
			'status' => $status,
			'body'   => is_string( $body ) ? $body : json_encode( $body ),
		);
	}

	/** Script the next HTTP request to fail at the transport (timeout, refused). */
	public static function unreachable( string $message = 'cURL error 28: Operation timed out' ): void {
		self::$http_answers[] = new WP_Error( 'http_request_failed', $message );
	}
}

class WP_Error {
	private array $errors = array();
	private array $data   = array();
	public function __construct( string $code = '', string $message = '', $data = '' ) {
		if ( '' !== $code ) {
			$this->errors[ $code ][] = $message;
			$this->data[ $code ]     = $data;
		}
	}
	public function get_error_code() {
		return array_key_first( $this->errors ) ?? '';
	}
	public function get_error_data( string $code = '' ) {
		return $this->data[ '' === $code ? $this->get_error_code() : $code ] ?? null;
	}
	public function add( string $code, string $message, $data = '' ): void {
		$this->errors[ $code ][] = $message;
	}
	public function get_error_message( string $code = '' ): string {
		if ( '' === $code ) {
			$code = array_key_first( $this->errors ) ?? '';
		}
		return $this->errors[ $code ][0] ?? '';
	}
	public function get_error_messages(): array {
		return array_merge( array(), ...array_values( $this->errors ) );
	}
	public function get_error_codes(): array {
		return array_keys( $this->errors );
	}
	public function has_errors(): bool {
		return array() !== $this->errors;
	}
}

function is_wp_error( $thing ): bool {
	return $thing instanceof WP_Error;
}

// -- hooks ---------------------------------------------------------------------------------

function add_action( string $hook, $callback, int $priority = 10, int $args = 1 ): bool {
	Fake_WP::$actions[ $hook ][] = array( $callback, $args );
	return true;
}
function add_filter( string $hook, $callback, int $priority = 10, int $args = 1 ): bool {
	Fake_WP::$filters[ $hook ][] = array( $callback, $args );
	return true;
}
function do_action( string $hook, ...$values ): void {
	foreach ( Fake_WP::$actions[ $hook ] ?? array() as list( $callback, $count ) ) {
		$callback( ...array_slice( $values, 0, $count ) );
	}
}
function apply_filters( string $hook, $value, ...$more ) {
	foreach ( Fake_WP::$filters[ $hook ] ?? array() as list( $callback, $count ) ) {
		$value = $callback( ...array_slice( array_merge( array( $value ), $more ), 0, $count ) );
	}
	return $value;
}
function has_action( string $hook ): bool {
	return ! empty( Fake_WP::$actions[ $hook ] );
}
function has_filter( string $hook ): bool {
	return ! empty( Fake_WP::$filters[ $hook ] );
}

// -- options and transients ----------------------------------------------------------------

function get_option( string $name, $default = false ) {
	return Fake_WP::$options[ $name ] ?? $default;
}
function update_option( string $name, $value, $autoload = null ): bool {
	Fake_WP::$options[ $name ] = $value;
	return true;
}
function add_option( string $name, $value = '', $deprecated = '', $autoload = null ): bool {
	if ( array_key_exists( $name, Fake_WP::$options ) ) {
		return false;
	}
	Fake_WP::$options[ $name ] = $value;
	return true;
}
function delete_option( string $name ): bool {
	unset( Fake_WP::$options[ $name ] );
	return true;
}
function get_transient( string $name ) {
	return Fake_WP::$transients[ $name ] ?? false;
}
function set_transient( string $name, $value, int $expiration = 0 ): bool {
	Fake_WP::$transients[ $name ] = $value;
	return true;
}
function delete_transient( string $name ): bool {
	unset( Fake_WP::$transients[ $name ] );
	return true;
}

// -- HTTP ----------------------------------------------------------------------------------

function wp_remote_request( string $url, array $args = array() ) {
	Fake_WP::$requests[] = array( $url, $args );
	$answer              = array_shift( Fake_WP::$http_answers );
	if ( null === $answer ) {
		return new WP_Error( 'http_request_failed', 'no answer scripted for ' . $url );
	}
	if ( $answer instanceof WP_Error ) {
		return $answer;
	}
	return array(
		'response' => array( 'code' => $answer['status'] ),
		'body'     => $answer['body'],
	);
}
function wp_remote_post( string $url, array $args = array() ) {
	return wp_remote_request( $url, array_merge( $args, array( 'method' => 'POST' ) ) );
}
function wp_remote_get( string $url, array $args = array() ) {
	return wp_remote_request( $url, array_merge( $args, array( 'method' => 'GET' ) ) );
}
function wp_safe_remote_request( string $url, array $args = array() ) {
	return wp_remote_request( $url, $args );
}
function wp_remote_retrieve_body( $response ): string {
	return is_array( $response ) ? (string) ( $response['body'] ?? '' ) : '';
}
function wp_remote_retrieve_response_code( $response ) {
	return is_array( $response ) ? ( $response['response']['code'] ?? '' ) : '';
}
function wp_json_encode( $data, int $options = 0, int $depth = 512 ) {
	return json_encode( $data, $options, $depth );
}

// -- i18n and escaping ----------------------------------------------------------------------

function __( string $text, string $domain = 'default' ): string {
	return Fake_WP::$translations[ $text ] ?? $text;
}
function _e( string $text, string $domain = 'default' ): void {
	echo __( $text, $domain );
}
function _x( string $text, string $context, string $domain = 'default' ): string {
	return __( $text, $domain );
}
function _n( string $single, string $plural, int $number, string $domain = 'default' ): string {
	return __( 1 === $number ? $single : $plural, $domain );
}
function esc_html__( string $text, string $domain = 'default' ): string {
	return esc_html( __( $text, $domain ) );
}
function esc_html_e( string $text, string $domain = 'default' ): void {
	echo esc_html__( $text, $domain );
}
function esc_attr__( string $text, string $domain = 'default' ): string {
	return esc_attr( __( $text, $domain ) );
}
function esc_attr_e( string $text, string $domain = 'default' ): void {
	echo esc_attr__( $text, $domain );
}
function esc_html( $text ): string {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_attr( $text ): string {
	return htmlspecialchars( (string) $text, ENT_QUOTES, 'UTF-8' );
}
function esc_url( $url ): string {
	$url = (string) $url;
	return preg_match( '#^(https?://|/)#', $url ) ? htmlspecialchars( $url, ENT_QUOTES, 'UTF-8' ) : '';
}
function esc_url_raw( $url ): string {
	return preg_match( '#^https?://#', (string) $url ) ? (string) $url : '';
}
function esc_js( $text ): string {
	return addslashes( (string) $text );
}
function wp_kses_post( $text ): string {
	return (string) $text;
}
function sanitize_text_field( $text ): string {
	return trim( preg_replace( '/[\r\n\t ]+/', ' ', strip_tags( (string) $text ) ) );
}
function sanitize_key( $key ): string {
	return preg_replace( '/[^a-z0-9_\-]/', '', strtolower( (string) $key ) );
}
function wp_unslash( $value ) {
	return is_array( $value ) ? array_map( 'wp_unslash', $value ) : stripslashes( (string) $value );
}
function absint( $value ): int {
	return abs( (int) $value );
}
function determine_locale(): string {
	return Fake_WP::$locale;
}
function get_locale(): string {
	return Fake_WP::$locale;
}
function get_user_locale(): string {
	return Fake_WP::$locale;
}
function load_plugin_textdomain( string $domain, $deprecated = false, $path = false ): bool {
	return true;
}
function plugin_basename( string $file ): string {
	return basename( dirname( $file ) ) . '/' . basename( $file );
}
function plugins_url( string $path = '', string $plugin = '' ): string {
	return 'https://shop.example.com/wp-content/plugins/invoicekit-for-woocommerce/' . ltrim( $path, '/' );
}
function plugin_dir_path( string $file ): string {
	return dirname( $file ) . '/';
}

// -- site, users, admin --------------------------------------------------------------------

function home_url( string $path = '' ): string {
	return Fake_WP::$site_url . $path;
}
function site_url( string $path = '' ): string {
	return Fake_WP::$site_url . $path;
}
function get_bloginfo( string $show = '' ): string {
	return 'name' === $show ? 'Example Shop' : '';
}
function admin_url( string $path = '' ): string {
	return Fake_WP::$site_url . '/wp-admin/' . $path;
}
function add_query_arg( ...$args ): string {
	if ( is_array( $args[0] ) ) {
		$url = $args[1] ?? '';
		return $url . ( str_contains( $url, '?' ) ? '&' : '?' ) . http_build_query( $args[0] );
	}
	$url = $args[2] ?? '';
	return $url . ( str_contains( $url, '?' ) ? '&' : '?' ) . http_build_query( array( $args[0] => $args[1] ) );
}
function is_admin(): bool {
	return Fake_WP::$is_admin;
}
function current_user_can( string $capability ): bool {
	return Fake_WP::$capabilities[ $capability ] ?? false;
}
function get_current_user_id(): int {
	return 1;
}
function wp_create_nonce( $action = -1 ): string {
	return 'nonce-' . $action;
}
function wp_verify_nonce( $nonce, $action = -1 ) {
	return 'nonce-' . $action === $nonce ? 1 : false;
}
function check_admin_referer( $action = -1, $query_arg = '_wpnonce' ) {
	$nonce = $_REQUEST[ $query_arg ] ?? '';
	if ( ! wp_verify_nonce( $nonce, $action ) ) {
		throw new RuntimeException( 'nonce check failed' );
	}
	return 1;
}
function wp_nonce_field( $action = -1, $name = '_wpnonce', $referer = true, $display = true ): string {
	$field = '<input type="hidden" name="' . esc_attr( $name ) . '" value="' . esc_attr( wp_create_nonce( $action ) ) . '" />';
	if ( $display ) {
		echo $field;
	}
	return $field;
}
function wp_die( $message = '', $title = '', $args = array() ): void {
	throw new RuntimeException( is_string( $message ) ? $message : 'wp_die' );
}
function wp_safe_redirect( string $location, int $status = 302 ): bool {
	Fake_WP::$notices[] = array( 'redirect', $location );
	return true;
}
function wp_enqueue_script( string $handle, ...$rest ): void {
	Fake_WP::$enqueued[] = $handle;
}
function wp_register_script( string $handle, ...$rest ): bool {
	return true;
}
function wp_enqueue_style( string $handle, ...$rest ): void {
	Fake_WP::$enqueued[] = $handle;
}
function wp_set_script_translations( ...$args ): bool {
	return true;
}
function wp_date( string $format, ?int $timestamp = null ): string {
	return gmdate( $format, $timestamp ?? time() );
}
function date_i18n( string $format, $timestamp = false ): string {
	return gmdate( $format, $timestamp ? (int) $timestamp : time() );
}
function wp_generate_password( int $length = 12, bool $special = true, bool $extra = false ): string {
	return substr( bin2hex( random_bytes( $length ) ), 0, $length );
}
function wp_hash( string $data ): string {
	return hash_hmac( 'md5', $data, 'fake-salt' );
}
