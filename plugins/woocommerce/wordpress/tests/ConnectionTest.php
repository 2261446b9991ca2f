<?php
/** Connect, disconnect, health, and the settings page's actions. */

use Invoicekit\WooCommerce\Connection;
use Invoicekit\WooCommerce\Settings;
use Invoicekit\WooCommerce\Settings_Page;

final class ConnectionTest extends Invoicekit_TestCase {

	private const URL  = 'https://invoicekit.example.com';
	private const CODE = '4XJ9-TB7P-QW3N-8RKD';

	protected function setUp(): void {
		parent::setUp();
		Fake_Admin::reset();
	}

	/** invoicekit's answer to a good connect. */
	private function answer_connected( string $shop = 'shop-example-com' ): void {
		Fake_WP::answer(
			201,
			array(
				'shop'           => $shop,
				'merchant_id'    => 3333,
				'platform'       => 'woocommerce',
				'delivery_url'   => 'https://kit.example.com/webhooks/woocommerce/' . $shop,
				'webhook_secret' => 'whsec-9c1f0e2a7b',
				'topics'         => array( 'order.created', 'order.updated' ),
				'api_key'        => 'ik_5b2e_newkey',
			)
		);
	}

	/** Nothing of a connection is left: no key row, no webhook, no stored connection. */
	private function assert_nothing_stored(): void {
		$this->assertSame( array(), Fake_Admin::rows( 'woocommerce_api_keys' ), 'a REST key row is left' );
		$this->assertSame( array(), Fake_Admin::$webhooks, 'a webhook is left' );
		$this->assertFalse( Settings::connected() );
		$settings = Settings::all();
		$this->assertSame( '', $settings['url'] );
		$this->assertSame( '', $settings['api_key'] );
		$this->assertSame( '', $settings['shop'] );
		$this->assertSame( array(), $settings['webhook_ids'] );
		$this->assertSame( 0, $settings['rest_key_id'] );
	}

	/** Everything the plugin stored: options, transients (the REST key table excepted). */
	private function stored_state(): string {
		return serialize( array( Fake_WP::$options, Fake_WP::$transients ) );
	}

	/** How many requests carried the code (in any spelling). */
	private function requests_with_code(): int {
		$count = 0;
		foreach ( Fake_WP::$requests as $request ) {
			if ( str_contains( (string) ( $request[1]['body'] ?? '' ), '4XJ9' ) ) {
				++$count;
			}
		}
		return $count;
	}

	// -- connect ----------------------------------------------------------------------------

