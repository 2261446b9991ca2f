"""Billie request bodies, settings and exact JSON: pure functions, no HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.context import OrderContext
from core.errors import ConfigurationError, PermanentError
from core.money import Amount
from core.operations import Operation, OperationKind, OperationLine
from core.snapshot import Buyer
from core.state import OrderState
from orders import snapshot
from plugins.billie import payloads, wire
from plugins.billie.legal_forms import legal_form_code
from plugins.billie.settings import PRODUCTION_URL, SANDBOX_URL, read_settings

CREDENTIALS = {"client_id": "cid-1", "client_secret": "s"}


def buyer(company: str = "Muster Bürobedarf", legal_form: str | None = None) -> Buyer:
    return Buyer(company=company, legal_form=legal_form, vat_id=None, first_name=None,
                 last_name=None, email="a@b.example", street="Hauptstraße 5",
                 postcode="10115", city="Berlin", country="DE")


def context(invoices: tuple[str, ...] = ()) -> OrderContext:
    return OrderContext(order_key=1, merchant_id=3333, shop="acme", provider="billie",
                        snapshot=snapshot("SO-1001", order_number="SO-1001"),
                        state=OrderState(), invoices=invoices)


def op(key: str = "0123456789abcdef", lines: tuple[OperationLine, ...] = ()) -> Operation:
    return Operation(kind=OperationKind.RETURN, amount=Amount(11900, 10000, 1900), by_rate=(),
                     idempotency_key=key, source="refund:7", after_activation=True,
                     lines=lines)


@pytest.mark.parametrize(("street", "expected"), [
    ("Hauptstraße 5", ("Hauptstraße", "5")),
    ("Charlottenstr. 45a", ("Charlottenstr.", "45a")),
    ("Am Markt 12 b", ("Am Markt", "12 b")),
    ("Straße des 17. Juni 135", ("Straße des 17. Juni", "135")),
    ("Industriestr. 5-7", ("Industriestr.", "5-7")),
    ("Lindenweg 3/2", ("Lindenweg", "3/2")),
    ("Keizersgracht, 221", ("Keizersgracht", "221")),
    ("10 Rue de Rivoli", ("Rue de Rivoli", "10")),
    ("Postfach", ("Postfach", None)),
    ("  Hauptstraße   5 ", ("Hauptstraße", "5")),
])
def test_street_and_house_number_are_split(street, expected):
    assert payloads.split_street(street) == expected


@pytest.mark.parametrize(("company", "form", "code"), [
    ("Muster Bürobedarf", "GmbH", "10001"),
    ("Muster Bürobedarf", "gmbh", "10001"),
    ("Muster Bürobedarf GmbH & Co. KG", None, "90001"),
    ("Beispiel UG (haftungsbeschränkt)", None, "10201"),
    ("Beispiel AG", "", "11001"),
    ("Beispiel B.V.", None, "99999"),
    ("Einzelkämpfer", None, "99999"),
    ("Muster", "10201", "10201"),
    ("Muster KG", "Kommanditgesellschaft", "8001"),
])
def test_legal_form_codes(company, form, code):
    assert legal_form_code(buyer(company, form)) == code


def test_amount_has_two_places_and_tax_is_gross_minus_net():
    assert payloads.amount(Amount(30340, 26000, 4340), "EUR") == {
        "net": Decimal("260.00"), "gross": Decimal("303.40"), "tax": Decimal("43.40")}
    assert wire.dumps(payloads.amount(Amount(100, 84, 16), "EUR")) == \
        b'{"net":0.84,"gross":1.00,"tax":0.16}'


def test_currencies_without_two_decimals_are_refused():
    with pytest.raises(PermanentError, match="2 decimals"):
        payloads.amount(Amount(1000, 900, 100), "JPY")


def test_json_is_exact_and_refuses_floats():
    assert wire.dumps({"a": [Decimal("0.10"), 3, None, True, "ü"]}) == \
        b'{"a":[0.10,3,null,true,"\\u00fc"]}'
    assert wire.loads(b'{"gross": 119.10, "n": 2}') == {"gross": Decimal("119.10"), "n": 2}
    with pytest.raises(TypeError):
        wire.dumps({"gross": 119.1})


def test_invoice_number_counts_the_order_invoices():
    assert payloads.invoice_number(context()) == "acme-SO-1001-1"
    assert payloads.invoice_number(context(("inv-a", "inv-b"))) == "acme-SO-1001-3"


def test_external_code_carries_the_shop():
    one, other = snapshot("7", order_number="1001"), snapshot("7", order_number="1001",
                                                              shop="b2b")
    assert payloads.order_code(one) == "acme-1001" and payloads.order_code(other) == "b2b-1001"
    assert payloads.order_codes(other) == ("b2b-1001", "1001")  # an order placed before


@pytest.mark.parametrize(("code", "number"), [("acme-1001", "1001"), ("1001", "1001"),
                                              ("b2b-1001", "b2b-1001")])
def test_order_number_is_read_from_old_and_new_codes(code, number):
    assert payloads.order_number_of(code, "acme") == number


def test_invoice_url_template_or_a_dot():
    assert payloads.invoice_url(None, "SO-1001-1", "SO-1001") == "."
    template = "https://shop.example/docs/{order}/{number}.pdf"
    assert payloads.invoice_url(template, "A/1-1", "A/1") == \
        "https://shop.example/docs/A%2F1/A%2F1-1.pdf"


def test_credit_note_code_and_body():
    operation = op(lines=(OperationLine("1", 1, 11900), OperationLine("1", 1, 11900),
                          OperationLine("ship", 1, 500, article=False),
                          OperationLine("2", 0, 0)))
    code = payloads.credit_note_code(context(), operation)
    assert code == "CN-SO-1001-01234567"
    body = payloads.credit_note(code, operation.amount, operation, "EUR")
    assert body == {"external_code": code,
                    "amount": {"net": Decimal("100.00"), "gross": Decimal("119.00"),
                               "tax": Decimal("19.00")},
                    "comment": "Return (refund:7)",
                    "line_items": [{"external_id": "1", "quantity": 2}]}
    assert "line_items" not in payloads.credit_note(code, operation.amount, op(), "EUR")


def test_full_activation_has_no_line_items():
    activation = Operation(kind=OperationKind.ACTIVATION, amount=Amount(100, 84, 16),
                           by_rate=(), idempotency_key="k", source="activation",
                           after_activation=False)
    body = payloads.invoice("uuid-1", "SO-1001-1", ".", activation, "EUR")
    assert body == {"orders": ["uuid-1"], "external_code": "SO-1001-1", "invoice_url": ".",
                    "shipping_info": {}, "amount": {"net": Decimal("0.84"),
                                                    "gross": Decimal("1.00"),
                                                    "tax": Decimal("0.16")}}


def test_update_order_body():
    assert payloads.update_order(Amount(17850, 15000, 2850), "EUR") == {"amount": {
        "net": Decimal("150.00"), "gross": Decimal("178.50"), "tax": Decimal("28.50")}}


# -- settings ---------------------------------------------------------------------------


def test_settings_defaults_and_choices():
    settings = read_settings(CREDENTIALS)
    assert (settings.base_url, settings.timeout, settings.duration_days,
            settings.invoice_url) == (SANDBOX_URL, (5.0, 30.0), 30, None)
    assert read_settings({**CREDENTIALS, "sandbox": False}).base_url == PRODUCTION_URL
    assert read_settings({**CREDENTIALS, "sandbox": "false"}).base_url == PRODUCTION_URL
    assert "s'" not in repr(settings) and "client_secret" not in repr(settings)


@pytest.mark.parametrize(("change", "name"), [
    ({"client_id": ""}, "client_id"),
    ({"client_secret": None}, "client_secret"),
    ({"duration_days": 0}, "duration_days"),
    ({"duration_days": 121}, "duration_days"),
    ({"read_timeout": "soon"}, "read_timeout"),
    ({"connect_timeout": 0}, "connect_timeout"),
    ({"sandbox": "maybe"}, "sandbox"),
    ({"invoice_url": "https://shop.example/invoice.pdf"}, "invoice_url"),
    ({"base_url": "paella.billie.io"}, "base_url"),
])
def test_bad_settings_are_named(change, name):
    with pytest.raises(ConfigurationError, match=name):
        read_settings({**CREDENTIALS, **change})
