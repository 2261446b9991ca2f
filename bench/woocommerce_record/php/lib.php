<?php
/**
 * Helpers for the recording cases: each does what a shop owner (admin screens) or a buyer
 * (classic checkout) does, through WooCommerce's own functions. Our own code (invoicekit).
 */

use Automattic\WooCommerce\Internal\Orders\CouponsController;

function rec_product( $sku ) {
	$id = wc_get_product_id_by_sku( $sku );
	if ( ! $id ) {
		throw new Exception( "no product with SKU $sku (run the setup first)" );
	}
	return wc_get_product( $id );
}

function rec_customer_id() {
	return (int) email_exists( 'einkauf@muster-buero.example' );
}

/** The tax location the admin screens send with every recalculation (billing address). */
function rec_tax_args( WC_Order $order ) {
	return array(
		'country'  => $order->get_billing_country(),
		'state'    => $order->get_billing_state(),
		'postcode' => $order->get_billing_postcode(),
		'city'     => $order->get_billing_city(),
	);
}

function rec_set_addresses( WC_Order $order ) {
	$customer = new WC_Customer( rec_customer_id() );
	foreach ( array( 'first_name', 'last_name', 'company', 'address_1', 'address_2', 'city', 'postcode', 'country', 'state', 'phone' ) as $f ) {
		$order->{"set_billing_$f"}( $customer->{"get_billing_$f"}() );
		$order->{"set_shipping_$f"}( $customer->{"get_shipping_$f"}() );
	}
	$order->set_billing_email( $customer->get_billing_email() );
}

/**
 * A buyer's classic checkout: cart with $lines ([[sku, qty], ...]), optional coupons, flat-rate
 * shipping, then WC_Checkout::create_order() and the gateway's process_payment().
 * Returns the order id. The payment method "invoice" (our mu-plugin) sets "processing".
 */
function rec_checkout( array $lines, array $opts = array() ) {
	$opts = array_merge(
		array(
			'coupons'        => array(),
			'payment_method' => 'invoice',
			'shipping'       => true,
			'vat_id'         => 'DE123456789',
			'note'           => '',
			'status'         => 'processing', // what the invoice gateway sets
		),
		$opts
	);
	$customer_id = rec_customer_id();
	wp_set_current_user( $customer_id );
	WC()->frontend_includes();
	WC()->session = new WC_Session_Handler();
	WC()->session->init();
	WC()->customer = new WC_Customer( $customer_id, true );
	WC()->cart     = new WC_Cart();
	WC()->cart->empty_cart( false );
	foreach ( $lines as $line ) {
		WC()->cart->add_to_cart( rec_product( $line[0] )->get_id(), $line[1] );
	}
	foreach ( $opts['coupons'] as $code ) {
		WC()->cart->apply_coupon( $code );
	}
	if ( $opts['shipping'] ) {
		WC()->session->set( 'chosen_shipping_methods', array( 'flat_rate:' . rec_flat_rate_instance() ) );
	}
	WC()->cart->calculate_shipping();
	WC()->cart->calculate_totals();
	wc_clear_notices();
	if ( $opts['shipping'] ) {
		// The cart's session handling forgets the choice in a CLI request; the buyer's radio button keeps it.
		WC()->session->set( 'chosen_shipping_methods', array( 'flat_rate:' . rec_flat_rate_instance() ) );
	}

	$customer = WC()->customer;
	$data     = array(
		'payment_method'            => $opts['payment_method'],
		'shipping_method'           => WC()->session->get( 'chosen_shipping_methods' ),
		'ship_to_different_address' => false,
		'order_comments'            => $opts['note'],
	);
	foreach ( array( 'first_name', 'last_name', 'company', 'address_1', 'address_2', 'city', 'postcode', 'country', 'state', 'phone', 'email' ) as $f ) {
		$data[ "billing_$f" ] = $customer->{"get_billing_$f"}();
		if ( 'email' !== $f ) {
			$data[ "shipping_$f" ] = $customer->{"get_shipping_$f"}();
		}
	}
	$order_id = WC()->checkout()->create_order( $data );
	if ( is_wp_error( $order_id ) ) {
		throw new Exception( 'checkout failed: ' . $order_id->get_error_message() );
	}
	$order = wc_get_order( $order_id );
	if ( $opts['vat_id'] ) {
		$order->update_meta_data( '_billing_vat_id', $opts['vat_id'] );
	}
	$order->save();
	do_action( 'woocommerce_checkout_order_processed', $order_id, $data, $order );
	$gateways = WC()->payment_gateways->payment_gateways();
	if ( isset( $gateways[ $opts['payment_method'] ] ) ) {
		$status_filter = function () use ( $opts ) {
			return $opts['status'];
		};
		add_filter( 'invoicekit_rec_invoice_order_status', $status_filter );
		$gateways[ $opts['payment_method'] ]->process_payment( $order_id );
		remove_filter( 'invoicekit_rec_invoice_order_status', $status_filter );
	}
	WC()->cart->empty_cart( true );
	invoicekit_rec_as_admin();
	return $order_id;
}