	public function test_connect(): void {
		$this->answer_connected();

		$result = Connection::connect( self::URL . '/', "  4xj9 tb7p\tqw3n-8rkd " );

		$this->assertTrue( $result->ok, $result->message );
		$this->assertSame( 'connected', $result->cause );
		$this->assertStringContainsString( 'shop-example-com', $result->message );

		$this->assertCount( 1, Fake_WP::$requests );
		list( $url, $args ) = Fake_WP::$requests[0];
		$this->assertSame( 'https://invoicekit.example.com/api/v1/connect', $url );
		$this->assertSame( 'POST', $args['method'] );
		$this->assertArrayNotHasKey( 'Authorization', $args['headers'] );
		$body = $this->sent_body( 0 );
		$this->assertSame( self::CODE, $body['code'] );
		$this->assertSame( 'woocommerce', $body['platform'] );
		$this->assertSame( 'https://shop.example.com', $body['shop_url'] );
		$this->assertSame( 'Example Shop', $body['shop_name'] );
		$this->assertSame( 'invoicekit', $body['payment_method'] );
		$this->assertMatchesRegularExpression( '/^ck_[0-9a-f]{40}$/', $body['consumer_key'] );
		$this->assertMatchesRegularExpression( '/^cs_[0-9a-f]{40}$/', $body['consumer_secret'] );

		// The REST key, as WooCommerce stores one: the consumer key hashed, the secret as it is.
		$rows = Fake_Admin::rows( 'woocommerce_api_keys' );
		$this->assertCount( 1, $rows );
		$row = reset( $rows );
		$this->assertSame( 1, $row['user_id'] );
		$this->assertSame( 'invoicekit', $row['description'] );
		$this->assertSame( 'read_write', $row['permissions'] );
		$this->assertSame( hash_hmac( 'sha256', $body['consumer_key'], 'wc-api' ), $row['consumer_key'] );
		$this->assertSame( $body['consumer_secret'], $row['consumer_secret'] );
		$this->assertSame( substr( $body['consumer_key'], -7 ), $row['truncated_key'] );

		// Two active webhooks with invoicekit's delivery URL and secret.
		$this->assertCount( 2, Fake_Admin::$webhooks );
		$by_topic = array_column( Fake_Admin::$webhooks, null, 'topic' );
		$this->assertSame( array( 'order.created', 'order.updated' ), array_keys( $by_topic ) );
		$this->assertSame( 'invoicekit order created', $by_topic['order.created']['name'] );
		$this->assertSame( 'invoicekit order updated', $by_topic['order.updated']['name'] );
		foreach ( $by_topic as $webhook ) {
			$this->assertSame( 'active', $webhook['status'] );
			$this->assertSame( 'https://kit.example.com/webhooks/woocommerce/shop-example-com', $webhook['delivery_url'] );
			$this->assertSame( 'whsec-9c1f0e2a7b', $webhook['secret'] );
			$this->assertSame( 'wp_api_v3', $webhook['api_version'] );
			$this->assertSame( 1, $webhook['user_id'] );
		}

		// The connection stored.
		$settings = Settings::all();
		$this->assertTrue( Settings::connected() );
		$this->assertSame( self::URL, $settings['url'] );
		$this->assertSame( 'ik_5b2e_newkey', $settings['api_key'] );
		$this->assertSame( 'shop-example-com', $settings['shop'] );
		$this->assertSame( 3333, $settings['merchant_id'] );
		$this->assertSame( array_keys( Fake_Admin::$webhooks ), $settings['webhook_ids'] );
		$this->assertSame( $row['key_id'], $settings['rest_key_id'] );
		$this->assertNotFalse( strtotime( $settings['connected_at'] ) );

		// Neither the code nor the REST key nor the webhook secret is kept by the plugin.
		$this->assertSame( 1, $this->requests_with_code() );
		$stored = $this->stored_state();
		foreach ( array( '4XJ9', '4xj9', 'QW3N', $body['consumer_key'], $body['consumer_secret'], 'whsec-9c1f0e2a7b' ) as $secret ) {
			$this->assertStringNotContainsString( $secret, $stored );
		}
		$this->assertStringNotContainsString( '4XJ9', $result->message );
	}

	public function test_a_refused_code_leaves_nothing_and_a_fresh_code_connects(): void {
		Fake_WP::answer( 401, array( 'error' => 'the connection code is not valid: unknown, expired or already used' ) );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertFalse( $result->ok );
		$this->assertSame( 'code_refused', $result->cause );
		$this->assertStringContainsString( 'refused the connection code', $result->message );
		$this->assertStringNotContainsString( '4XJ9', $result->message );
		$this->assert_nothing_stored();
		$this->assertSame( 1, $this->requests_with_code(), 'the code was sent more than once' );
		$this->assertStringNotContainsString( '4XJ9', $this->stored_state() );

		$this->answer_connected();
		$again = Connection::connect( self::URL, '9ZZZ-XP2D-9HRT-KM3W' );

		$this->assertTrue( $again->ok, $again->message );
		$this->assertCount( 2, Fake_WP::$requests );
		$this->assertSame( '9ZZZ-XP2D-9HRT-KM3W', $this->sent_body( 1 )['code'] );
		$this->assertCount( 1, Fake_Admin::rows( 'woocommerce_api_keys' ) );
		$this->assertCount( 2, Fake_Admin::$webhooks );
	}

	public function test_an_unreachable_invoicekit_leaves_nothing(): void {
		Fake_WP::unreachable( 'cURL error 28: Operation timed out' );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertFalse( $result->ok );
		$this->assertSame( 'unreachable', $result->cause );
		$this->assertStringContainsString( 'could not be reached at https://invoicekit.example.com', $result->message );
		$this->assertStringContainsString( 'cURL error 28', $result->message );
		$this->assert_nothing_stored();
		$this->assertCount( 1, Fake_WP::$requests, 'connect must not retry: the code is used up by the first answer' );
		$this->assertStringNotContainsString( '4XJ9', $this->stored_state() );
	}

