/**
 * invoicekit for WooCommerce: the provider's checkout widget (Billie) when the order is placed.
 *
 * Plain script, no build step; used by the block checkout (blocks.js) and the classic checkout
 * (checkout.js). invoicekitCheckoutSession.open( settings, form ) posts the checkout form's
 * billing and shipping fields to the plugin's REST route (settings.route, settings.nonce),
 * which asks invoicekit for a checkout session and answers only the widget, or none:
 *
 * - no widget (the local provider): resolves with null, the order is placed as usual;
 * - a widget: its script is loaded once, the widget mounted, and open() resolves with
 *   { session: <session id>, answer: <what the buyer confirmed, as JSON text> };
 * - otherwise it rejects with an Error whose message is the buyer's sentence (translated in
 *   PHP: settings.texts).
 */
( function ( window, document ) {
	'use strict';

	/** The global name Billie's script reads its command queue from, as its loader sets it. */
	var BILLIE_QUEUE = 'bcw';
	var loading = {};

	function text( settings, key ) {
		var texts = ( settings && settings.texts ) || {};
		return String( texts[ key ] || texts.notAvailable || '' );
	}

	/** Ask the plugin's route for a checkout session; resolves with its JSON answer. */
	function ask( settings, form ) {
		var failed = function () {
			throw new Error( text( settings, 'notAvailable' ) );
		};
		return window
			.fetch( settings.route, {
				method: 'POST',
				credentials: 'same-origin',
				headers: {
					'Content-Type': 'application/json',
					'X-WP-Nonce': settings.nonce || '',
				},
				body: JSON.stringify( { form: form || {} } ),
			} )
			.then( function ( response ) {
				if ( ! response.ok ) {
					failed();
				}
				return response.json();
			}, failed )
			.then( null, failed );
	}

	/** Whether Billie's script has replaced the queue by the widget. */
	function billieReady() {
		var widget = window.BillieCheckoutWidget;
		return !! widget && 'function' === typeof widget.mount;
	}

	/** Wait (up to ten seconds) until Billie's script has set up the widget after loading. */
	function whenReady( resolve, reject, triesLeft ) {
		if ( billieReady() ) {
			resolve( window.BillieCheckoutWidget );
		} else if ( triesLeft <= 0 ) {
			reject( new Error( 'Billie checkout widget not ready' ) );
		} else {
			window.setTimeout( function () {
				whenReady( resolve, reject, triesLeft - 1 );
			}, 100 );
		}
	}

	/**
	 * Billie's script, loaded once per address. Billie's loader names a queue function
	 * (BillieCheckoutWidget = its global name), keeps the calls made before the script is
	 * there, sets billieSrc, inserts the script and queues 'init'; this does the same.
	 */
	function loadBillie( src ) {
		if ( billieReady() ) {
			return Promise.resolve( window.BillieCheckoutWidget );
		}
		if ( ! loading[ src ] ) {
			loading[ src ] = new Promise( function ( resolve, reject ) {
				if ( 'function' !== typeof window[ BILLIE_QUEUE ] ) {
					window[ BILLIE_QUEUE ] = function () {
						var queue = window[ BILLIE_QUEUE ];
						( queue.q = queue.q || [] ).push( arguments );
					};
				}
				window.BillieCheckoutWidget = BILLIE_QUEUE;
				window.billieSrc = src;
				var script = document.createElement( 'script' );
				script.id = BILLIE_QUEUE;
				script.src = src;
				script.charset = 'utf-8';
				script.async = true;
				script.onload = function () {
					whenReady( resolve, reject, 100 );
				};
				script.onerror = function () {
					delete loading[ src ];
					reject( new Error( 'Billie checkout widget not loaded' ) );
				};
				( document.head || document.documentElement ).appendChild( script );
				window[ BILLIE_QUEUE ]( 'init' );
			} );
		}
		return loading[ src ];
	}

	/**
	 * The order data as Billie's widget takes it: invoicekit sends amounts as exact decimal
	 * strings ("599.64"); the widget is given JSON numbers, as Billie's own plugins give them.
	 */
	function withNumbers( data ) {
		var copy = {};
		Object.keys( data || {} ).forEach( function ( key ) {
			copy[ key ] = data[ key ];
		} );
		var amount = function ( value ) {
			if ( ! value || 'object' !== typeof value ) {
				return value;
			}
			return { gross: Number( value.gross ), net: Number( value.net ), tax: Number( value.tax ) };
		};
		copy.amount = amount( copy.amount );
		if ( Array.isArray( copy.line_items ) ) {
			copy.line_items = copy.line_items.map( function ( line ) {
				var item = {};
				Object.keys( line || {} ).forEach( function ( key ) {
					item[ key ] = line[ key ];
				} );
				item.amount = amount( item.amount );
				return item;
			} );
		}
		return copy;
	}

	/** Mount the widget; resolves with the session id and the buyer's confirmed data. */
	function confirm( widget, settings ) {
		if ( 'billie' !== widget.kind || 'string' !== typeof widget.script_url ) {
			return Promise.reject( new Error( text( settings, 'notAvailable' ) ) );
		}
		var config = widget.config || {};
		return loadBillie( widget.script_url ).then(
			function ( billie ) {
				return new Promise( function ( resolve ) {
					resolve(
						billie.mount( {
							billie_config_data: config,
							billie_order_data: withNumbers( widget.order_data ),
						} )
					);
				} ).then(
					function ( confirmed ) {
						return {
							session: String( config.session_id || '' ),
							answer: JSON.stringify( confirmed || {} ),
						};
					},
					function () {
						// Closed by the buyer, or declined by Billie.
						throw new Error( text( settings, 'notConfirmed' ) );
					}
				);
			},
			function () {
				throw new Error( text( settings, 'notAvailable' ) );
			}
		);
	}

	window.invoicekitCheckoutSession = {
		open: function ( settings, form ) {
			if ( ! settings || ! settings.route || ! window.fetch || ! window.Promise ) {
				return Promise.reject( new Error( text( settings, 'notAvailable' ) ) );
			}
			return ask( settings, form ).then( function ( answer ) {
				var widget = answer && answer.widget;
				return widget && 'object' === typeof widget ? confirm( widget, settings ) : null;
			} );
		},
	};
} )( window, document );
