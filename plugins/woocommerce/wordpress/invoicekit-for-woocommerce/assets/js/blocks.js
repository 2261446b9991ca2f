/**
 * invoicekit for WooCommerce: "Purchase on account" in the Checkout block.
 *
 * Plain script, no build step. The texts come translated from PHP (Blocks_Support) through
 * wcSettings ("invoicekit_data"). Whether the method is offered is decided on the server:
 * the Store API lists it in the cart's payment methods only when the gateway's is_available()
 * says so, hence canMakePayment is always true here.
 *
 * When the order is placed (onPaymentSetup), the provider's widget is shown if invoicekit
 * asks for one (checkout-session.js); what the buyer confirmed goes with the order as payment
 * data (invoicekit_checkout_session, invoicekit_checkout_answer), which process_payment()
 * confirms at the provider.
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
	var checkout = settings.checkout || {};
	var texts = checkout.texts || {};

	/** The block fields' ids in the address, as the classic checkout names them. */
	var FIELD_NAMES = {
		'invoicekit/legal-form': 'legal_form',
		'invoicekit/vat-id': 'vat_id',
	};

	/** An address of the checkout as form fields: prefix + key (billing_company, …). */
	function addFields( form, prefix, address ) {
		Object.keys( address || {} ).forEach( function ( key ) {
			var value = address[ key ];
			if ( 'string' === typeof value ) {
				form[ prefix + ( FIELD_NAMES[ key ] || key ) ] = value;
			}
		} );
		return form;
	}

	/** The billing (and shipping) address the buyer has typed, for the widget's session. */
	function formOf( props ) {
		var form = addFields( {}, 'billing_', props.billing && props.billing.billingAddress );
		var shipping = props.shippingData || {};
		if ( false !== shipping.needsShipping ) {
			addFields( form, 'shipping_', shipping.shippingAddress );
		}
		return form;
	}

	/**
	 * The payment setup when the order is placed: no widget → placed as usual; a widget →
	 * placed with what the buyer confirmed in it; closed, declined or failed → not placed,
	 * the buyer's sentence shown.
	 */
	function paymentSetup( props ) {
		var emit = props.emitResponse || {};
		var types = emit.responseTypes || {};
		var contexts = emit.noticeContexts || {};
		var session = window.invoicekitCheckoutSession;
		if ( ! session ) {
			return {
				type: types.ERROR,
				message: String( texts.notAvailable || '' ),
				messageContext: contexts.PAYMENTS,
			};
		}
		return session.open( checkout, formOf( props ) ).then(
			function ( result ) {
				if ( ! result ) {
					return { type: types.SUCCESS };
				}
				return {
					type: types.SUCCESS,
					meta: {
						paymentMethodData: {
							invoicekit_checkout_session: result.session,
							invoicekit_checkout_answer: result.answer,
						},
					},
				};
			},
			function ( error ) {
				return {
					type: types.ERROR,
					message: String( ( error && error.message ) || texts.notAvailable || '' ),
					messageContext: contexts.PAYMENTS,
				};
			}
		);
	}

	/** The label: WooCommerce's own label component when given, else the title. */
	function Label( props ) {
		var components = props && props.components;
		if ( components && components.PaymentMethodLabel ) {
			return element.createElement( components.PaymentMethodLabel, { text: title } );
		}
		return element.createElement( 'span', null, title );
	}

	/**
	 * The content below the label: the description, as text (React escapes it). While shown
	 * (the method is chosen), it takes part in placing the order (onPaymentSetup).
	 */
	function Content( props ) {
		var latest = element.useRef( props );
		latest.current = props;
		var registration = ( props && props.eventRegistration ) || {};
		var onPaymentSetup = registration.onPaymentSetup || registration.onPaymentProcessing;

		element.useEffect(
			function () {
				if ( 'function' !== typeof onPaymentSetup || ! checkout.route ) {
					return undefined; // The editor's preview, or no route: nothing to set up.
				}
				return onPaymentSetup( function () {
					return paymentSetup( latest.current || {} );
				} );
			},
			[ onPaymentSetup ]
		);

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