	public function test_a_server_error_leaves_nothing(): void {
		Fake_WP::answer( 503, '<html>down</html>' );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertSame( 'unreachable', $result->cause );
		$this->assertStringContainsString( 'HTTP 503', $result->message );
		$this->assert_nothing_stored();
		$this->assertCount( 1, Fake_WP::$requests );
	}

	public function test_invalid_input_names_the_field(): void {
		Fake_WP::answer( 422, array( 'error' => 'invalid input: shop_url', 'fields' => array( 'shop_url' => 'must be an https address <b>' ) ) );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertSame( 'invalid_input', $result->cause );
		$this->assertStringContainsString( 'shop_url: must be an https address', $result->message );
		$this->assertStringNotContainsString( '<b>', $result->message );
		$this->assert_nothing_stored();
	}

	public function test_a_shop_name_taken_since_the_code_was_made_says_so(): void {
		Fake_WP::answer( 409, array( 'error' => "the shop name 'acme' is taken by another connection: ask for a new connection code <b>" ) );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertFalse( $result->ok );
		$this->assertSame( 'shop_name_taken', $result->cause );
		$this->assertStringContainsString( "the shop name 'acme' is taken by another connection", $result->message );
		$this->assertStringContainsString( 'Ask for a new connection code', $result->message );
		$this->assertStringNotContainsString( '<b>', $result->message );
		$this->assertStringNotContainsString( '4XJ9', $result->message );
		$this->assert_nothing_stored();
	}

	public function test_not_an_invoicekit(): void {
		Fake_WP::answer( 404, '<html>not found</html>' );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertSame( 'not_invoicekit', $result->cause );
		$this->assert_nothing_stored();
	}

	public function test_an_incomplete_answer_leaves_nothing(): void {
		Fake_WP::answer( 201, array( 'shop' => 'shop-example-com', 'api_key' => 'ik_x', 'delivery_url' => 'https://kit.example.com/webhooks/woocommerce/shop-example-com' ) );
		Fake_WP::answer( 200, array( 'status' => 'disconnected' ) );

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertSame( 'bad_answer', $result->cause );
		$this->assert_nothing_stored();
		$this->assertSame( 'DELETE', Fake_WP::$requests[1][1]['method'] );
		$this->assertSame( 1, $this->requests_with_code() );
	}

	public function test_a_webhook_woocommerce_cannot_save_undoes_everything(): void {
		$this->answer_connected();
		Fake_WP::answer( 200, array( 'shop' => 'shop-example-com', 'status' => 'disconnected' ) );
		Fake_Admin::$webhook_saves_left = 1;

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertFalse( $result->ok );
		$this->assertSame( 'webhook', $result->cause );
		$this->assert_nothing_stored();
		$this->assertSame( array( 11 ), Fake_Admin::$deleted_webhooks );
		// invoicekit is asked to forget the connection it just made, with the new key.
		$this->assertCount( 2, Fake_WP::$requests );
		list( $url, $args ) = Fake_WP::$requests[1];
		$this->assertSame( 'https://invoicekit.example.com/api/v1/shops/shop-example-com/connection', $url );
		$this->assertSame( 'DELETE', $args['method'] );
		$this->assertSame( 'Bearer ik_5b2e_newkey', $args['headers']['Authorization'] );
		$this->assertSame( 1, $this->requests_with_code() );
	}

	public function test_a_rest_key_woocommerce_cannot_save_stops_before_invoicekit(): void {
		$GLOBALS['wpdb']->fail_insert = true;

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertSame( 'rest_key', $result->cause );
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assert_nothing_stored();
	}

	public static function bad_urls(): array {
		return array(
			'plain http'         => array( 'http://invoicekit.example.com' ),
			'ftp'                => array( 'ftp://invoicekit.example.com' ),
			'javascript'         => array( 'javascript:alert(1)' ),
			'with a query'       => array( 'https://invoicekit.example.com/?x=1' ),
			'with credentials'   => array( 'https://user:pass@invoicekit.example.com' ),
			'empty'              => array( '' ),
			'spaces'             => array( 'https://invoice kit.example.com' ),
			'http with local-ish' => array( 'http://localhost.evil.example' ),
		);
	}

	/** @dataProvider bad_urls */
	public function test_an_invalid_url_is_refused_before_anything( string $url ): void {
		$result = Connection::connect( $url, self::CODE );

		$this->assertSame( 'invalid_url', $result->cause );
		$this->assertStringContainsString( 'http:// only for localhost or 127.0.0.1', $result->message );
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assert_nothing_stored();
	}