function rec_flat_rate_instance() {
	foreach ( WC_Shipping_Zones::get_zones() as $zone ) {
		foreach ( $zone['shipping_methods'] as $method ) {
			if ( 'flat_rate' === $method->id ) {
				return $method->instance_id;
			}
		}
	}
	throw new Exception( 'no flat rate shipping method' );
}

/** The order's line item for a SKU. */
function rec_item( WC_Order $order, $sku, $type = 'line_item' ) {
	foreach ( $order->get_items( $type ) as $item ) {
		if ( 'line_item' === $type && $item->get_product() && $item->get_product()->get_sku() === $sku ) {
			return $item;
		}
	}
	throw new Exception( "no line for $sku in order " . $order->get_id() );
}

function rec_first( WC_Order $order, $type ) {
	$items = $order->get_items( $type );
	if ( ! $items ) {
		throw new Exception( "no $type in order " . $order->get_id() );
	}
	return reset( $items );
}

/** Admin: "Add coupon" on the order screen (CouponsController::add_coupon_discount). */
function rec_admin_add_coupon( $order_id, $code ) {
	$order = wc_get_order( $order_id );
	$args  = array_merge( rec_tax_args( $order ), array( 'order_id' => $order_id, 'coupon' => $code ) );
	wc_get_container()->get( CouponsController::class )->add_coupon_discount( $args );
}

/** Admin: the "x" on a coupon (WC_AJAX::remove_order_coupon). */
function rec_admin_remove_coupon( $order_id, $code ) {
	$order = wc_get_order( $order_id );
	if ( $order->remove_coupon( wc_format_coupon_code( $code ) ) ) {
		$order->add_order_note( esc_html( sprintf( 'Coupon removed: "%s".', $code ) ), 0, true );
	}
	$order->calculate_taxes( rec_tax_args( $order ) );
	$order->calculate_totals( false );
}

/** Admin: "Add fee" (WC_AJAX::add_order_fee); amounts are net, like the admin screen's. */
function rec_admin_add_fee( $order_id, $amount, $name = null ) {
	$order = wc_get_order( $order_id );
	$fee   = new WC_Order_Item_Fee();
	$fee->set_amount( $amount );
	$fee->set_total( $amount );
	$fee->set_name( $name ? $name : sprintf( '%s fee', wc_clean( wc_format_decimal( $amount ) ) ) );
	$order->add_item( $fee );
	$order->calculate_taxes( rec_tax_args( $order ) );
	$order->calculate_totals( false );
	$order->save();
	return $fee->get_id();
}

/**
 * Admin: edit the quantity of lines and "Save" (the order screen posts the lines with their
 * totals scaled by its JavaScript, then WC_AJAX::save_order_items -> wc_save_order_items()).
 * $changes: [item_id => new_qty].
 */
