<?php
/**
 * The admin page WooCommerce > invoicekit: connect with a code, see the connection's
 * health, disconnect.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * The page and its two admin-post actions (connect, disconnect). Every action checks the
 * `manage_woocommerce` capability and a nonce, then redirects back to the page with a notice
 * (post/redirect/get); the notice waits in a per-user transient for the next page view.
 */
final class Settings_Page {

	public const SLUG              = 'invoicekit';
	public const CAPABILITY        = 'manage_woocommerce';
	public const CONNECT_ACTION    = 'invoicekit_connect';
	public const DISCONNECT_ACTION = 'invoicekit_disconnect';

	private const NOTICE = 'invoicekit_notice_';

	/** The menu entry, the actions, the links from the plugins list and the gateway. */
	public static function register(): void {
		add_action( 'admin_menu', array( self::class, 'add_menu' ), 60 );
		add_action( 'admin_post_' . self::CONNECT_ACTION, array( self::class, 'on_connect' ) );
		add_action( 'admin_post_' . self::DISCONNECT_ACTION, array( self::class, 'on_disconnect' ) );
		add_filter( 'plugin_action_links_' . plugin_basename( INVOICEKIT_WC_FILE ), array( self::class, 'action_links' ) );
		add_filter( 'woocommerce_gateway_method_description', array( self::class, 'gateway_description' ), 10, 2 );
	}

	/** The page's address. */
	public static function url(): string {
		return admin_url( 'admin.php?page=' . self::SLUG );
	}

	/** WooCommerce > invoicekit. */
	public static function add_menu(): void {
		add_submenu_page(
			'woocommerce',
			__( 'invoicekit connection', 'invoicekit-for-woocommerce' ),
			__( 'invoicekit', 'invoicekit-for-woocommerce' ),
			self::CAPABILITY,
			self::SLUG,
			array( self::class, 'render' )
		);
	}

	/** Plugins list: "Connection" and "Payment method settings" next to Deactivate. */
	public static function action_links( $links ): array {
		$ours = array(
			'<a href="' . esc_url( self::url() ) . '">' . esc_html__( 'Connection', 'invoicekit-for-woocommerce' ) . '</a>',
			'<a href="' . esc_url( admin_url( 'admin.php?page=wc-settings&tab=checkout&section=' . Payment_Block::GATEWAY_ID ) ) . '">' . esc_html__( 'Payment method settings', 'invoicekit-for-woocommerce' ) . '</a>',
		);
		return array_merge( $ours, is_array( $links ) ? $links : array() );
	}

	/**
	 * The gateway's settings section (wc-settings&tab=checkout&section=invoicekit): a line on
	 * the connection, with a link to this page. Elsewhere (the payments list, the REST API) the
	 * description stays as it is.
	 */
	public static function gateway_description( $description, $gateway = null ) {
		// phpcs:disable WordPress.Security.NonceVerification.Recommended -- only decides what to display.
		$section = isset( $_GET['page'], $_GET['section'] ) && 'wc-settings' === sanitize_key( wp_unslash( $_GET['page'] ) )
			? sanitize_key( wp_unslash( $_GET['section'] ) ) : '';
		// phpcs:enable
		if ( ! is_admin() || Payment_Block::GATEWAY_ID !== $section || ! is_object( $gateway ) || Payment_Block::GATEWAY_ID !== ( $gateway->id ?? '' ) ) {
			return $description;
		}
		$line = Settings::connected()
			/* translators: %s: the shop's name at invoicekit */
			? sprintf( esc_html__( 'Connected to invoicekit as shop %s.', 'invoicekit-for-woocommerce' ), esc_html( (string) Settings::get( 'shop' ) ) )
			: esc_html__( 'Not connected to invoicekit yet.', 'invoicekit-for-woocommerce' );
		return $description . "\n\n" . $line . ' <a href="' . esc_url( self::url() ) . '">' . esc_html__( 'Manage the connection', 'invoicekit-for-woocommerce' ) . '</a>';
	}

	// -- actions ----------------------------------------------------------------------------

	/** admin-post.php?action=invoicekit_connect. */
	public static function on_connect(): void {
		wp_safe_redirect( self::handle_connect() );
		exit;
	}

	/** admin-post.php?action=invoicekit_disconnect. */
	public static function on_disconnect(): void {
		wp_safe_redirect( self::handle_disconnect() );
		exit;
	}

	/** Connect with the posted URL and code; the address to redirect to. */
	public static function handle_connect(): string {
		self::check( self::CONNECT_ACTION );
		// phpcs:disable WordPress.Security.NonceVerification.Missing -- checked in check().
		$url  = isset( $_POST['invoicekit_url'] ) ? sanitize_text_field( wp_unslash( $_POST['invoicekit_url'] ) ) : '';
		$code = isset( $_POST['invoicekit_code'] ) ? sanitize_text_field( wp_unslash( $_POST['invoicekit_code'] ) ) : '';
		// phpcs:enable
		$result = Connection::connect( $url, $code );
		unset( $code );
		self::remember_notice( $result, $result->ok ? '' : $url );
		return self::url();
	}

