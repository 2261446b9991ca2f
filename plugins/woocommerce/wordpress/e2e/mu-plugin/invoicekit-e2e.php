<?php
/**
 * Plugin Name: invoicekit end-to-end run
 * Description: Only for the local end-to-end run (never on a real shop): invoicekit listens on
 * 127.0.0.1, the shop is served over HTTPS by a local nginx with a self-signed certificate,
 * e-mails are written to files, requests to invoicekit are recorded. Webhooks go out as in a
 * real shop: queued in Action Scheduler, sent when WP-Cron runs its queue (run.py does).
 */

// nginx terminates TLS and passes the scheme on.
if ( isset( $_SERVER['HTTP_X_FORWARDED_PROTO'] ) && 'https' === $_SERVER['HTTP_X_FORWARDED_PROTO'] ) {
	$_SERVER['HTTPS'] = 'on';
}
// invoicekit is on 127.0.0.1: let WordPress's safe HTTP functions reach it.
add_filter( 'http_request_host_is_external', '__return_true' );
add_filter(
	'http_request_args',
	static function ( array $args, string $url ): array {
		$args['reject_unsafe_urls'] = false;
		if ( str_starts_with( $url, 'https://127.0.0.1' ) ) {
			$args['sslverify'] = false; // the shop's own self-signed certificate
		}
		return $args;
	},
	10,
	2
);

// No mail server here: every e-mail is written to /tmp/invoicekit-e2e-mail/ instead.
add_filter(
	'pre_wp_mail',
	static function ( $result, array $mail ) {
		$folder = sys_get_temp_dir() . '/invoicekit-e2e-mail';
		wp_mkdir_p( $folder );
		$name = sprintf( '%s-%s.html', gmdate( 'Ymd-His' ), sanitize_title( $mail['subject'] ) );
		file_put_contents( $folder . '/' . $name, '<!-- To: ' . esc_html( is_array( $mail['to'] ) ? implode( ', ', $mail['to'] ) : $mail['to'] ) . ' | Subject: ' . esc_html( $mail['subject'] ) . " -->\n" . $mail['message'] );
		return true;
	},
	10,
	2
);

// The buyer's language, as a multilingual plugin (WPML, Polylang) sets it per visitor: here
// from the cookie `e2e_locale` (WordPress's own German files are not installed here).
add_filter(
	'locale',
	static function ( string $locale ): string {
		$wanted = isset( $_COOKIE['e2e_locale'] ) ? preg_replace( '/[^A-Za-z_]/', '', (string) $_COOKIE['e2e_locale'] ) : '';
		return '' !== $wanted ? $wanted : $locale;
	}
);

// Every request to invoicekit (the plugin's API calls and WooCommerce's webhooks) and its
// answer, written to /tmp/invoicekit-e2e-http/ for recordings.py (without the API key).
add_action(
	'http_api_debug',
	static function ( $response, $context, $transport, $args, $url ) {
		static $count = 0;
		if ( 'response' !== $context || ! str_starts_with( (string) $url, 'http://127.0.0.1:8000/' ) ) {
			return;
		}
		$folder = sys_get_temp_dir() . '/invoicekit-e2e-http';
		wp_mkdir_p( $folder );
		$headers = is_array( $args['headers'] ?? null ) ? $args['headers'] : array();
		unset( $headers['Authorization'] );
		$record = array(
			'url'     => $url,
			'method'  => $args['method'] ?? 'GET',
			'headers' => $headers,
			'body'    => $args['body'] ?? null,
			'status'  => is_wp_error( $response ) ? 0 : (int) wp_remote_retrieve_response_code( $response ),
			'answer'  => is_wp_error( $response ) ? $response->get_error_message() : wp_remote_retrieve_body( $response ),
		);
		$name = sprintf( '%s/%s-%d-%03d.json', $folder, gmdate( 'Ymd-His' ), getmypid(), ++$count );
		file_put_contents( $name, wp_json_encode( $record, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ) );
	},
	10,
	5
);
