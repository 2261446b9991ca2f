<?php
/**
 * Fakes for the checkout tests (gateway, eligibility, checkout fields, blocks): what the shared
 * fakes do not have. Each one only when nothing else defined it.
 */

// phpcs:disable Generic.Files.OneObjectStructurePerFile

namespace Automattic\WooCommerce\Blocks\Payments\Integrations {
	if ( ! class_exists( AbstractPaymentMethodType::class, false ) ) {
		/** The blocks' payment method base class, as far as the plugin uses it. */
		abstract class AbstractPaymentMethodType {
			/** @var string */
			protected $name = '';
			/** @var array */
			protected $settings = array();

			abstract public function initialize();

			protected function get_setting( $name, $default = '' ) {
				return $this->settings[ $name ] ?? $default;
			}
			public function get_name() {
				return $this->name;
			}
			public function is_active() {
				return true;
			}
			public function get_payment_method_script_handles() {
				return array();
			}
			public function get_supported_features() {
				return array( 'products' );
			}
			public function get_payment_method_data() {
				return array();
			}
		}
	}
}

namespace {

	// The shared fakes first (this file's name sorts before theirs): WC_Cart is extended below.
	require_once __DIR__ . '/wordpress.php';
	require_once __DIR__ . '/woocommerce.php';

	/** State of these fakes; `Fake_Checkout::reset()` in the tests' setUp. */
	final class Fake_Checkout {
		/** Orders whose stock was reduced (ids). */
		public static array $stock_reduced = array();
		/** Log lines: list of [level, message, context]. */
		public static array $logs = array();
		/** Fields registered with woocommerce_register_additional_checkout_field. */
		public static array $block_fields = array();
		/** REST routes registered: "namespace/route" => args. */
		public static array $routes = array();
		/** Data given to scripts with wp_localize_script: handle => [name => data]. */
		public static array $localized = array();

		public static function reset(): void {
			self::$stock_reduced = array();
			self::$logs          = array();
			self::$block_fields  = array();
			self::$routes        = array();
			self::$localized     = array();
			WC()->session        = new Fake_Checkout_Session();
		}

		/**
		 * Read a gettext PO file into Fake_WP::$translations (msgid => msgstr; the header and
		 * untranslated entries left out). Returns the translations read.
		 */
		public static function load_po( string $file ): array {
			$entries = array();
			$current = array();
			$field   = null;
			$lines   = file( $file, FILE_IGNORE_NEW_LINES );
			if ( false === $lines ) {
				throw new RuntimeException( 'cannot read ' . $file );
			}
			$lines[] = '';
			foreach ( $lines as $line ) {
				$line = trim( $line );
				if ( '' === $line || str_starts_with( $line, '#' ) ) {
					if ( isset( $current['msgid'], $current['msgstr'] ) ) {
						$entries[] = $current;
					}
					$current = array();
					$field   = null;
					continue;
				}
				if ( preg_match( '/^(msgid|msgstr|msgctxt|msgid_plural|msgstr\[\d+\])\s+"(.*)"$/', $line, $m ) ) {
					$field             = $m[1];
					$current[ $field ] = self::unescape( $m[2] );
				} elseif ( null !== $field && preg_match( '/^"(.*)"$/', $line, $m ) ) {
					$current[ $field ] .= self::unescape( $m[1] );
				} else {
					throw new RuntimeException( 'not PO: ' . $line );
				}
			}
			$translations = array();
			foreach ( $entries as $entry ) {
				if ( '' !== $entry['msgid'] && '' !== $entry['msgstr'] ) {
					$translations[ $entry['msgid'] ] = $entry['msgstr'];
				}
			}
			Fake_WP::$translations = array_merge( Fake_WP::$translations, $translations );
			return $translations;
		}

		private static function unescape( string $text ): string {
			return stripcslashes( $text );
		}
	}

