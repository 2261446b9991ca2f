<?php
return array(
	'description' => 'How WooCommerce core taxes shipping when the cart has several rates (shipping tax class "inherit"): order A has only 7 % lines -> shipping taxed at 7 %; order B has 19 % and 7 % lines -> shipping taxed at 19 % only (core never splits shipping tax across rates; WC_Tax::get_shipping_tax_class_from_cart_items / WC_Abstract_Order::calculate_taxes). Both completed.',
	'steps'       => array(
		array(
			'action' => 'Order A checkout: 6 x Kopierpapier (7 %), 1 x Fachbuch (7 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				$r              = rec_place( $s, array( array( 'PAP-A4', 6 ), array( 'BUCH-UST', 1 ) ) );
				$s['order_a'] = $r['order_id'];
				return $r;
			},
		),
		array(
			'action' => 'Order B checkout: 1 x Toner XL (19 %), 6 x Kopierpapier (7 %), 1 x Solarmodul (0 %), shipping; "Rechnung" -> processing',
			'run'    => function ( &$s ) {
				$r              = rec_place( $s, array( array( 'TON-XL', 1 ), array( 'PAP-A4', 6 ), array( 'PV-400', 1 ) ) );
				$s['order_b'] = $r['order_id'];
				return $r;
			},
		),
		array(
			'action' => 'Shop owner completes order A',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_a'], 'completed' );
			},
		),
		array(
			'action' => 'Shop owner completes order B',
			'run'    => function ( &$s ) {
				rec_admin_status( $s['order_b'], 'completed' );
			},
		),
	),
);
