<?php
/**
 * Plugin Name: invoicekit end-to-end run
 * Description: Only for the local end-to-end run (never on a real shop): invoicekit listens on
 * 127.0.0.1, the shop is served over HTTPS by a local nginx with a self-signed certificate,
 * and webhooks go out within the request that causes them (a real shop sends them a moment
 * later through Action Scheduler).
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
add_filter( 'woocommerce_webhook_deliver_async', '__return_false' );

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