	/** A cart that can be emptied, with tax and line totals. */
	class Fake_Checkout_Cart extends WC_Cart {
		public bool $emptied     = false;
		public string $total_tax = '0.00';
		public int $calculations = 0;
		public function empty_cart( $clear_persistent_cart = true ): void {
			$this->emptied = true;
			$this->items   = array();
		}
		public function get_total_tax() {
			return $this->total_tax;
		}
		public function calculate_totals(): void {
			++$this->calculations;
		}
		/** Add a line with its totals as WC_Cart::calculate_totals() leaves them (net total, tax). */
		public function add_line( WC_Product $product, int $quantity, string $line_total, string $line_tax ): void {
			$this->add( $product, $quantity );
			$key                                = array_key_last( $this->items );
			$this->items[ $key ]['line_total'] = $line_total;
			$this->items[ $key ]['line_tax']   = $line_tax;
		}
	}

	/** A product with a name. */
	class Fake_Checkout_Product extends WC_Product {
		public function __construct( string $sku, private string $name ) {
			parent::__construct( $sku );
		}
		public function get_name( $context = 'view' ) {
			return $this->name;
		}
	}

	/** WooCommerce's session (`WC()->session`). */
	class Fake_Checkout_Session {
		public array $data = array();
		public function get( $key, $default = null ) {
			return $this->data[ $key ] ?? $default;
		}
		public function set( $key, $value ): void {
			$this->data[ $key ] = $value;
		}
		public function get_customer_id() {
			return 't_guest0123456789';
		}
	}

	if ( ! class_exists( 'WP_REST_Request' ) ) {
		/** A REST request: headers and a JSON body. */
		class WP_REST_Request {
			private array $headers = array();
			private string $body   = '';
			public function set_header( $name, $value ): void {
				$this->headers[ strtolower( $name ) ] = $value;
			}
			public function get_header( $name ) {
				return $this->headers[ strtolower( $name ) ] ?? null;
			}
			public function set_body( $body ): void {
				$this->body = (string) $body;
			}
			public function get_json_params() {
				return json_decode( $this->body, true );
			}
		}
	}
	if ( ! class_exists( 'WP_REST_Response' ) ) {
		/** A REST answer. */
		class WP_REST_Response {
			public function __construct( private $data = null, private int $status = 200 ) {}
			public function get_data() {
				return $this->data;
			}
			public function get_status(): int {
				return $this->status;
			}
		}
	}
	if ( ! function_exists( 'register_rest_route' ) ) {
		function register_rest_route( $route_namespace, $route, $args = array(), $override = false ) {
			Fake_Checkout::$routes[ $route_namespace . $route ] = $args;
			return true;
		}
	}
	if ( ! function_exists( 'rest_url' ) ) {
		function rest_url( $path = '', $scheme = 'rest' ) {
			return Fake_WP::$site_url . '/wp-json/' . ltrim( (string) $path, '/' );
		}
	}
	if ( ! function_exists( 'wp_localize_script' ) ) {
		function wp_localize_script( $handle, $object_name, $l10n ) {
			Fake_Checkout::$localized[ $handle ][ $object_name ] = $l10n;
			return true;
		}
	}

	/** An order's product line. */
	class Fake_Checkout_Item {
		public function __construct( private $product ) {}
		public function get_product() {
			return $this->product;
		}
	}

	/** The blocks' payment method registry. */
	class Fake_Checkout_Registry {
		public array $registered = array();
		public function register( $integration ): void {
			$this->registered[] = $integration;
		}
	}

	/** WooCommerce's logger. */
	class Fake_Checkout_Logger {
		public function log( $level, $message, $context = array() ): void {
			Fake_Checkout::$logs[] = array( $level, $message, $context );
		}
	}

	if ( ! function_exists( 'wc_get_logger' ) ) {
		function wc_get_logger() {
			return new Fake_Checkout_Logger();
		}
	}
	if ( ! function_exists( 'wc_reduce_stock_levels' ) ) {
		function wc_reduce_stock_levels( $order_id ) {
			Fake_Checkout::$stock_reduced[] = $order_id instanceof WC_Order ? $order_id->get_id() : (int) $order_id;
		}
	}
	if ( ! function_exists( 'wp_strip_all_tags' ) ) {
		function wp_strip_all_tags( $text, $remove_breaks = false ) {
			return trim( strip_tags( (string) $text ) );
		}
	}
	if ( ! function_exists( 'woocommerce_register_additional_checkout_field' ) ) {
		function woocommerce_register_additional_checkout_field( $options ) {
			Fake_Checkout::$block_fields[ $options['id'] ] = $options;
		}
	}
}
