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

		public static function reset(): void {
			self::$stock_reduced = array();
			self::$logs          = array();
			self::$block_fields  = array();
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

	/** A cart that can be emptied. */
	class Fake_Checkout_Cart extends WC_Cart {
		public bool $emptied = false;
		public function empty_cart( $clear_persistent_cart = true ): void {
			$this->emptied = true;
			$this->items   = array();
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
