"""The Billie provider against a stand-in for Billie's API v2 (``responses``; no network)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import pytest
import requests
import responses
from responses.registries import OrderedRegistry
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from core.context import OrderContext
from core.errors import ConfigurationError, OutcomeUnknown, PermanentError, RetryableError
from core.hooks import Hooks
from core.money import Amount
from core.operations import (
    Authorisation,
    Operation,
    OperationKind,
    OperationLine,
    idempotency_key,
    total_of,
)
from core.plugins import get_plugin_manager
from core.rates import take
from core.reconcile import Rules, reconcile
from core.state import OrderState, apply
from orders import snapshot
from plugins.billie import client, plugin, wire
from plugins.billie.settings import PRODUCTION_URL, SANDBOX_URL

BASE = SANDBOX_URL
SECRET = "client-secret-do-not-show"
TOKEN = "eyJ.token-one.sig"
SETTINGS = {"client_id": "cid-1", "client_secret": SECRET}
ORDER_UUID = "7b1f0000-0000-4000-8000-000000000001"
INVOICE_UUID = "a9c00000-0000-4000-8000-0000000000aa"
INVOICE_2 = "a9c00000-0000-4000-8000-0000000000bb"
LINES = [
    ("1", "product", "Office chair", 2, "200.00", "19"),
    ("2", "product", "Printer paper A4", 10, "50.00", "7"),
    ("ship", "shipping", "DHL Paket", 1, "10.00", "19"),
]


@pytest.fixture(autouse=True)
def fresh_tokens() -> Iterator[None]:
    client.clear_token_cache()
    yield
    client.clear_token_cache()


# -- building the kit's values ----------------------------------------------------------


def the_snapshot(**kwargs: Any):
    return snapshot("1001", lines=LINES, discounts=[], **kwargs)


def placement() -> Operation:
    decision = reconcile(the_snapshot(), None, Rules())
    assert decision.operations[0].kind is OperationKind.PLACEMENT
    return decision.operations[0]


def authorised_state() -> OrderState:
    return apply(OrderState(), placement())


def context(*, state: OrderState | None = None, reference: str | None = ORDER_UUID,
            invoices: tuple[str, ...] = (), settings: dict[str, Any] | None = None,
            provider: str = "billie") -> OrderContext:
    return OrderContext(order_key=1, merchant_id=3333, shop="acme", provider=provider,
                        snapshot=the_snapshot(), state=state or authorised_state(),
                        provider_reference=reference,
                        settings=SETTINGS if settings is None else settings,
                        invoices=invoices)


def operation(kind: OperationKind, by_rate, *, source: str, after_activation: bool,
              lines: tuple[OperationLine, ...] = ()) -> Operation:
    total = total_of(by_rate)
    return Operation(kind=kind, amount=total, by_rate=by_rate, source=source,
                     after_activation=after_activation, lines=lines,
                     idempotency_key=idempotency_key("acme", "1001", kind, source, total.gross))


def shipped_chairs() -> Operation:
    """A partial activation: the two chairs (238.00 at 19 %) ship, the paper does not."""
    return operation(OperationKind.ACTIVATION,
                     take(authorised_state().open_by_rate, 23800, {Decimal("19"): 23800}),
                     source="activation:1", after_activation=False,
                     lines=(OperationLine("1", 2, 23800),))


def returned_chair() -> Operation:
    by_rate = ((Decimal("19"), Amount(11900, 10000, 1900)),)
    return operation(OperationKind.RETURN, by_rate, source="refund:r1", after_activation=True,
                     lines=(OperationLine("1", 1, 11900),))


def reduction(kind: OperationKind, gross: int, *, after: bool = False,
              source: str = "refund:r2") -> Operation:
    return operation(kind, take(authorised_state().open_by_rate, gross), source=source,
                     after_activation=after)


# -- Billie's side ----------------------------------------------------------------------


def token(value: str = TOKEN) -> None:
    responses.post(BASE + "oauth/token",
                   json={"token_type": "Bearer", "expires_in": 28800, "access_token": value})


def billie_order(state: str = "created", *, gross: str = "303.40", net: str = "260.00",
                 unshipped: str | None = None, invoices: list[dict] | None = None,
                 **extra: Any) -> dict[str, Any]:
    unshipped_gross = unshipped if unshipped is not None else gross
    return {
        "uuid": ORDER_UUID, "external_code": "1001", "state": state, "decline_reason": None,
        "amount": {"gross": Decimal(gross), "net": Decimal(net),
                   "tax": Decimal(gross) - Decimal(net)},
        "unshipped_amount": {"gross": Decimal(unshipped_gross), "net": Decimal(0),
                             "tax": Decimal(0)},
        "duration": 30, "created_at": "2026-11-02 10:00:00",
        "invoices": invoices or [],
        "selected_payment_method": "bank_transfer",
        "payment_methods": [{"type": "bank_transfer", "data": {
            "iban": "DE02100100100000000001", "bic": "TESTDEFFXXX", "bank_name": "Testbank"}}],
        **extra,
    }


def as_json(data: Any) -> str:
    return wire.dumps(data).decode()


def order_answer(method: str, url: str, data: dict[str, Any], status: int = 200) -> None:
    responses.add(method, url, body=as_json(data), status=status,
                  content_type="application/json")


def sent(index: int) -> Any:
    return wire.loads(responses.calls[index].request.body)


def raw(index: int) -> str:
    return responses.calls[index].request.body.decode()


# -- the plugin is registered -----------------------------------------------------------


def test_entry_point_registers_provider_and_platform():
    hooks = Hooks(get_plugin_manager())
    info = hooks.providers()["billie"]
    assert info.remote and not info.idempotency_keys
    assert info.operations == frozenset(OperationKind)
    assert hooks.platforms()["billie"].capabilities == frozenset()


def test_hooks_answer_only_for_billie_orders():
    other = context(provider="local")
    assert plugin.place_order(order=other, operation=placement()) is None
    assert plugin.credit_full(order=other, operation=placement()) is None
    assert plugin.lookup_operation(order=other, operation=placement()) is None


# -- settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["client_id", "client_secret"])
def test_missing_credentials_name_the_setting(missing):
    settings = {k: v for k, v in SETTINGS.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        plugin.place_order(order=context(settings=settings), operation=placement())


@responses.activate
def test_production_url_and_timeouts_from_settings():
    responses.post(PRODUCTION_URL + "oauth/token",
                   json={"token_type": "Bearer", "expires_in": 28800, "access_token": TOKEN})
    order_answer("POST", PRODUCTION_URL + "orders", billie_order())
    settings = {**SETTINGS, "sandbox": False, "connect_timeout": 2, "read_timeout": 9}
    plugin.place_order(order=context(settings=settings), operation=placement())
    assert [c.request.req_kwargs["timeout"] for c in responses.calls] == [(2.0, 9.0)] * 2


@responses.activate
def test_base_url_overrides_sandbox_and_default_timeouts():
    base = "https://billie.stand-in.test/api/v2/"
    responses.post(base + "oauth/token", json={"expires_in": 28800, "access_token": TOKEN})
    order_answer("POST", base + "orders", billie_order())
    plugin.place_order(order=context(settings={**SETTINGS, "base_url": base.rstrip("/")}),
                       operation=placement())
    assert responses.calls[1].request.req_kwargs["timeout"] == (5.0, 30.0)
    assert responses.calls[1].request.headers["Accept"] == "application/json"


# -- token ------------------------------------------------------------------------------


@responses.activate
def test_token_is_fetched_once_and_cached_across_calls():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order())
    for _ in range(3):
        plugin.lookup_operation(order=context(), operation=reduction(
            OperationKind.FULL_CREDIT, 30340))
    assert [c.request.url for c in responses.calls].count(BASE + "oauth/token") == 1
    assert sent(0) == {"grant_type": "client_credentials", "client_id": "cid-1",
                       "client_secret": SECRET}
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}"
               for c in responses.calls[1:])


@responses.activate
def test_token_expiring_within_a_minute_is_fetched_again():
    responses.post(BASE + "oauth/token", json={"expires_in": 30, "access_token": TOKEN})
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order())
    for _ in range(2):
        plugin.lookup_operation(order=context(), operation=reduction(
            OperationKind.FULL_CREDIT, 30340))
    assert [c.request.url for c in responses.calls].count(BASE + "oauth/token") == 2


@responses.activate(registry=OrderedRegistry)
def test_401_refreshes_the_token_once_then_the_call_succeeds():
    token("expired-token")
    responses.get(BASE + f"orders/{ORDER_UUID}", status=401)
    token("fresh-token")
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order("canceled"))
    lookup = plugin.lookup_operation(order=context(),
                                     operation=reduction(OperationKind.FULL_CREDIT, 30340))
    assert lookup.applied
    assert [c.request.headers.get("Authorization") for c in responses.calls[1::2]] == [
        "Bearer expired-token", "Bearer fresh-token"]


@responses.activate(registry=OrderedRegistry)
def test_second_401_is_a_configuration_error_without_secrets():
    token("first")
    responses.post(BASE + "orders", status=401)
    token("second")
    responses.post(BASE + "orders", status=401)
    with pytest.raises(ConfigurationError, match="Billie rejected the credentials") as caught:
        plugin.place_order(order=context(), operation=placement())
    assert SECRET not in str(caught.value) and "second" not in str(caught.value)
    assert len(responses.calls) == 4


@responses.activate
def test_refused_token_request_is_a_configuration_error():
    responses.post(BASE + "oauth/token", status=401, json={"errors": [{"title": "bad"}]})
    with pytest.raises(ConfigurationError, match="Billie rejected the credentials") as caught:
        plugin.place_order(order=context(), operation=placement())
    assert SECRET not in str(caught.value)


# -- error mapping ----------------------------------------------------------------------


@responses.activate
def test_decline_is_an_authorisation_not_an_error():
    token()
    order_answer("POST", BASE + "orders",
                 billie_order("declined", decline_reason="risk_policy", payment_methods=[]))
    result = plugin.place_order(order=context(reference=None), operation=placement())
    assert isinstance(result, Authorisation)
    assert not result.approved and result.decline_reason == "risk_policy"


@responses.activate
def test_validation_error_names_the_field():
    token()
    responses.post(BASE + "orders", status=400, json={"errors": [
        {"title": "Amount too high", "code": "request_validation_error",
         "source": "amount.gross"}]})
    with pytest.raises(PermanentError) as caught:
        plugin.place_order(order=context(reference=None), operation=placement())
    assert str(caught.value) == ("Billie refused the request (400): Amount too high "
                                 "[amount.gross, request_validation_error]")
    assert SECRET not in str(caught.value) and TOKEN not in str(caught.value)


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_after_sending_are_outcome_unknown(status):
    token()
    responses.post(BASE + "invoices", status=status)
    with pytest.raises(OutcomeUnknown):
        plugin.activate_order(order=context(), operation=shipped_chairs())


@responses.activate
def test_503_with_retry_after_seconds_is_retryable():
    token()
    responses.post(BASE + "invoices", status=503, headers={"Retry-After": "120"})
    with pytest.raises(RetryableError) as caught:
        plugin.activate_order(order=context(), operation=shipped_chairs())
    assert not isinstance(caught.value, OutcomeUnknown)
    assert caught.value.retry_after == 120


@responses.activate
def test_429_with_retry_after_date_is_retryable():
    token()
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    responses.post(BASE + "invoices", status=429, headers={"Retry-After": when})
    with pytest.raises(RetryableError) as caught:
        plugin.activate_order(order=context(), operation=shipped_chairs())
    assert not isinstance(caught.value, OutcomeUnknown)
    assert 80 <= caught.value.retry_after <= 90


@responses.activate
def test_read_timeout_is_outcome_unknown():
    token()
    responses.post(BASE + "invoices", body=requests.exceptions.ReadTimeout())
    with pytest.raises(OutcomeUnknown):
        plugin.activate_order(order=context(), operation=shipped_chairs())


@responses.activate
def test_dropped_connection_after_sending_is_outcome_unknown():
    token()
    dropped = requests.exceptions.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
    responses.post(BASE + "invoices", body=dropped)
    with pytest.raises(OutcomeUnknown):
        plugin.activate_order(order=context(), operation=shipped_chairs())


@responses.activate
@pytest.mark.parametrize("failure", [
    requests.exceptions.ConnectTimeout(),
    requests.exceptions.ConnectionError(MaxRetryError(
        None, "https://paella-sandbox.billie.io/api/v2/invoices",  # type: ignore[arg-type]
        NewConnectionError(None, "Connection refused"))),  # type: ignore[arg-type]
])
def test_connection_never_made_is_retryable_not_unknown(failure):
    token()
    responses.post(BASE + "invoices", body=failure)
    with pytest.raises(RetryableError) as caught:
        plugin.activate_order(order=context(), operation=shipped_chairs())
    assert not isinstance(caught.value, OutcomeUnknown)


@responses.activate
def test_failed_read_is_retryable_not_unknown():
    token()
    responses.get(BASE + f"orders/{ORDER_UUID}", body=requests.exceptions.ReadTimeout())
    with pytest.raises(RetryableError) as caught:
        plugin.lookup_operation(order=context(), operation=reduction(
            OperationKind.FULL_CREDIT, 30340))
    assert not isinstance(caught.value, OutcomeUnknown)


# -- a life cycle, body by body ---------------------------------------------------------


@responses.activate
def test_placement_sends_the_order_exactly():
    token()
    order_answer("POST", BASE + "orders", billie_order())
    result = plugin.place_order(order=context(reference=None), operation=placement())
    assert result.approved and result.provider_reference == ORDER_UUID
    assert result.details == {"state": "created", "iban": "DE02100100100000000001",
                              "bic": "TESTDEFFXXX", "bank_name": "Testbank"}
    assert sent(1) == {
        "amount": {"net": Decimal("260.00"), "gross": Decimal("303.40"),
                   "tax": Decimal("43.40")},
        "duration": 30,
        "external_code": "acme-1001",
        "debtor": {
            "merchant_customer_id": "einkauf@muster.example",
            "name": "Muster Bürobedarf",
            "legal_form": "10001",
            "company_address": {"street": "Hauptstraße", "house_number": "5",
                                "postal_code": "10115", "city": "Berlin", "country": "DE"},
            "tax_id": "DE136695976",
        },
        "debtor_person": {"email": "einkauf@muster.example", "first_name": "Erika",
                          "last_name": "Muster"},
        "line_items": [
            {"external_id": "1", "title": "Office chair", "quantity": 2,
             "amount": {"net": Decimal("200.00"), "gross": Decimal("238.00"),
                        "tax": Decimal("38.00")}},
            {"external_id": "2", "title": "Printer paper A4", "quantity": 10,
             "amount": {"net": Decimal("50.00"), "gross": Decimal("53.50"),
                        "tax": Decimal("3.50")}},
        ],
    }
    assert '"amount":{"net":260.00,"gross":303.40,"tax":43.40}' in raw(1)
    assert responses.calls[1].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_life_cycle_amounts_add_up_to_the_cent():
    """Placement, partial activation (the chairs), a returned chair, the rest cancelled."""
    token()
    order_answer("POST", BASE + "orders", billie_order())
    responses.post(BASE + "invoices", status=201, json={"uuid": INVOICE_UUID})
    # after the invoice, its number, due date and pay-to account are read from the order
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order("partially_shipped"))
    responses.post(BASE + f"invoices/{INVOICE_UUID}/credit-notes", status=201,
                   json={"uuid": "c3d40000-0000-4000-8000-0000000000c1"})
    responses.post(BASE + f"orders/{ORDER_UUID}/cancel", status=204)

    place, ship, back = placement(), shipped_chairs(), returned_chair()
    plugin.place_order(order=context(reference=None), operation=place)
    invoice = plugin.activate_order(order=context(), operation=ship)
    assert (invoice.provider_reference, invoice.document_number) == (INVOICE_UUID, "acme-1001-1")
    note = plugin.handle_return(order=context(invoices=(INVOICE_UUID,)), operation=back)
    assert note.document_number == f"CN-1001-{back.idempotency_key[:8]}"
    shipped = dict(ship.by_rate)
    rest = operation(OperationKind.FULL_CREDIT, tuple(
        (rate, a - shipped.get(rate, Amount.zero()))
        for rate, a in authorised_state().open_by_rate), source="full_credit",
        after_activation=False)
    cancelled = plugin.credit_full(order=context(invoices=(INVOICE_UUID,)), operation=rest)
    assert cancelled.provider_reference == ORDER_UUID

    assert sent(2) == {
        "orders": [ORDER_UUID], "external_code": "acme-1001-1", "invoice_url": ".",
        "shipping_info": {},
        "amount": {"net": Decimal("200.00"), "gross": Decimal("238.00"),
                   "tax": Decimal("38.00")},
        "line_items": [{"external_id": "1", "quantity": 2}],
    }
    assert responses.calls[3].request.url == BASE + f"orders/{ORDER_UUID}"
    assert sent(4) == {
        "external_code": f"CN-1001-{back.idempotency_key[:8]}",
        "amount": {"net": Decimal("100.00"), "gross": Decimal("119.00"),
                   "tax": Decimal("19.00")},
        "comment": "Return (refund:r1)",
        "line_items": [{"external_id": "1", "quantity": 1}],
    }
    assert responses.calls[5].request.url == BASE + f"orders/{ORDER_UUID}/cancel"
    assert not responses.calls[5].request.body
    ordered, invoiced = sent(1)["amount"], sent(2)["amount"]
    for part in ("gross", "net", "tax"):  # invoiced + cancelled rest = the order, to the cent
        assert invoiced[part] + getattr(rest.amount, part) / Decimal(100) == ordered[part]
    assert sent(4)["amount"]["gross"] <= invoiced["gross"]
    assert '"amount":{"net":100.00,"gross":119.00,"tax":19.00}' in raw(4)


@responses.activate
def test_invoice_url_template_is_filled_in():
    token()
    responses.post(BASE + "invoices", status=201, json={"uuid": INVOICE_UUID})
    settings = {**SETTINGS, "invoice_url": "https://shop.example/invoices/{number}.pdf"}
    result = plugin.activate_order(order=context(settings=settings, invoices=(INVOICE_2,)),
                                   operation=shipped_chairs())
    assert result.document_number == "acme-1001-2"
    assert sent(1)["invoice_url"] == "https://shop.example/invoices/acme-1001-2.pdf"


@responses.activate
def test_activation_without_a_billie_order_is_refused_before_sending():
    with pytest.raises(PermanentError, match="never placed"):
        plugin.activate_order(order=context(reference=None), operation=shipped_chairs())
    assert not responses.calls


@responses.activate
def test_reduction_before_activation_lowers_the_order_amount():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order())
    responses.post(BASE + f"orders/{ORDER_UUID}", status=204)
    op = reduction(OperationKind.PARTIAL_CREDIT, 5350)
    result = plugin.credit_partial(order=context(), operation=op)
    assert result.provider_reference == ORDER_UUID
    gross, net = 30340 - op.amount.gross, 26000 - op.amount.net
    assert sent(2) == {"amount": {"net": Decimal(net) / 100, "gross": Decimal(gross) / 100,
                                  "tax": Decimal(gross - net) / 100}}
    assert '"gross":249.90' in raw(2)


@responses.activate
def test_reduction_found_applied_is_not_sent_again():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}",
                 billie_order(gross="249.90", net="210.00"))
    plugin.transfer_discount(order=context(), operation=reduction(
        OperationKind.DISCOUNT_TRANSFER, 5350, source="discount:53.50"))
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_reduction_refused_when_billie_amount_differs():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(gross="100.00",
                                                                    net="90.00"))
    with pytest.raises(PermanentError, match=r"Billie's order amount is 100\.00 EUR"):
        plugin.credit_partial(order=context(), operation=reduction(
            OperationKind.PARTIAL_CREDIT, 5350))


@responses.activate
def test_full_credit_before_activation_cancels_the_order():
    token()
    responses.post(BASE + f"orders/{ORDER_UUID}/cancel", status=204)
    plugin.credit_full(order=context(), operation=reduction(OperationKind.FULL_CREDIT, 30340))
    assert responses.calls[1].request.url == BASE + f"orders/{ORDER_UUID}/cancel"


def invoice_summary(uuid: str, outstanding: str, state: str = "new") -> dict[str, Any]:
    return {"uuid": uuid, "invoice_number": "x", "state": state,
            "amount": {"gross": Decimal(outstanding), "net": Decimal(0), "tax": Decimal(0)},
            "outstanding_amount": Decimal(outstanding),
            "pending_merchant_payment_amount": Decimal(0)}


def billie_invoice(uuid: str, notes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"uuid": uuid, "invoice_number": "x", "state": "new",
            "credit_notes": notes or []}


@responses.activate
def test_credit_note_goes_to_the_invoice_that_can_hold_it():
    token()
    for uuid in (INVOICE_UUID, INVOICE_2):
        order_answer("GET", BASE + f"invoices/{uuid}", billie_invoice(uuid))
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(
        "shipped", invoices=[invoice_summary(INVOICE_UUID, "50.00"),
                             invoice_summary(INVOICE_2, "200.00")]))
    responses.post(BASE + f"invoices/{INVOICE_2}/credit-notes", status=201,
                   json={"uuid": "note-2"})
    back = returned_chair()
    result = plugin.handle_return(order=context(invoices=(INVOICE_UUID, INVOICE_2)),
                                  operation=back)
    assert result.provider_reference == "note-2"
    body = wire.loads(responses.calls[-1].request.body)
    assert body["external_code"] == f"CN-1001-{back.idempotency_key[:8]}-2"
    assert body["line_items"] == [{"external_id": "1", "quantity": 1}]


@responses.activate
def test_credit_larger_than_any_invoice_is_spread_over_them():
    token()
    for uuid in (INVOICE_UUID, INVOICE_2):
        order_answer("GET", BASE + f"invoices/{uuid}", billie_invoice(uuid))
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(
        "shipped", invoices=[invoice_summary(INVOICE_UUID, "100.00"),
                             invoice_summary(INVOICE_2, "50.00")]))
    for uuid in (INVOICE_UUID, INVOICE_2):
        responses.post(BASE + f"invoices/{uuid}/credit-notes", status=201,
                       json={"uuid": f"note-{uuid[-2:]}"})
    whole = operation(OperationKind.FULL_CREDIT,
                      ((Decimal("19"), Amount(11900, 10000, 1900)),), source="full_credit",
                      after_activation=True)
    plugin.credit_full(order=context(invoices=(INVOICE_UUID, INVOICE_2)), operation=whole)
    bodies = [wire.loads(c.request.body) for c in responses.calls
              if c.request.url.endswith("credit-notes")]
    assert [b["amount"]["gross"] for b in bodies] == [Decimal("100.00"), Decimal("19.00")]
    for part in ("gross", "net", "tax"):
        assert sum(b["amount"][part] for b in bodies) == getattr(whole.amount, part) / 100


# -- lookups ----------------------------------------------------------------------------


@responses.activate
def test_lookup_placement_finds_the_order_by_its_code():
    token()
    order_answer("GET", BASE + "orders/acme-1001", billie_order())
    lookup = plugin.lookup_operation(order=context(reference=None), operation=placement())
    assert lookup.applied and lookup.result.provider_reference == ORDER_UUID


@responses.activate
def test_lookup_placement_returns_the_decline():
    token()
    order_answer("GET", BASE + "orders/acme-1001",
                 billie_order("declined", decline_reason="debtor_not_identified"))
    lookup = plugin.lookup_operation(order=context(reference=None), operation=placement())
    assert lookup.applied
    assert not lookup.result.approved
    assert lookup.result.decline_reason == "debtor_not_identified"


@responses.activate
def test_lookup_placement_finds_an_order_placed_before_codes_carried_the_shop():
    token()
    responses.get(BASE + "orders/acme-1001", status=404, json={"errors": [
        {"title": "Order not found", "code": "resource_not_found"}]})
    order_answer("GET", BASE + "orders/1001", billie_order())
    lookup = plugin.lookup_operation(order=context(reference=None), operation=placement())
    assert lookup.applied and lookup.result.provider_reference == ORDER_UUID


@responses.activate
def test_lookup_placement_not_found():
    token()
    for code in ("acme-1001", "1001"):
        responses.get(BASE + f"orders/{code}", status=404, json={"errors": [
            {"title": "Order not found", "code": "resource_not_found"}]})
    lookup = plugin.lookup_operation(order=context(reference=None), operation=placement())
    assert not lookup.applied
    assert [c.request.url.removeprefix(BASE) for c in responses.calls[1:]] == [
        "orders/acme-1001", "orders/1001"]


@responses.activate
@pytest.mark.parametrize(("number", "applied"), [("acme-1001-1", True), ("1001-1", True),
                                                  ("acme-1001-7", False), ("1001-7", False)])
def test_lookup_activation_by_invoice_number(number, applied):
    token()
    summary = {**invoice_summary(INVOICE_UUID, "238.00"), "invoice_number": number}
    order_answer("GET", BASE + f"orders/{ORDER_UUID}",
                 billie_order("partially_shipped", invoices=[summary]))
    lookup = plugin.lookup_operation(order=context(), operation=shipped_chairs())
    assert lookup.applied is applied
    if applied:
        assert lookup.result.provider_reference == INVOICE_UUID
        assert lookup.result.document_number == number


@responses.activate
@pytest.mark.parametrize("suffix", ["", "-other"])
def test_lookup_credit_note_by_its_code(suffix):
    token()
    back = returned_chair()
    code = f"CN-1001-{back.idempotency_key[:8]}"
    note = {"uuid": "note-1", "external_code": code if not suffix else "CN-9", "comment": "",
            "amount": {"gross": Decimal("119.00"), "net": Decimal("100.00"),
                       "tax": Decimal("19.00")}, "created_at": "2026-11-05 10:00:00"}
    order_answer("GET", BASE + f"invoices/{INVOICE_UUID}", billie_invoice(INVOICE_UUID,
                                                                          [note]))
    lookup = plugin.lookup_operation(order=context(invoices=(INVOICE_UUID,)), operation=back)
    assert lookup.applied is (not suffix)
    if lookup.applied:
        assert lookup.result.provider_reference == "note-1"
        assert lookup.result.document_number == code


@responses.activate
def test_lookup_credit_note_when_billie_does_not_list_them():
    token()
    order_answer("GET", BASE + f"invoices/{INVOICE_UUID}", {"uuid": INVOICE_UUID})
    with pytest.raises(PermanentError, match="does not list its credit notes"):
        plugin.lookup_operation(order=context(invoices=(INVOICE_UUID,)),
                                operation=returned_chair())


@responses.activate
@pytest.mark.parametrize(("gross", "net", "applied"), [("249.90", "210.00", True),
                                                       ("303.40", "260.00", False)])
def test_lookup_amount_reduction(gross, net, applied):
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(gross=gross, net=net))
    lookup = plugin.lookup_operation(order=context(), operation=reduction(
        OperationKind.PARTIAL_CREDIT, 5350))
    assert lookup.applied is applied


@responses.activate
@pytest.mark.parametrize(("state", "unshipped", "invoices", "applied"), [
    ("canceled", None, (), True),
    ("cancelled", None, (), True),
    ("created", None, (), False),
    ("shipped", "0.00", (INVOICE_UUID,), True),  # the rest of a partly invoiced order
    ("partially_shipped", "65.40", (INVOICE_UUID,), False),
])
def test_lookup_cancel(state, unshipped, invoices, applied):
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(state,
                                                                    unshipped=unshipped))
    lookup = plugin.lookup_operation(order=context(invoices=invoices),
                                     operation=reduction(OperationKind.FULL_CREDIT, 30340))
    assert lookup.applied is applied


def credited_state(credited: int) -> OrderState:
    return replace(authorised_state(), credited=credited)


@responses.activate
def test_reduction_accepts_an_order_amount_already_lowered_by_credit_notes():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(gross="184.40",
                                                                    net="160.00"))
    responses.post(BASE + f"orders/{ORDER_UUID}", status=204)
    plugin.credit_partial(order=context(state=credited_state(11900), invoices=(INVOICE_UUID,)),
                          operation=reduction(OperationKind.PARTIAL_CREDIT, 5350))
    assert sent(2)["amount"]["gross"] == Decimal("130.90")


@responses.activate
def test_reduction_that_cannot_be_told_from_billie_state_is_not_guessed():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order(gross="249.90",
                                                                    net="210.00"))
    with pytest.raises(PermanentError, match="does not tell"):
        plugin.credit_partial(order=context(state=credited_state(5350),
                                            invoices=(INVOICE_UUID,)),
                              operation=reduction(OperationKind.PARTIAL_CREDIT, 5350))
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_reduction_of_everything_left_before_an_invoice_cancels():
    token()
    order_answer("GET", BASE + f"orders/{ORDER_UUID}", billie_order())
    responses.post(BASE + f"orders/{ORDER_UUID}/cancel", status=204)
    plugin.credit_partial(order=context(), operation=reduction(OperationKind.PARTIAL_CREDIT,
                                                               30340))
    assert responses.calls[-1].request.url == BASE + f"orders/{ORDER_UUID}/cancel"
