"""The wording of dunning notices, one dict per language.

Adding a language is adding one dict with the same keys to ``TEXTS``. Values are
``str.format`` templates; the placeholders are listed in ``documents.py``:
``{invoice_number}``, ``{installment}``, ``{invoice_date}``, ``{order_number}``,
``{due_on}``, ``{pay_by}``, ``{merchant_name}`` in subjects, intros and outros; ``{name}`` in
``greeting_named``; ``{n}``/``{of}`` in ``installment``; ``{rate}``/``{since}`` in
``interest``. ``locale`` is the babel locale used for amounts and dates.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["DEFAULT_LANGUAGE", "TEXTS", "texts_for"]

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "locale": "en_GB",
        "colon": ": ",
        "subject.reminder": "Payment reminder: invoice {invoice_number}",
        "subject.final": "Final reminder: invoice {invoice_number}",
        "subject.upcoming": "Upcoming due date: invoice {invoice_number}",
        "subject.cancellation": "Order {order_number} cancelled: invoice {invoice_number}",
        "greeting": "Dear Sir or Madam,",
        "greeting_named": "Dear {name},",
        "installment": " (installment {n} of {of})",
        "intro.reminder": (
            "According to our records, invoice {invoice_number}{installment} of {invoice_date} "
            "for your order {order_number}, due on {due_on}, has not yet been paid in full. "
            "This may simply have been overlooked. We kindly ask you to transfer the amount "
            "below by {pay_by}."
        ),
        "intro.final": (
            "Despite our earlier reminders, invoice {invoice_number}{installment} of "
            "{invoice_date} for your order {order_number}, due on {due_on}, remains unpaid. "
            "Please transfer the amount below by {pay_by} at the latest."
        ),
        "intro.upcoming": (
            "We would like to remind you that invoice {invoice_number}{installment} of "
            "{invoice_date} for your order {order_number} falls due on {due_on}. "
            "Please transfer the amount below by {pay_by}."
        ),
        "intro.cancellation": (
            "Your order {order_number} has been cancelled because invoice "
            "{invoice_number}{installment} of {invoice_date} was not paid. The invoice has "
            "been cancelled by a credit note. You owe nothing further for this order."
        ),
        "principal": "Open amount",
        "fee": "Flat-rate late payment fee",
        "interest": "Default interest at {rate} p.a. from {since}",
        "total": "Total amount due",
        "payment_intro": "Please transfer the amount to the following account:",
        "account_holder": "Account holder",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Payment reference",
        "amount": "Amount",
        "pay_by": "Pay by",
        "handover": (
            "If we have not received your payment by {pay_by}, we will hand the claim over "
            "to our collection partner without further notice."
        ),
        "already_paid": "If you have already paid, please disregard this message.",
        "closing": "Kind regards,",
    },
    "de": {
        "locale": "de_DE",
        "colon": ": ",
        "subject.reminder": "Zahlungserinnerung: Rechnung {invoice_number}",
        "subject.final": "Letzte Mahnung: Rechnung {invoice_number}",
        "subject.upcoming": "Bevorstehende Fälligkeit: Rechnung {invoice_number}",
        "subject.cancellation": "Stornierung der Bestellung {order_number}: "
                                "Rechnung {invoice_number}",
        "greeting": "Sehr geehrte Damen und Herren,",
        "greeting_named": "Guten Tag {name},",
        "installment": " (Rate {n} von {of})",
        "intro.reminder": (
            "nach unseren Unterlagen ist die Rechnung {invoice_number}{installment} vom "
            "{invoice_date} zu Ihrer Bestellung {order_number}, fällig am {due_on}, noch nicht "
            "vollständig beglichen. Sicher ist dies nur ein Versehen. Bitte überweisen Sie den "
            "unten genannten Betrag bis zum {pay_by}."
        ),
        "intro.final": (
            "trotz unserer Erinnerungen ist die Rechnung {invoice_number}{installment} vom "
            "{invoice_date} zu Ihrer Bestellung {order_number}, fällig am {due_on}, weiterhin "
            "offen. Bitte überweisen Sie den unten genannten Betrag spätestens bis zum "
            "{pay_by}."
        ),
        "intro.upcoming": (
            "wir möchten Sie daran erinnern, dass die Rechnung {invoice_number}{installment} "
            "vom {invoice_date} zu Ihrer Bestellung {order_number} am {due_on} fällig wird. "
            "Bitte überweisen Sie den unten genannten Betrag bis zum {pay_by}."
        ),
        "intro.cancellation": (
            "Ihre Bestellung {order_number} wurde storniert, da die Rechnung "
            "{invoice_number}{installment} vom {invoice_date} nicht bezahlt wurde. Die Rechnung "
            "ist durch eine Gutschrift aufgehoben. Aus dieser Bestellung schulden Sie uns "
            "nichts mehr."
        ),
        "principal": "Offener Betrag",
        "fee": "Verzugspauschale",
        "interest": "Verzugszinsen ({rate} p. a. ab dem {since})",
        "total": "Gesamtbetrag",
        "payment_intro": "Bitte überweisen Sie den Betrag auf folgendes Konto:",
        "account_holder": "Kontoinhaber",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Verwendungszweck",
        "amount": "Betrag",
        "pay_by": "Zahlbar bis",
        "handover": (
            "Geht Ihre Zahlung bis zum {pay_by} nicht bei uns ein, übergeben wir die Forderung "
            "ohne weitere Ankündigung an unseren Inkassopartner."
        ),
        "already_paid": (
            "Sollten Sie die Zahlung bereits veranlasst haben, betrachten Sie dieses Schreiben "
            "bitte als gegenstandslos."
        ),
        "closing": "Mit freundlichen Grüßen",
    },
    "fr": {
        "locale": "fr_FR",
        "colon": "\u00a0: ",
        "subject.reminder": "Rappel de paiement : facture {invoice_number}",
        "subject.final": "Dernier rappel : facture {invoice_number}",
        "subject.upcoming": "Échéance prochaine : facture {invoice_number}",
        "subject.cancellation": "Annulation de la commande {order_number} : "
                                "facture {invoice_number}",
        "greeting": "Madame, Monsieur,",
        "greeting_named": "Bonjour {name},",
        "installment": " (échéance {n} sur {of})",
        "intro.reminder": (
            "Sauf erreur de notre part, la facture {invoice_number}{installment} du "
            "{invoice_date} relative à votre commande {order_number}, échue le {due_on}, "
            "n'est pas encore entièrement réglée. Il s'agit sans doute d'un simple oubli. "
            "Nous vous prions de bien vouloir virer le montant ci-dessous au plus tard le "
            "{pay_by}."
        ),
        "intro.final": (
            "Malgré nos précédents rappels, la facture {invoice_number}{installment} du "
            "{invoice_date} relative à votre commande {order_number}, échue le {due_on}, "
            "reste impayée. Nous vous prions de virer le montant ci-dessous au plus tard le "
            "{pay_by}."
        ),
        "intro.upcoming": (
            "Nous vous rappelons que la facture {invoice_number}{installment} du "
            "{invoice_date} relative à votre commande {order_number} arrive à échéance le "
            "{due_on}. Nous vous prions de virer le montant ci-dessous au plus tard le "
            "{pay_by}."
        ),
        "intro.cancellation": (
            "Votre commande {order_number} a été annulée, la facture "
            "{invoice_number}{installment} du {invoice_date} n'ayant pas été réglée. La "
            "facture est annulée par un avoir. Vous ne nous devez plus rien au titre de cette "
            "commande."
        ),
        "principal": "Montant restant dû",
        "fee": "Indemnité forfaitaire pour frais de recouvrement",
        "interest": "Intérêts de retard au taux annuel de {rate} à compter du {since}",
        "total": "Montant total dû",
        "payment_intro": "Merci d'effectuer le virement sur le compte suivant\u00a0:",
        "account_holder": "Titulaire du compte",
        "iban": "IBAN",
        "bic": "BIC",
        "reference": "Référence de paiement",
        "amount": "Montant",
        "pay_by": "À payer au plus tard le",
        "handover": (
            "À défaut de paiement au {pay_by}, nous transmettrons la créance à notre "
            "partenaire de recouvrement sans autre avis."
        ),
        "already_paid": (
            "Si vous avez déjà effectué ce paiement, nous vous prions de ne pas tenir compte "
            "de ce message."
        ),
        "closing": "Cordialement,",
    },
}


def texts_for(language: str) -> Mapping[str, str]:
    """The wording for ``language`` (``"de"``, ``"de-AT"``, ``"DE"``); unknown ones get English."""
    primary = language.replace("_", "-").split("-")[0].lower()
    return TEXTS.get(primary, TEXTS[DEFAULT_LANGUAGE])