	public function test_urls(): void {
		$this->assertSame( 'https://invoicekit.example.com', Connection::normalise_url( 'invoicekit.example.com' ) );
		$this->assertSame( 'https://kit.example.com:8443/invoicekit', Connection::normalise_url( ' HTTPS://Kit.Example.com:8443/invoicekit/ ' ) );
		$this->assertSame( 'http://localhost:8000', Connection::normalise_url( 'http://localhost:8000/' ) );
		$this->assertSame( 'http://127.0.0.1:8000', Connection::normalise_url( 'http://127.0.0.1:8000' ) );
	}

	public function test_http_is_fine_for_localhost(): void {
		$this->answer_connected();

		$result = Connection::connect( 'http://localhost:8000', self::CODE );

		$this->assertTrue( $result->ok, $result->message );
		$this->assertSame( 'http://localhost:8000/api/v1/connect', Fake_WP::$requests[0][0] );
		$this->assertSame( 'http://localhost:8000', Settings::get( 'url' ) );
	}

	public function test_codes(): void {
		$this->assertSame( '7Q4M-XP2D-9HRT-KM3W', Connection::normalise_code( '7q4mxp2d9hrtkm3w' ) );
		$this->assertSame( '7Q4M-XP2D-9HRT-KM3W', Connection::normalise_code( ' 7Q4M - XP2D - 9HRT - KM3W ' ) );
		$this->assertSame( 'ABCD-EFGH-IJKL-MNOP', Connection::normalise_code( 'abcd efgh ijkl mnop' ) );
		$this->assertNull( Connection::normalise_code( '7Q4M-XP2D-9HRT' ) );
		$this->assertNull( Connection::normalise_code( '7Q4M-XP2D-9HRT-KM3WX' ) );
		$this->assertNull( Connection::normalise_code( '7Q4M-XP2D-9HRT-KL3_' ) );
		$this->assertNull( Connection::normalise_code( '7Q4M-XP2D-9HRT-KL3Ä' ) );
		$this->assertNull( Connection::normalise_code( '' ) );
	}

	public function test_an_invalid_code_is_refused_before_anything(): void {
		$result = Connection::connect( self::URL, 'not a code' );

		$this->assertSame( 'invalid_code', $result->cause );
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assert_nothing_stored();
	}

	public function test_an_already_connected_shop_is_refused_without_asking(): void {
		$this->connect();

		$result = Connection::connect( self::URL, self::CODE );

		$this->assertFalse( $result->ok );
		$this->assertSame( 'already_connected', $result->cause );
		$this->assertStringContainsString( 'Disconnect first', $result->message );
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assertSame( array(), Fake_Admin::rows( 'woocommerce_api_keys' ) );
		$this->assertSame( array(), Fake_Admin::$webhooks );
		$this->assertSame( 'ik_3f9a0c71e2b4_secretpart', Settings::get( 'api_key' ) );
	}

	// -- disconnect -------------------------------------------------------------------------

	/** Connect for real (key row, webhooks, settings), then forget the requests made. */
	private function connected(): void {
		$this->answer_connected();
		$this->assertTrue( Connection::connect( self::URL, self::CODE )->ok );
		$this->assertCount( 1, Fake_Admin::rows( 'woocommerce_api_keys' ) );
		Fake_WP::$requests = array();
	}

	public function test_disconnect(): void {
		$this->connected();
		Settings::update( array( 'timeout' => 7 ) );
		Fake_WP::answer( 200, array( 'shop' => 'shop-example-com', 'status' => 'disconnected' ) );

		$result = Connection::disconnect();

		$this->assertTrue( $result->ok );
		$this->assertSame( 'disconnected', $result->cause );
		$this->assertCount( 1, Fake_WP::$requests );
		list( $url, $args ) = Fake_WP::$requests[0];
		$this->assertSame( 'https://invoicekit.example.com/api/v1/shops/shop-example-com/connection', $url );
		$this->assertSame( 'DELETE', $args['method'] );
		$this->assertSame( 'Bearer ik_5b2e_newkey', $args['headers']['Authorization'] );
		$this->assertSame( array( 11, 12 ), Fake_Admin::$deleted_webhooks );
		$this->assert_nothing_stored();
		$this->assertSame( 7, Settings::get( 'timeout' ), 'preferences stay' );
	}

