<?php
/**
 * Fakes for the payment block, the connection and the settings page: WooCommerce's webhooks
 * and REST keys (WC_Webhook, wc_get_webhook, wc_rand_hash, wc_api_hash, the
 * `woocommerce_api_keys` table behind `$wpdb`), a customer/admin e-mail, a few WordPress
 * helpers, and a tiny PO parser that loads languages/de_DE/admin.po into Fake_WP::$translations.
 *
 * The shared fakes (wordpress.php, woocommerce.php) and other parts' fakes load after this
 * file (alphabetical order) and may declare the same names without a guard, so everything
 * but `Fake_Admin` itself is declared late, by `Fake_Admin::reset()` (called in setUp), and
 * only when not declared already.
 */

/** The state of these fakes: webhooks by id, the `$wpdb` fake, what was deleted. */
final class Fake_Admin {
	/** @var array<int, array> Saved webhooks: id => props. */
	public static array $webhooks = array();
	/** Ids of the webhooks deleted, in order. */
	public static array $deleted_webhooks = array();
	public static int $next_webhook_id = 11;
	/** How many WC_Webhook::save() calls succeed before one fails (no id); -1: all succeed. */
	public static int $webhook_saves_left = -1;

	/** A fresh state (and the late declarations, once). */
	public static function reset(): void {
		invoicekit_fake_admin_declare();
		self::$webhooks           = array();
		self::$deleted_webhooks   = array();
		self::$next_webhook_id    = 11;
		self::$webhook_saves_left = -1;
		$GLOBALS['wpdb']          = new Fake_Admin_WPDB();
	}

	/** The rows of a table of the `$wpdb` fake, without the prefix: key_id => row. */
	public static function rows( string $table ): array {
		return $GLOBALS['wpdb']->tables[ $GLOBALS['wpdb']->prefix . $table ] ?? array();
	}

	/**
	 * Parse a gettext PO file: msgid => msgstr (msgid_plural => msgstr[1] too); entries
	 * without a translation and the header are left out.
	 */
	public static function parse_po( string $file ): array {
		$translations = array();
		$entry        = array();
		$field        = null;
		$flush        = static function () use ( &$entry, &$translations ): void {
			if ( isset( $entry['msgid'] ) && '' !== $entry['msgid'] ) {
				if ( isset( $entry['msgstr'] ) && '' !== $entry['msgstr'] ) {
					$translations[ $entry['msgid'] ] = $entry['msgstr'];
				}
				if ( isset( $entry['msgstr[0]'] ) && '' !== $entry['msgstr[0]'] ) {
					$translations[ $entry['msgid'] ] = $entry['msgstr[0]'];
				}
				if ( isset( $entry['msgid_plural'], $entry['msgstr[1]'] ) && '' !== $entry['msgstr[1]'] ) {
					$translations[ $entry['msgid_plural'] ] = $entry['msgstr[1]'];
				}
			}
			$entry = array();
		};
		foreach ( file( $file, FILE_IGNORE_NEW_LINES ) as $line ) {
			$line = trim( $line );
			if ( '' === $line ) {
				$flush();
				$field = null;
				continue;
			}
			if ( str_starts_with( $line, '#' ) ) {
				continue;
			}
			if ( preg_match( '/^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?)\s+(".*")$/', $line, $match ) ) {
				if ( 'msgid' === $match[1] && isset( $entry['msgid'] ) ) {
					$flush();
				}
				$field           = $match[1];
				$entry[ $field ] = self::unquote( $match[2] );
				continue;
			}
			if ( null !== $field && str_starts_with( $line, '"' ) ) {
				$entry[ $field ] .= self::unquote( $line );
				continue;
			}
			throw new RuntimeException( 'unreadable PO line: ' . $line );
		}
		$flush();
		return $translations;
	}

	/** A PO string literal's value. */
	private static function unquote( string $literal ): string {
		if ( ! preg_match( '/^"(.*)"$/', $literal, $match ) ) {
			throw new RuntimeException( 'not a PO string: ' . $literal );
		}
		return stripcslashes( $match[1] );
	}
}

