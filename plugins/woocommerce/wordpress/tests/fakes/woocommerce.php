<?php
/**
 * A fake of the WooCommerce classes and functions the plugin uses: the gateway base class,
 * orders with meta, the cart and customer, notices. State lives in `Fake_WC`.
 */

/** The fake's state: orders by id, the cart, the customer, notices. */
final class Fake_WC {
	/** @var array<int, WC_Order> */
	public static array $orders = array();
	public static ?WC_Cart $cart = null;
	public static ?WC_Customer $customer = null;
	/** Notices added with wc_add_notice: list of [message, type]. */
	public static array $notices = array();
	public static string $currency = 'EUR';

	public static function reset(): void {
		self::$orders   = array();
		self::$cart     = new WC_Cart();
		self::$customer = new WC_Customer();
		self::$notices  = array();
		self::$currency = 'EUR';
		Fake_WooCommerce::$invoice_mails = array();
	}
}

/** `get_x()` and `set_x()` for every field in `$this->data`, as WooCommerce's objects have. */
trait Fake_Accessors {
	public function __call( string $name, array $args ) {
		if ( str_starts_with( $name, 'get_' ) ) {
			return $this->data[ substr( $name, 4 ) ] ?? '';
		}
		if ( str_starts_with( $name, 'set_' ) ) {
			$this->data[ substr( $name, 4 ) ] = $args[0];
			return null;
		}
		throw new BadMethodCallException( static::class . '::' . $name . ' is not faked' );
	}
}

/** The settings API part of WooCommerce's gateway base class. */
class WC_Settings_API {
	public $id = '';
	public $form_fields = array();
	public $settings = array();
	public $plugin_id = 'woocommerce_';

	public function init_settings(): void {
		$stored = get_option( $this->plugin_id . $this->id . '_settings', null );
		if ( ! is_array( $stored ) ) {
			$stored = array();
			foreach ( $this->form_fields as $key => $field ) {
				$stored[ $key ] = $field['default'] ?? '';
			}
		}
		$this->settings = $stored;
	}
	public function get_option( $key, $empty_value = null ) {
		if ( array() === $this->settings ) {
			$this->init_settings();
		}
		if ( ! isset( $this->settings[ $key ] ) ) {
			$this->settings[ $key ] = $this->form_fields[ $key ]['default'] ?? '';
		}
		return '' === $this->settings[ $key ] && null !== $empty_value ? $empty_value : $this->settings[ $key ];
	}
	public function update_option( $key, $value = '' ): bool {
		$this->settings[ $key ] = $value;
		return update_option( $this->plugin_id . $this->id . '_settings', $this->settings );
	}
	public function process_admin_options(): bool {
		return true;
	}
	public function get_form_fields(): array {
		return $this->form_fields;
	}
}

class WC_Payment_Gateway extends WC_Settings_API {
	public $title = '';
	public $description = '';
	public $method_title = '';
	public $method_description = '';
	public $enabled = 'yes';
	public $has_fields = false;
	public $supports = array( 'products' );
	public $icon = '';
	public $order_button_text = '';

	public function is_available() {
		return 'yes' === $this->enabled;
	}
	public function get_title() {
		return $this->title;
	}
	public function get_description() {
		return $this->description;
	}
	public function get_return_url( $order = null ) {
		return $order ? 'https://shop.example.com/checkout/order-received/' . $order->get_id() . '/' : 'https://shop.example.com/checkout/order-received/';
	}
	public function supports( $feature ) {
		return in_array( $feature, $this->supports, true );
	}
}

class WC_Order {
	private array $meta = array();
	private array $data;
	public array $notes = array();
	public bool $saved = false;

	public function __construct( array $data = array() ) {
		$this->data = array_merge(
			array(
				'id'                 => 1001,
				'order_number'       => '1001',
				'status'             => 'pending',
				'payment_method'     => 'invoicekit',
				'total'              => '119.00',
				'currency'           => 'EUR',
				'billing_company'    => 'Muster GmbH',
				'billing_first_name' => 'Erika',
				'billing_last_name'  => 'Muster',
				'billing_address_1'  => 'Hauptstraße 5',
				'billing_postcode'   => '10115',
				'billing_city'       => 'Berlin',
				'billing_country'    => 'DE',
				'billing_email'      => 'erika@example.com',
				'items'              => array(),
			),
			$data
		);
		Fake_WC::$orders[ $this->data['id'] ] = $this;
	}
	use Fake_Accessors;

