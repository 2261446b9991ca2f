<?php
/**
 * The plugin's stored settings: one option, an array.
 *
 * @package Invoicekit\WooCommerce
 */

namespace Invoicekit\WooCommerce;

defined( 'ABSPATH' ) || exit;

/**
 * Reads and writes the option `invoicekit_connection`:
 * url, api_key, shop, merchant_id, webhook_ids (list of int), rest_key_id (int),
 * connected_at (ISO time), hide_when_unreachable (bool, default true), timeout (seconds).
 */
final class Settings {

	public const OPTION = 'invoicekit_connection';

	private const DEFAULTS = array(
		'url'                   => '',
		'api_key'               => '',
		'shop'                  => '',
		'merchant_id'           => 0,
		'webhook_ids'           => array(),
		'rest_key_id'           => 0,
		'connected_at'          => '',
		'hide_when_unreachable' => true,
		'timeout'               => 3,
	);

	/** Every setting, with defaults for the missing ones. */
	public static function all(): array {
		$stored = get_option( self::OPTION, array() );
		return array_merge( self::DEFAULTS, is_array( $stored ) ? $stored : array() );
	}

	/** One setting. */
	public static function get( string $key ) {
		return self::all()[ $key ] ?? null;
	}

	/** Change some settings, keep the others. */
	public static function update( array $changes ): void {
		update_option( self::OPTION, array_merge( self::all(), $changes ), false );
	}

	/** Forget the connection (URL, key, shop, ids), keep the preferences. */
	public static function forget_connection(): void {
		$all = self::all();
		update_option(
			self::OPTION,
			array_merge(
				self::DEFAULTS,
				array(
					'hide_when_unreachable' => $all['hide_when_unreachable'],
					'timeout'               => $all['timeout'],
				)
			),
			false
		);
	}

	/** Whether the shop is connected to invoicekit. */
	public static function connected(): bool {
		$all = self::all();
		return '' !== $all['url'] && '' !== $all['api_key'];
	}
}