	public function test_disconnect_when_invoicekit_cannot_be_reached(): void {
		$this->connected();
		Fake_WP::unreachable();

		$result = Connection::disconnect();

		$this->assertTrue( $result->ok );
		$this->assertSame( 'disconnected_locally', $result->cause );
		$this->assertStringContainsString( 'invoicekit could not be told', $result->message );
		$this->assertStringContainsString( 'shop-example-com', $result->message );
		$this->assert_nothing_stored();
	}

	public function test_disconnect_when_not_connected(): void {
		$result = Connection::disconnect();

		$this->assertFalse( $result->ok );
		$this->assertSame( 'not_connected', $result->cause );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	// -- health -----------------------------------------------------------------------------

	/** invoicekit's health answer. */
	private function answer_health(): void {
		Fake_WP::answer(
			200,
			array(
				'shop'             => 'shop-example-com',
				'platform'         => 'woocommerce',
				'provider'         => 'local',
				'deliveries'       => array( 'last_at' => '2026-12-01T09:30:00+00:00', 'last_status' => 'processed', 'pending' => 0, 'dead' => 1 ),
				'writebacks'       => array( 'last_at' => null, 'last_status' => null, 'pending' => 2, 'dead' => 0 ),
				'rest_credentials' => true,
			)
		);
	}

	public function test_health_merges_the_webhooks_here_and_invoicekits_view(): void {
		$this->connected();
		Fake_Admin::$webhooks[12]['status'] = 'disabled';
		$this->answer_health();

		$health = Connection::health();

		$this->assertTrue( $health['connected'] );
		$this->assertSame( 'shop-example-com', $health['shop'] );
		$this->assertSame( 3333, $health['merchant_id'] );
		$this->assertSame( array( 'active', 'disabled' ), array_column( $health['webhooks'], 'status' ) );
		$this->assertSame( array( 'order.created', 'order.updated' ), array_column( $health['webhooks'], 'topic' ) );
		$this->assertFalse( $health['webhooks_active'] );
		$this->assertTrue( $health['rest_key'] );
		$this->assertTrue( $health['remote']['ok'] );
		$this->assertSame( 'local', $health['remote']['provider'] );
		$this->assertSame( '2026-12-01T09:30:00+00:00', $health['remote']['deliveries']['last_at'] );
		$this->assertSame( 'processed', $health['remote']['deliveries']['last_status'] );
		$this->assertSame( 1, $health['remote']['deliveries']['dead'] );
		$this->assertSame( '', $health['remote']['writebacks']['last_at'] );
		$this->assertSame( 2, $health['remote']['writebacks']['pending'] );
		$this->assertTrue( $health['remote']['rest_credentials'] );

		list( $url, $args ) = Fake_WP::$requests[0];
		$this->assertSame( 'https://invoicekit.example.com/api/v1/shops/shop-example-com/health', $url );
		$this->assertSame( 'GET', $args['method'] );
		$this->assertSame( 'Bearer ik_5b2e_newkey', $args['headers']['Authorization'] );
	}

	public function test_health_sees_a_deleted_webhook_and_a_revoked_key(): void {
		$this->connected();
		( new WC_Webhook( 11 ) )->delete( true );
		$GLOBALS['wpdb']->tables = array();
		Fake_WP::unreachable();

		$health = Connection::health();

		$this->assertSame( array( 'missing', 'active' ), array_column( $health['webhooks'], 'status' ) );
		$this->assertFalse( $health['webhooks_active'] );
		$this->assertFalse( $health['rest_key'] );
		$this->assertFalse( $health['remote']['reachable'] );
		$this->assertFalse( $health['remote']['ok'] );
	}

	public function test_health_when_not_connected_asks_nobody(): void {
		$health = Connection::health();

		$this->assertFalse( $health['connected'] );
		$this->assertNull( $health['remote'] );
		$this->assertSame( array(), Fake_WP::$requests );
	}

	// -- the settings page ------------------------------------------------------------------

	/** A posted connect form. */
	private function post_connect( bool $nonce = true ): void {
		$_POST = array(
			'action'          => Settings_Page::CONNECT_ACTION,
			'invoicekit_url'  => self::URL,
			'invoicekit_code' => self::CODE,
		);
		if ( $nonce ) {
			$_POST['_wpnonce'] = wp_create_nonce( Settings_Page::CONNECT_ACTION );
		}
		$_REQUEST = $_POST;
	}

	/** The page's HTML. */
	private function page(): string {
		ob_start();
		try {
			Settings_Page::render();
		} finally {
			$html = (string) ob_get_clean();
		}
		return $html;
	}

	public function test_the_connect_action_connects_and_redirects_with_a_notice(): void {
		$this->post_connect();
		$this->answer_connected();

		$location = Settings_Page::handle_connect();

		$this->assertSame( 'https://shop.example.com/wp-admin/admin.php?page=invoicekit', $location );
		$this->assertTrue( Settings::connected() );
		$this->assertStringNotContainsString( '4XJ9', $this->stored_state() );
		$this->answer_health();
		$page = $this->page();
		$this->assertStringContainsString( 'notice-success', $page );
		$this->assertStringContainsString( 'Connected to invoicekit as shop shop-example-com', $page );
		$this->assertStringNotContainsString( 'Connected to invoicekit as shop', $this->page(), 'the notice is shown once' );
	}

	public function test_a_failed_connect_keeps_the_url_but_not_the_code(): void {
		$this->post_connect();
		Fake_WP::answer( 401, array( 'error' => 'the connection code is not valid: unknown, expired or already used' ) );

		Settings_Page::handle_connect();
		$page = $this->page();

		$this->assertStringContainsString( 'notice-error', $page );
		$this->assertStringContainsString( 'refused the connection code', $page );
		$this->assertStringContainsString( 'value="https://invoicekit.example.com"', $page );
		$this->assertStringNotContainsString( '4XJ9', $page );
		$this->assertStringNotContainsString( '4XJ9', $this->stored_state() );
	}

	public function test_the_connect_action_refuses_without_a_nonce(): void {
		$this->post_connect( false );
		$this->answer_connected();

		try {
			Settings_Page::handle_connect();
			$this->fail( 'connected without a nonce' );
		} catch ( RuntimeException $refused ) {
			$this->assertSame( 'nonce check failed', $refused->getMessage() );
		}
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assert_nothing_stored();
	}

	public function test_the_connect_action_refuses_without_the_capability(): void {
		$this->post_connect();
		$this->answer_connected();
		Fake_WP::$capabilities = array( 'manage_woocommerce' => false );

		try {
			Settings_Page::handle_connect();
			$this->fail( 'connected without manage_woocommerce' );
		} catch ( RuntimeException $refused ) {
			$this->assertStringContainsString( 'not allowed', $refused->getMessage() );
		}
		$this->assertSame( array(), Fake_WP::$requests );
		$this->assert_nothing_stored();
	}

	public function test_the_disconnect_action(): void {
		$this->connected();
		$_POST    = array( '_wpnonce' => wp_create_nonce( Settings_Page::DISCONNECT_ACTION ) );
		$_REQUEST = $_POST;
		Fake_WP::answer( 200, array( 'shop' => 'shop-example-com', 'status' => 'disconnected' ) );

		$location = Settings_Page::handle_disconnect();

		$this->assertSame( Settings_Page::url(), $location );
		$this->assert_nothing_stored();
		$this->assertStringContainsString( 'Disconnected from invoicekit', $this->page() );
	}

	public function test_the_disconnect_action_refuses_without_a_nonce_or_the_capability(): void {
		$this->connected();
		foreach ( array( 'no nonce' => array( array(), true ), 'wrong nonce' => array( array( '_wpnonce' => wp_create_nonce( Settings_Page::CONNECT_ACTION ) ), true ), 'no capability' => array( array( '_wpnonce' => wp_create_nonce( Settings_Page::DISCONNECT_ACTION ) ), false ) ) as $case => list( $post, $can ) ) {
			$_POST                 = $post;
			$_REQUEST              = $post;
			Fake_WP::$capabilities = array( 'manage_woocommerce' => $can );
			try {
				Settings_Page::handle_disconnect();
				$this->fail( 'disconnected with ' . $case );
			} catch ( RuntimeException $refused ) {
				$this->assertNotSame( '', $refused->getMessage() );
			}
			$this->assertSame( array(), Fake_WP::$requests, $case );
			$this->assertTrue( Settings::connected(), $case );
			$this->assertCount( 2, Fake_Admin::$webhooks, $case );
			$this->assertCount( 1, Fake_Admin::rows( 'woocommerce_api_keys' ), $case );
		}
	}

	public function test_the_page_refuses_without_the_capability(): void {
		Fake_WP::$capabilities = array();

		$this->expectException( RuntimeException::class );
		$this->page();
	}

	public function test_the_page_when_not_connected(): void {
		$page = $this->page();

		$this->assertStringContainsString( 'action="https://shop.example.com/wp-admin/admin-post.php"', $page );
		$this->assertStringContainsString( 'name="action" value="invoicekit_connect"', $page );
		$this->assertStringContainsString( 'value="nonce-invoicekit_connect"', $page );
		$this->assertStringContainsString( 'name="invoicekit_url"', $page );
		$this->assertStringContainsString( 'name="invoicekit_code"', $page );
		$this->assertStringContainsString( 'invoicekit shops connect-code --merchant &lt;id&gt;', $page );
		$this->assertStringContainsString( 'http:// is accepted only for localhost and 127.0.0.1, for testing', $page );
		$this->assertStringNotContainsString( 'invoicekit_disconnect', $page );
	}

	public function test_the_page_when_connected_shows_the_health(): void {
		$this->connected();
		Fake_Admin::$webhooks[12]['status'] = 'disabled';
		Settings::update( array( 'shop' => 'shop-<script>x</script>' ) );
		$this->answer_health();

		$page = $this->page();

		$this->assertStringNotContainsString( '<script>', $page );
		$this->assertStringContainsString( 'shop-&lt;script&gt;x&lt;/script&gt;', $page );
		$this->assertStringContainsString( '3333', $page );
		$this->assertStringContainsString( 'https://invoicekit.example.com', $page );
		$this->assertStringContainsString( 'order.created: <span class="invoicekit-status invoicekit-status--good"', $page );
		$this->assertStringContainsString( 'disabled by WooCommerce after repeated failed deliveries', $page );
		$this->assertStringContainsString( 'December 1, 2026', $page );
		$this->assertStringContainsString( 'processed', $page );
		$this->assertStringContainsString( '1 dead', $page );
		$this->assertStringContainsString( '2 waiting', $page );
		$this->assertStringContainsString( 'name="action" value="invoicekit_disconnect"', $page );
		$this->assertStringContainsString( 'value="nonce-invoicekit_disconnect"', $page );
		$this->assertStringContainsString( 'window.confirm(', $page );
		$this->assertStringNotContainsString( 'ik_5b2e_newkey', $page );
		$this->assertStringNotContainsString( 'whsec-9c1f0e2a7b', $page );
		$this->assertStringNotContainsString( 'name="invoicekit_code"', $page );
	}

	public function test_registration_and_links(): void {
		Settings_Page::register();
		do_action( 'admin_menu' );

		$this->assertContains( array( 'submenu', 'woocommerce', 'invoicekit', 'manage_woocommerce' ), Fake_WP::$notices );
		$this->assertTrue( has_action( 'admin_post_invoicekit_connect' ) );
		$this->assertTrue( has_action( 'admin_post_invoicekit_disconnect' ) );
		$links = apply_filters( 'plugin_action_links_invoicekit-for-woocommerce/invoicekit-for-woocommerce.php', array( 'deactivate' => '<a>Deactivate</a>' ) );
		$this->assertStringContainsString( 'admin.php?page=invoicekit', $links[0] );
		$this->assertStringContainsString( 'section=invoicekit', $links[1] );

		Fake_WP::$is_admin = true;
		$gateway           = (object) array( 'id' => 'invoicekit' );
		$this->assertSame( 'Pay by invoice.', apply_filters( 'woocommerce_gateway_method_description', 'Pay by invoice.', $gateway ), 'not outside its section' );
		$_GET = array(
			'page'    => 'wc-settings',
			'tab'     => 'checkout',
			'section' => 'invoicekit',
		);
		$this->assertStringContainsString( 'admin.php?page=invoicekit', apply_filters( 'woocommerce_gateway_method_description', 'Pay by invoice.', $gateway ) );
		$this->assertSame( 'Pay by bank.', apply_filters( 'woocommerce_gateway_method_description', 'Pay by bank.', (object) array( 'id' => 'bacs' ) ) );
	}
}
