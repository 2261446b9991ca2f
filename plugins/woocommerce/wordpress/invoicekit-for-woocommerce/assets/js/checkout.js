/**
 * invoicekit for WooCommerce: the provider's checkout widget (Billie) in the classic checkout.
 *
 * Plain script, no build step. When the buyer places the order with purchase on account, the
 * first submit is held back (checkout_place_order_invoicekit returns false) while
 * checkout-session.js asks for a checkout session and, when invoicekit asks for a widget,
 * shows it; what the buyer confirmed goes into the hidden fields invoicekit_checkout_session
 * and invoicekit_checkout_answer, and the form is submitted again. Without a widget it is
 * submitted as it is. Settings and sentences come from PHP: invoicekit_checkout_params.
 */
( function ( $, window ) {
	'use strict';

	var settings = window.invoicekit_checkout_params || {};
	var texts = settings.texts || {};
	var SESSION_FIELD = 'invoicekit_checkout_session';
	var ANSWER_FIELD = 'invoicekit_checkout_answer';
	var confirmed = false;
	var busy = false;

	if ( ! $ || ! settings.route ) {
		return;
	}

	/** The hidden field of the form, added when missing. */
	function hidden( $form, name ) {
		var $field = $form.find( 'input[type="hidden"][name="' + name + '"]' );
		if ( ! $field.length ) {
			$field = $( '<input type="hidden" />' ).attr( 'name', name ).appendTo( $form );
		}
		return $field;
	}

	/** The billing fields, and the shipping ones when the order ships elsewhere. */
	function formFields( $form ) {
		var fields = {};
		var shipsElsewhere = $form.find( '#ship-to-different-address-checkbox' ).is( ':checked' );
		$.each( $form.serializeArray(), function ( index, field ) {
			if ( 0 === field.name.indexOf( 'billing_' ) || ( shipsElsewhere && 0 === field.name.indexOf( 'shipping_' ) ) ) {
				fields[ field.name ] = field.value;
			}
		} );
		return fields;
	}

	/** The buyer's sentence where WooCommerce shows the checkout's errors (as text). */
	function showError( checkoutForm, $form, message ) {
		var $notice = $( '<ul class="woocommerce-error" role="alert"><li></li></ul>' );
		$notice.find( 'li' ).text( message );
		if ( checkoutForm && 'function' === typeof checkoutForm.submit_error ) {
			checkoutForm.submit_error( $( '<div></div>' ).append( $notice ).html() );
			return;
		}
		$form.find( '.woocommerce-NoticeGroup-checkout' ).remove();
		$form.prepend( $( '<div class="woocommerce-NoticeGroup woocommerce-NoticeGroup-checkout"></div>' ).append( $notice ) );
	}

	/** `checkout_place_order_invoicekit`: false holds the submit back, true lets it go. */
	function placeOrder( event, checkoutForm ) {
		var $form = $( this );
		var session = window.invoicekitCheckoutSession;
		if ( confirmed ) {
			return true;
		}
		if ( busy ) {
			return false;
		}
		hidden( $form, SESSION_FIELD ).val( '' );
		hidden( $form, ANSWER_FIELD ).val( '' );
		if ( ! session ) {
			showError( checkoutForm, $form, String( texts.notAvailable || '' ) );
			return false;
		}
		busy = true;
		$form.addClass( 'invoicekit-confirming' );
		session.open( settings, formFields( $form ) ).then(
			function ( result ) {
				busy = false;
				$form.removeClass( 'invoicekit-confirming' );
				if ( result ) {
					hidden( $form, SESSION_FIELD ).val( result.session );
					hidden( $form, ANSWER_FIELD ).val( result.answer );
				}
				confirmed = true;
				try {
					$form.trigger( 'submit' );
				} finally {
					confirmed = false;
				}
			},
			function ( error ) {
				busy = false;
				$form.removeClass( 'invoicekit-confirming' );
				showError( checkoutForm, $form, String( ( error && error.message ) || texts.notAvailable || '' ) );
			}
		);
		return false;
	}

	$( function () {
		$( 'form.checkout' ).on( 'checkout_place_order_invoicekit', placeOrder );
	} );
} )( window.jQuery, window );
