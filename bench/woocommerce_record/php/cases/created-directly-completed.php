<?php
return array(
	'description' => 'The shop owner creates an order on the admin "Add order" screen (wc_create_order, add_product, shipping row, Recalculate, payment method "Rechnung") and saves it directly as completed, all in one request.',
	'steps'       => array(
		array(
			'action' => 'Admin creates the order: customer, addresses, 1 x Toner XL (19 %), 5 x Kopierpapier (7 %), flat-rate shipping 4.90 net, "Rechnung", calculate_taxes + calculate_totals, status completed',
			'run'    => function ( &$s ) {
				$order = wc_create_order( array( 'customer_id' => rec_customer_id(), 'created_via' => 'admin' ) );
				rec_set_addresses( $order );
				$order->add_product( rec_product( 'TON-XL' ), 1 );
				$order->add_product( rec_product( 'PAP-A4' ), 5 );
				$ship = new WC_Order_Item_Shipping();
				$ship->set_method_title( 'Pauschale Versandkosten' );
				$ship->set_method_id( 'flat_rate' );
				$ship->set_instance_id( rec_flat_rate_instance() );
				$ship->set_total( '4.90' );
				$order->add_item( $ship );
				$gateways = WC()->payment_gateways->payment_gateways();
				$order->set_payment_method( $gateways['invoice'] );
				$order->update_meta_data( '_billing_vat_id', 'DE123456789' );
				$order->calculate_taxes( rec_tax_args( $order ) );
				$order->calculate_totals( false );
				$order->set_status( 'completed', '', true );
				$order->save();
				$s['order_id'] = $order->get_id();
				$s['orders']   = array( $order->get_id() );
				return array( 'order_id' => $order->get_id(), 'prices_include_tax' => $order->get_prices_include_tax() );
			},
		),
	),
);
