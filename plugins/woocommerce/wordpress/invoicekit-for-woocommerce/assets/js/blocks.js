/**
 * invoicekit for WooCommerce: "Purchase on account" in the Checkout block.
 *
 * Plain script, no build step. The texts come translated from PHP (Blocks_Support) through
 * wcSettings ("invoicekit_data"). Whether the method is offered is decided on the server:
 * the Store API lists it in the cart's payment methods only when the gateway's is_available()
 * says so, hence canMakePayment is always true here.
 */
( function () {
	'use strict';

	var wc = window.wc || {};
	var wp = window.wp || {};
	var registry = wc.wcBlocksRegistry;
	var wcSettings = wc.wcSettings;
	var element = wp.element;

	if ( ! registry || ! wcSettings || ! element ) {
		return;
	}

	var settings = wcSettings.getSetting( 'invoicekit_data', {} ) || {};
	var decode = wp.htmlEntities && wp.htmlEntities.decodeEntities
		? wp.htmlEntities.decodeEntities
		: function ( text ) {
			return text;
		};
	var title = decode( String( settings.title || '' ) );
	var description = decode( String( settings.description || '' ) );
	var features = Array.isArray( settings.supports ) ? settings.supports : [ 'products' ];

	/** The label: WooCommerce's own label component when given, else the title. */
	function Label( props ) {
		var components = props && props.components;
		if ( components && components.PaymentMethodLabel ) {
			return element.createElement( components.PaymentMethodLabel, { text: title } );
		}
		return element.createElement( 'span', null, title );
	}

	/** The content below the label: the description, as text (React escapes it). */
	function Content() {
		if ( '' === description ) {
			return null;
		}
		return element.createElement( 'div', { className: 'invoicekit-payment-description' }, description );
	}

	registry.registerPaymentMethod( {
		name: 'invoicekit',
		paymentMethodId: 'invoicekit',
		label: element.createElement( Label, null ),
		content: element.createElement( Content, null ),
		edit: element.createElement( Content, null ),
		ariaLabel: title,
		canMakePayment: function () {
			return true;
		},
		supports: {
			features: features,
		},
	} );
} )();