function rec_admin_change_qty( $order_id, array $changes ) {
	require_once WC_ABSPATH . 'includes/admin/wc-admin-functions.php'; // wc_save_order_items()
	$order = wc_get_order( $order_id );
	$items = array( 'order_item_id' => array() );
	foreach ( $order->get_items( array( 'line_item', 'fee' ) ) as $item_id => $item ) {
		$items['order_item_id'][] = $item_id;
		$items['order_item_name'][ $item_id ]      = $item->get_name();
		$items['order_item_tax_class'][ $item_id ] = $item->get_tax_class();
		$old_qty = 'line_item' === $item->get_type() ? $item->get_quantity() : 1;
		$new_qty = isset( $changes[ $item_id ] ) ? $changes[ $item_id ] : $old_qty;
		$f       = $old_qty ? $new_qty / $old_qty : 0;
		$p       = wc_get_rounding_precision();
		if ( 'line_item' === $item->get_type() ) {
			$items['order_item_qty'][ $item_id ] = (string) $new_qty;
			$items['line_subtotal'][ $item_id ]  = wc_format_decimal( round( (float) $item->get_subtotal() * $f, $p ) );
		}
		$items['line_total'][ $item_id ] = wc_format_decimal( round( (float) $item->get_total() * $f, $p ) );
		$taxes                           = $item->get_taxes();
		foreach ( $taxes['total'] as $rate_id => $tax ) {
			$items['line_tax'][ $item_id ][ $rate_id ] = wc_format_decimal( round( (float) $tax * $f, $p ) );
		}
		foreach ( isset( $taxes['subtotal'] ) ? $taxes['subtotal'] : array() as $rate_id => $tax ) {
			$items['line_subtotal_tax'][ $item_id ][ $rate_id ] = wc_format_decimal( round( (float) $tax * $f, $p ) );
		}
	}
	foreach ( $order->get_items( 'shipping' ) as $item_id => $item ) {
		$items['shipping_method_id'][]                   = $item_id;
		$items['shipping_method'][ $item_id ]            = $item->get_method_id();
		$items['shipping_method_title'][ $item_id ]      = $item->get_method_title();
		$items['shipping_cost'][ $item_id ]              = $item->get_total();
		$taxes                                           = $item->get_taxes();
		$items['shipping_taxes'][ $item_id ]             = $taxes['total'];
	}
	wc_save_order_items( $order_id, $items );
}

/** Admin: "Recalculate" (WC_AJAX::calc_line_taxes: calculate_taxes + calculate_totals(false)). */
function rec_admin_recalculate( $order_id ) {
	$order = wc_get_order( $order_id );
	$order->calculate_taxes( rec_tax_args( $order ) );
	$order->calculate_totals( false );
}

/** Admin: "Add product(s)" (WC_AJAX::maybe_add_order_item: add_product), then "Recalculate". */
function rec_admin_add_product( $order_id, $sku, $qty ) {
	$order   = wc_get_order( $order_id );
	$product = rec_product( $sku );
	$item_id = $order->add_product( $product, $qty, array( 'order' => $order ) );
	$order->add_order_note( sprintf( 'Added line items: %s', $product->get_formatted_name() ), false, true );
	$order->save();
	rec_admin_recalculate( $order_id );
	return $item_id;
}

/**
 * Admin: "Refund" with the refund form (WC_AJAX::refund_line_items -> wc_create_refund).
 * $spec: [item_id => ['qty' => n]] (net total and taxes per rate scaled from the line, as the
 * order screen's JavaScript fills them in) or [item_id => ['qty' => 0, 'total' => net, 'tax' => [rate_id => tax]]].
 * The amount is the gross sum, as the screen computes it, unless $amount is given.
 */