	/** Disconnect; the address to redirect to. */
	public static function handle_disconnect(): string {
		self::check( self::DISCONNECT_ACTION );
		self::remember_notice( Connection::disconnect() );
		return self::url();
	}

	/** Only a shop manager, only with the page's nonce. */
	private static function check( string $action ): void {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to manage the invoicekit connection.', 'invoicekit-for-woocommerce' ), '', array( 'response' => 403 ) );
		}
		check_admin_referer( $action );
	}

	/** Keep the outcome (and the URL typed, after a failure) for the next page view. */
	private static function remember_notice( Connection_Result $result, string $url = '' ): void {
		set_transient(
			self::NOTICE . get_current_user_id(),
			array(
				'type'    => $result->ok ? ( 'disconnected_locally' === $result->cause ? 'warning' : 'success' ) : 'error',
				'message' => $result->message,
				'url'     => $url,
			),
			300
		);
	}

	// -- the page ---------------------------------------------------------------------------

	/** The page: the notice, then the connect form or the connection and its health. */
	public static function render(): void {
		if ( ! current_user_can( self::CAPABILITY ) ) {
			wp_die( esc_html__( 'You are not allowed to manage the invoicekit connection.', 'invoicekit-for-woocommerce' ), '', array( 'response' => 403 ) );
		}
		$notice = get_transient( self::NOTICE . get_current_user_id() );
		delete_transient( self::NOTICE . get_current_user_id() );
		$notice = is_array( $notice ) ? $notice : array();

		echo '<div class="wrap invoicekit-settings">';
		echo '<h1>' . esc_html__( 'invoicekit connection', 'invoicekit-for-woocommerce' ) . '</h1>';
		if ( isset( $notice['message'] ) ) {
			$type = in_array( $notice['type'] ?? '', array( 'success', 'warning', 'error' ), true ) ? $notice['type'] : 'info';
			echo '<div class="notice notice-' . esc_attr( $type ) . '"><p>' . esc_html( (string) $notice['message'] ) . '</p></div>';
		}
		if ( 'https' !== wp_parse_url( home_url(), PHP_URL_SCHEME ) ) {
			echo '<div class="notice notice-warning"><p>' . esc_html__( 'This shop is not served over https. WooCommerce accepts REST API keys only over https, so invoicekit will not be able to read refunds or write the payment details back onto orders.', 'invoicekit-for-woocommerce' ) . '</p></div>';
		}
		if ( Settings::connected() ) {
			self::render_connected( Connection::health() );
		} else {
			self::render_connect_form( (string) ( $notice['url'] ?? '' ) );
		}
		echo '</div>';
	}

	/** The connect form. */
	private static function render_connect_form( string $url ): void {
		echo '<p>' . esc_html__( 'Connect this shop to invoicekit to offer purchase on account: invoicekit then receives new orders, decides on the invoice payment and writes the payment details back onto each order.', 'invoicekit-for-woocommerce' ) . '</p>';
		echo '<h2>' . esc_html__( 'Where the connection code comes from', 'invoicekit-for-woocommerce' ) . '</h2>';
		echo '<p>' . esc_html__( 'Ask your invoicekit operator for a connection code, or, if you run invoicekit yourself, make one with:', 'invoicekit-for-woocommerce' ) . '</p>';
		echo '<p><code>invoicekit shops connect-code --merchant &lt;id&gt;</code></p>';
		echo '<p>' . esc_html__( 'A code looks like 7Q4M-XP2D-9HRT-KM3W. It works once, for 30 minutes unless it was made for longer.', 'invoicekit-for-woocommerce' ) . '</p>';
		echo '<p>' . esc_html__( 'Connecting creates a WooCommerce REST API key (read/write, named "invoicekit") that invoicekit uses to read refunds and write the payment details back, and two webhooks that send new and changed orders to invoicekit. Disconnecting removes them again.', 'invoicekit-for-woocommerce' ) . '</p>';

		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '">';
		echo '<input type="hidden" name="action" value="' . esc_attr( self::CONNECT_ACTION ) . '" />';
		wp_nonce_field( self::CONNECT_ACTION );
		echo '<table class="form-table" role="presentation"><tbody>';
		echo '<tr><th scope="row"><label for="invoicekit_url">' . esc_html__( 'invoicekit URL', 'invoicekit-for-woocommerce' ) . '</label></th><td>';
		echo '<input type="text" inputmode="url" class="regular-text code" id="invoicekit_url" name="invoicekit_url" value="' . esc_attr( $url ) . '" placeholder="https://invoicekit.example.com" required autocomplete="url" />';
		echo '<p class="description">' . esc_html__( 'The address of your invoicekit, starting with https://. http:// is accepted only for localhost and 127.0.0.1, for testing.', 'invoicekit-for-woocommerce' ) . '</p>';
		echo '</td></tr>';
		echo '<tr><th scope="row"><label for="invoicekit_code">' . esc_html__( 'Connection code', 'invoicekit-for-woocommerce' ) . '</label></th><td>';
		echo '<input type="text" class="regular-text code" id="invoicekit_code" name="invoicekit_code" value="" placeholder="XXXX-XXXX-XXXX-XXXX" required autocomplete="off" spellcheck="false" />';
		echo '<p class="description">' . esc_html__( 'Upper or lower case, with or without dashes and spaces.', 'invoicekit-for-woocommerce' ) . '</p>';
		echo '</td></tr>';
		echo '</tbody></table>';
		echo '<p class="submit"><button type="submit" class="button button-primary">' . esc_html__( 'Connect', 'invoicekit-for-woocommerce' ) . '</button></p>';
		echo '</form>';
	}

	/** The connection, its health and the disconnect button. */
	private static function render_connected( array $health ): void {
		echo '<h2>' . esc_html__( 'Connection', 'invoicekit-for-woocommerce' ) . '</h2>';
		echo '<table class="form-table" role="presentation"><tbody>';
		self::row( __( 'Shop', 'invoicekit-for-woocommerce' ), esc_html( $health['shop'] ) );
		self::row( __( 'Merchant', 'invoicekit-for-woocommerce' ), esc_html( (string) $health['merchant_id'] ) );
		self::row( __( 'invoicekit URL', 'invoicekit-for-woocommerce' ), '<code>' . esc_html( $health['url'] ) . '</code>' );
		self::row( __( 'Connected since', 'invoicekit-for-woocommerce' ), esc_html( self::when( $health['connected_at'] ) ) );
		echo '</tbody></table>';

		echo '<h2>' . esc_html__( 'Health', 'invoicekit-for-woocommerce' ) . '</h2>';
		echo '<table class="form-table" role="presentation"><tbody>';
		$webhooks = array();
		foreach ( $health['webhooks'] as $webhook ) {
			$webhooks[] = esc_html( '' !== $webhook['topic'] ? $webhook['topic'] : '#' . $webhook['id'] ) . ': ' . self::status( self::webhook_status( $webhook['status'] ), 'active' === $webhook['status'] );
		}
		$advice = $health['webhooks_active'] ? '' : '<p class="description">' . esc_html__( 'invoicekit learns of new and changed orders only through active webhooks. Re-activate them under WooCommerce > Settings > Advanced > Webhooks, or disconnect and connect again.', 'invoicekit-for-woocommerce' ) . '</p>';
		self::row( __( 'Webhooks', 'invoicekit-for-woocommerce' ), implode( '<br />', $webhooks ) . $advice );
		self::row(
			__( 'REST API key', 'invoicekit-for-woocommerce' ),
			$health['rest_key']
				? self::status( __( 'present (read/write)', 'invoicekit-for-woocommerce' ), true )
				: self::status( __( 'missing: it was revoked in WooCommerce. Disconnect and connect again.', 'invoicekit-for-woocommerce' ), false )
		);

		$remote = $health['remote'];
		if ( ! is_array( $remote ) || ! $remote['ok'] ) {
			$error = is_array( $remote ) ? $remote['error'] : '';
			if ( is_array( $remote ) && 401 === $remote['status'] ) {
				$text = __( 'invoicekit refused the plugin\'s API key: the connection was removed at invoicekit. Disconnect and connect again with a new code.', 'invoicekit-for-woocommerce' );
			} elseif ( is_array( $remote ) && 404 === $remote['status'] ) {
				$text = __( 'invoicekit does not know this shop (any more). Disconnect and connect again with a new code.', 'invoicekit-for-woocommerce' );
			} else {
				/* translators: %s: the error, e.g. "HTTP 503" or "cURL error 28: Operation timed out" */
				$text = sprintf( __( 'invoicekit could not be reached (%s).', 'invoicekit-for-woocommerce' ), $error );
			}
			self::row( __( 'invoicekit', 'invoicekit-for-woocommerce' ), self::status( $text, false ) );
		} else {
			self::row( __( 'invoicekit', 'invoicekit-for-woocommerce' ), self::status( __( 'reachable', 'invoicekit-for-woocommerce' ), true ) . ( '' !== $remote['provider'] ? ' — ' . esc_html( $remote['provider'] ) : '' ) );
			self::row( __( 'Last delivery of an order', 'invoicekit-for-woocommerce' ), self::last( $remote['deliveries'] ) );
			self::row( __( 'Deliveries waiting / dead', 'invoicekit-for-woocommerce' ), self::counts( $remote['deliveries'] ) );
			self::row( __( 'Last write-back', 'invoicekit-for-woocommerce' ), self::last( $remote['writebacks'] ) );
			self::row( __( 'Write-backs waiting / dead', 'invoicekit-for-woocommerce' ), self::counts( $remote['writebacks'] ) );
			self::row(
				__( 'REST credentials at invoicekit', 'invoicekit-for-woocommerce' ),
				true === $remote['rest_credentials']
					? self::status( __( 'present', 'invoicekit-for-woocommerce' ), true )
					: self::status( __( 'missing: invoicekit cannot write the payment details back. Disconnect and connect again.', 'invoicekit-for-woocommerce' ), false )
			);
		}
		echo '</tbody></table>';

		echo '<h2>' . esc_html__( 'Disconnect', 'invoicekit-for-woocommerce' ) . '</h2>';
		echo '<p>' . esc_html__( 'Disconnecting removes the webhooks and the REST API key here and revokes the plugin\'s key at invoicekit. Orders already placed stay as they are; invoices issued stay due.', 'invoicekit-for-woocommerce' ) . '</p>';
		$confirm = __( 'Disconnect this shop from invoicekit? New orders will no longer reach invoicekit.', 'invoicekit-for-woocommerce' );
		echo '<form method="post" action="' . esc_url( admin_url( 'admin-post.php' ) ) . '" onsubmit="return window.confirm(\'' . esc_js( $confirm ) . '\');">';
		echo '<input type="hidden" name="action" value="' . esc_attr( self::DISCONNECT_ACTION ) . '" />';
		wp_nonce_field( self::DISCONNECT_ACTION );
		echo '<p class="submit"><button type="submit" class="button button-secondary">' . esc_html__( 'Disconnect', 'invoicekit-for-woocommerce' ) . '</button></p>';
		echo '</form>';
	}

	/** One row of a form table; `$html` is escaped already. */
	private static function row( string $label, string $html ): void {
		echo '<tr><th scope="row">' . esc_html( $label ) . '</th><td>' . $html . '</td></tr>'; // phpcs:ignore WordPress.Security.EscapeOutput.OutputNotEscaped -- built from escaped parts.
	}

	/** A status text, marked good or bad (escaped). */
	private static function status( string $text, bool $good ): string {
		return '<span class="invoicekit-status invoicekit-status--' . ( $good ? 'good' : 'bad' ) . '" style="color:' . ( $good ? '#008a20' : '#d63638' ) . ';">' . esc_html( $text ) . '</span>';
	}

	/** A webhook status in words. */
	private static function webhook_status( string $status ): string {
		switch ( $status ) {
			case 'active':
				return __( 'active', 'invoicekit-for-woocommerce' );
			case 'paused':
				return __( 'paused', 'invoicekit-for-woocommerce' );
			case 'disabled':
				return __( 'disabled by WooCommerce after repeated failed deliveries', 'invoicekit-for-woocommerce' );
			case 'missing':
				return __( 'missing: it was deleted', 'invoicekit-for-woocommerce' );
			default:
				return $status;
		}
	}

	/** "When, status" of the last delivery or write-back (escaped). */
	private static function last( array $part ): string {
		if ( '' === $part['last_at'] ) {
			return esc_html__( 'none yet', 'invoicekit-for-woocommerce' );
		}
		return esc_html( self::when( $part['last_at'] ) . ( '' !== $part['last_status'] ? ', ' . $part['last_status'] : '' ) );
	}

	/** "n waiting, n dead" (escaped), the dead ones marked. */
	private static function counts( array $part ): string {
		/* translators: %d: how many are waiting to be sent again */
		$pending = sprintf( _n( '%d waiting', '%d waiting', $part['pending'], 'invoicekit-for-woocommerce' ), $part['pending'] );
		/* translators: %d: how many failed for good */
		$dead = sprintf( _n( '%d dead', '%d dead', $part['dead'], 'invoicekit-for-woocommerce' ), $part['dead'] );
		return esc_html( $pending ) . ', ' . self::status( $dead, 0 === $part['dead'] );
	}

	/** An ISO time in the site's date and time format; '' as "—". */
	private static function when( string $iso ): string {
		$time = '' !== $iso ? strtotime( $iso ) : false;
		if ( false === $time ) {
			return '' !== $iso ? $iso : '—';
		}
		return wp_date( get_option( 'date_format', 'F j, Y' ) . ' ' . get_option( 'time_format', 'H:i' ), $time );
	}
}