/** Declare the fakes not declared yet (see the file comment). */
function invoicekit_fake_admin_declare(): void {
	if ( ! class_exists( 'Fake_Admin_WPDB', false ) ) {
		/** The `$wpdb` fake: tables of rows, insert/delete/prepare/get_row. */
		class Fake_Admin_WPDB {
			public string $prefix    = 'wp_';
			public int $insert_id    = 0;
			public string $last_error = '';
			/** @var array<string, array<int, array>> table => id => row */
			public array $tables = array();
			/** Make the next insert fail. */
			public bool $fail_insert = false;
			private int $next_id     = 7;
			/** Every query call: list of [method, table, ...]. */
			public array $log = array();

			private const KEYS = array( 'wp_woocommerce_api_keys' => 'key_id' );

			public function insert( $table, $data, $format = null ) {
				$this->log[] = array( 'insert', $table, $data, $format );
				if ( $this->fail_insert ) {
					$this->fail_insert = false;
					$this->insert_id   = 0;
					$this->last_error  = 'insert failed';
					return false;
				}
				$id                            = $this->next_id++;
				$key                           = self::KEYS[ $table ] ?? 'id';
				$this->tables[ $table ][ $id ] = array_merge( array( $key => $id ), $data );
				$this->insert_id               = $id;
				return 1;
			}

			public function delete( $table, $where, $where_format = null ) {
				$this->log[] = array( 'delete', $table, $where, $where_format );
				$deleted     = 0;
				foreach ( $this->tables[ $table ] ?? array() as $id => $row ) {
					if ( array_intersect_assoc( array_map( 'strval', $where ), array_map( 'strval', $row ) ) === array_map( 'strval', $where ) ) {
						unset( $this->tables[ $table ][ $id ] );
						++$deleted;
					}
				}
				return $deleted;
			}

			public function prepare( $query, ...$args ) {
				if ( isset( $args[0] ) && is_array( $args[0] ) ) {
					$args = $args[0];
				}
				$args = array_map(
					static fn( $arg ) => is_int( $arg ) ? $arg : "'" . addslashes( (string) $arg ) . "'",
					$args
				);
				return vsprintf( str_replace( array( '%d', '%s' ), '%s', $query ), $args );
			}

			/** Understands `SELECT … FROM <table> WHERE <column> = <value>`. */
			public function get_row( $query = null, $output = 'OBJECT', $y = 0 ) {
				$this->log[] = array( 'get_row', $query );
				if ( ! preg_match( "/FROM\s+`?(\w+)`?\s+WHERE\s+(\w+)\s*=\s*'?([^'\s]+)'?/i", (string) $query, $match ) ) {
					return null;
				}
				foreach ( $this->tables[ $match[1] ] ?? array() as $row ) {
					if ( (string) ( $row[ $match[2] ] ?? '' ) === $match[3] ) {
						return 'ARRAY_A' === $output ? $row : (object) $row;
					}
				}
				return null;
			}
		}
	}

	if ( ! class_exists( 'WC_Webhook', false ) ) {
		/** WooCommerce's webhook: props, save() into Fake_Admin::$webhooks, delete(). */
		class WC_Webhook {
			private int $id = 0;
			private array $props = array(
				'name'          => '',
				'status'        => 'disabled',
				'user_id'       => 0,
				'delivery_url'  => '',
				'secret'        => '',
				'topic'         => '',
				'api_version'   => '',
				'failure_count' => 0,
				'date_created'  => null,
			);

			public function __construct( $id = 0 ) {
				if ( $id && isset( Fake_Admin::$webhooks[ (int) $id ] ) ) {
					$this->id    = (int) $id;
					$this->props = Fake_Admin::$webhooks[ (int) $id ];
				}
			}
			public function __call( string $name, array $args ) {
				$prop = substr( $name, 4 );
				if ( str_starts_with( $name, 'set_' ) && array_key_exists( $prop, $this->props ) ) {
					$this->props[ $prop ] = $args[0];
					return null;
				}
				if ( str_starts_with( $name, 'get_' ) && array_key_exists( $prop, $this->props ) ) {
					return $this->props[ $prop ];
				}
				throw new BadMethodCallException( 'WC_Webhook::' . $name . ' is not faked' );
			}
			public function get_id() {
				return $this->id;
			}
			public function save() {
				if ( 0 === Fake_Admin::$webhook_saves_left ) {
					return 0;
				}
				if ( Fake_Admin::$webhook_saves_left > 0 ) {
					--Fake_Admin::$webhook_saves_left;
				}
				if ( 0 === $this->id ) {
					$this->id                    = Fake_Admin::$next_webhook_id++;
					$this->props['date_created'] = gmdate( 'c' );
				}
				Fake_Admin::$webhooks[ $this->id ] = $this->props;
				return $this->id;
			}
			public function delete( $force_delete = false ) {
				if ( 0 === $this->id || ! isset( Fake_Admin::$webhooks[ $this->id ] ) ) {
					return false;
				}
				unset( Fake_Admin::$webhooks[ $this->id ] );
				Fake_Admin::$deleted_webhooks[] = $this->id;
				$this->id                       = 0;
				return true;
			}
		}
	}

	if ( ! class_exists( 'Fake_Admin_Email', false ) ) {
		/** A WooCommerce e-mail as the e-mail hooks pass it: to the customer or not. */
		class Fake_Admin_Email {
			public function __construct( private bool $customer = true, public string $id = 'customer_invoice' ) {}
			public function is_customer_email() {
				return $this->customer;
			}
		}
	}

	if ( ! function_exists( 'wc_get_webhook' ) ) {
		function wc_get_webhook( $id ) {
			$webhook = new WC_Webhook( $id );
			return 0 !== $webhook->get_id() ? $webhook : null;
		}
	}
	if ( ! function_exists( 'wc_rand_hash' ) ) {
		function wc_rand_hash( $prefix = '', $max_length = null ) {
			return $prefix . bin2hex( random_bytes( 20 ) );
		}
	}
	if ( ! function_exists( 'wc_api_hash' ) ) {
		function wc_api_hash( $data ) {
			return hash_hmac( 'sha256', $data, 'wc-api' );
		}
	}
	if ( ! function_exists( 'wp_strip_all_tags' ) ) {
		function wp_strip_all_tags( $text, $remove_breaks = false ) {
			$text = strip_tags( preg_replace( '@<(script|style)[^>]*?>.*?</\\1>@si', '', (string) $text ) );
			return trim( $remove_breaks ? preg_replace( '/[\r\n\t ]+/', ' ', $text ) : $text );
		}
	}
	if ( ! function_exists( 'wp_parse_url' ) ) {
		function wp_parse_url( $url, $component = -1 ) {
			return parse_url( (string) $url, $component );
		}
	}
	if ( ! function_exists( 'add_submenu_page' ) ) {
		function add_submenu_page( $parent, $page_title, $menu_title, $capability, $slug, $callback = '', $position = null ) {
			Fake_WP::$notices[] = array( 'submenu', $parent, $slug, $capability );
			return 'woocommerce_page_' . $slug;
		}
	}
	if ( ! function_exists( 'get_current_screen' ) ) {
		function get_current_screen() {
			return null;
		}
	}
}