function rec_admin_refund( $order_id, array $spec, $reason = '', $amount = null ) {
	$order      = wc_get_order( $order_id );
	$line_items = array();
	$sum        = 0.0;
	$p          = wc_get_rounding_precision();
	foreach ( $spec as $item_id => $s ) {
		$item = $order->get_item( $item_id );
		$qty  = isset( $s['qty'] ) ? $s['qty'] : 0;
		if ( isset( $s['total'] ) ) {
			$total = (float) $s['total'];
			$tax   = isset( $s['tax'] ) ? $s['tax'] : array();
		} else {
			$item_qty = 'line_item' === $item->get_type() ? max( 1, $item->get_quantity() ) : 1;
			$f        = 'line_item' === $item->get_type() ? $qty / $item_qty : 1; // shipping/fee rows: whole row
			$total    = round( (float) $item->get_total() * $f, $p );
			$taxes    = $item->get_taxes();
			$tax      = array();
			foreach ( $taxes['total'] as $rate_id => $t ) {
				$tax[ $rate_id ] = round( (float) $t * $f, $p );
			}
		}
		$line_items[ $item_id ] = array(
			'qty'          => max( $qty, 0 ),
			'refund_total' => wc_format_decimal( $total ),
			'refund_tax'   => array_filter( array_map( 'wc_format_decimal', $tax ) ),
		);
		$sum += $total + array_sum( array_map( 'floatval', $tax ) );
	}
	$refund = wc_create_refund(
		array(
			'amount'         => null === $amount ? wc_format_decimal( $sum, wc_get_price_decimals() ) : $amount,
			'reason'         => $reason,
			'order_id'       => $order_id,
			'line_items'     => $line_items,
			'refund_payment' => false,
			'restock_items'  => false,
		)
	);
	if ( is_wp_error( $refund ) ) {
		throw new Exception( 'refund failed: ' . $refund->get_error_message() );
	}
	return $refund->get_id();
}

/** Admin: refund everything that is left, line by line (the refund form with all quantities). */
function rec_admin_refund_all( $order_id, $reason = '' ) {
	$order = wc_get_order( $order_id );
	$spec  = array();
	foreach ( $order->get_items( array( 'line_item', 'shipping', 'fee' ) ) as $item_id => $item ) {
		$spec[ $item_id ] = array( 'qty' => 'line_item' === $item->get_type() ? $item->get_quantity() : 0 );
	}
	return rec_admin_refund( $order_id, $spec, $reason, wc_format_decimal( $order->get_total() - $order->get_total_refunded(), wc_get_price_decimals() ) );
}

/** Admin: the trash icon on a refund (WC_AJAX::delete_refund). */
function rec_admin_delete_refund( $refund_id ) {
	$refund   = wc_get_order( $refund_id );
	$order_id = $refund->get_parent_id();
	$refund->delete( true );
	do_action( 'woocommerce_refund_deleted', $refund_id, $order_id );
}

/** Admin: change the payment method in the order's "General" box and "Update". */
function rec_admin_set_payment_method( $order_id, $method_id ) {
	$order    = wc_get_order( $order_id );
	$gateways = WC()->payment_gateways->payment_gateways();
	$order->set_payment_method( isset( $gateways[ $method_id ] ) ? $gateways[ $method_id ] : $method_id );
	$order->save();
}

/** Admin: order status dropdown + "Update" (or the list's bulk action). */
function rec_admin_status( $order_id, $status, $note = '' ) {
	$order = wc_get_order( $order_id );
	$order->update_status( $status, $note, true );
}

/** Checkout, and remember the order in the case state. */
function rec_place( array &$s, array $lines, array $opts = array() ) {
	$id = rec_checkout( $lines, $opts );
	$s['order_id'] = $id;
	$s['orders']   = array_merge( isset( $s['orders'] ) ? $s['orders'] : array(), array( $id ) );
	return array( 'order_id' => $id );
}

/** The line items of the current order by SKU: [sku => item_id]. */
function rec_items_by_sku( $order_id ) {
	$out = array();
	foreach ( wc_get_order( $order_id )->get_items() as $item_id => $item ) {
		$out[ $item->get_product()->get_sku() ] = $item_id;
	}
	return $out;
}

/** Admin "Update" without a change (saves the order; date_modified moves on). */
function rec_admin_touch( $order_id ) {
	$order = wc_get_order( $order_id );
	$order->set_date_modified( time() );
	$order->save();
}