	public function get_id() {
		return $this->data['id'];
	}
	public function get_order_number() {
		return $this->data['order_number'];
	}
	public function get_meta( $key = '', $single = true, $context = 'view' ) {
		return $this->meta[ $key ] ?? '';
	}
	public function update_meta_data( $key, $value, $meta_id = 0 ): void {
		$this->meta[ $key ] = $value;
	}
	public function add_meta_data( $key, $value, $unique = false ): void {
		if ( ! $unique || ! isset( $this->meta[ $key ] ) ) {
			$this->meta[ $key ] = $value;
		}
	}
	public function delete_meta_data( $key ): void {
		unset( $this->meta[ $key ] );
	}
	public function get_meta_data(): array {
		return $this->meta;
	}
	public function save_meta_data(): void {
		$this->saved = true;
	}
	public function save() {
		$this->saved = true;
		return $this->data['id'];
	}
	public function get_status( $context = 'view' ) {
		return $this->data['status'];
	}
	public function update_status( $status, $note = '', $manual = false ): bool {
		$this->data['status'] = $status;
		if ( '' !== $note ) {
			$this->notes[] = $note;
		}
		return true;
	}
	public function add_order_note( $note, $is_customer_note = 0, $added_by_user = false ): int {
		$this->notes[] = $note;
		return count( $this->notes );
	}
	public function get_items( $types = 'line_item' ): array {
		return $this->data['items'];
	}
	public function payment_complete( $transaction_id = '' ): bool {
		$this->data['status'] = 'processing';
		return true;
	}
}

/** A cart line as `WC_Cart::get_cart()` gives it (only what the plugin reads). */
class WC_Product {
	public function __construct( private string $sku = '', private int $id = 1 ) {}
	public function get_sku( $context = 'view' ) {
		return $this->sku;
	}
	public function get_id() {
		return $this->id;
	}
}

class WC_Cart {
	public array $items = array();
	public string $total = '0.00';
	public string $hash = '';

	/** Add a line of `$product` with quantity and line total (gross). */
	public function add( WC_Product $product, int $quantity = 1 ): void {
		$key                 = md5( $product->get_sku() . count( $this->items ) );
		$this->items[ $key ] = array(
			'key'        => $key,
			'data'       => $product,
			'product_id' => $product->get_id(),
			'quantity'   => $quantity,
		);
	}
	public function get_cart(): array {
		return $this->items;
	}
	public function get_total( $context = 'view' ) {
		return $this->total;
	}
	public function get_cart_hash(): string {
		return '' !== $this->hash ? $this->hash : md5( json_encode( array_keys( $this->items ) ) . $this->total );
	}
	public function is_empty(): bool {
		return array() === $this->items;
	}
}

class WC_Customer {
	public array $data = array(
		'billing_company'   => '',
		'billing_address_1' => '',
		'billing_postcode'  => '',
		'billing_city'      => '',
		'billing_country'   => 'DE',
		'billing_email'     => '',
	);
	public array $meta = array();

	use Fake_Accessors;

	public function get_meta( $key = '', $single = true, $context = 'view' ) {
		return $this->meta[ $key ] ?? '';
	}
	public function update_meta_data( $key, $value, $meta_id = 0 ): void {
		$this->meta[ $key ] = $value;
	}
}

/** The WooCommerce main object: `WC()->cart`, `WC()->customer`, `WC()->session`. */
final class Fake_WooCommerce {
	public $session = null;
	/** Orders the customer invoice e-mail was sent for (ids). */
	public static array $invoice_mails = array();
	public function mailer(): object {
		return new class() {
			public function customer_invoice( $order ): void {
				Fake_WooCommerce::$invoice_mails[] = $order->get_id();
			}
		};
	}
	public function __get( string $name ) {
		return match ( $name ) {
			'cart' => Fake_WC::$cart,
			'customer' => Fake_WC::$customer,
			default => null,
		};
	}
}

function WC() { // phpcs:ignore
	static $wc = null;
	return $wc ??= new Fake_WooCommerce();
}
function wc_get_order( $id ) {
	if ( $id instanceof WC_Order ) {
		return $id;
	}
	return Fake_WC::$orders[ (int) $id ] ?? false;
}
function wc_add_notice( string $message, string $type = 'success', array $data = array() ): void {
	Fake_WC::$notices[] = array( $message, $type );
}
function get_woocommerce_currency(): string {
	return Fake_WC::$currency;
}
function wc_get_price_decimals(): int {
	return 2;
}
function wc_price( $price, array $args = array() ): string {
	return number_format( (float) $price, 2, '.', ',' ) . ' ' . ( $args['currency'] ?? Fake_WC::$currency );
}
function wc_format_decimal( $number, $dp = false, $trim_zeros = false ): string {
	return false === $dp ? (string) $number : number_format( (float) $number, (int) $dp, '.', '' );
}
function wc_get_checkout_url(): string {
	return 'https://shop.example.com/checkout/';
}
function is_checkout(): bool {
	return true;
}
function wc_get_template( $template_name, $args = array(), $template_path = '', $default_path = '' ): void {
	extract( $args ); // phpcs:ignore
	include rtrim( $default_path, '/' ) . '/' . $template_name;
}
