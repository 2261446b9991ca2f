"""The Mondu provider against a stateful stand-in for Mondu's API v1 (``responses``; no
network): the contract suite, a whole order life to the cent, and faults that end in exactly
one effect."""

from __future__ import annotations

import itertools
import json
import re
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from sqlalchemy import select, update

from conftest import MERCHANT_ID
from core.errors import ConfigurationError, OutcomeUnknown, PermanentError, RetryableError
from core.execute import process_snapshot
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord
from core.ledger.store import Ledger
from orders import line, snapshot
from plugins.mondu import client
from plugins.mondu.settings import PRODUCTION_URL, SANDBOX_URL, read_settings
from testkit.contract import ProviderCase, ProviderPluginContract

BASE = SANDBOX_URL
TOKEN = "mondu-api-token-do-not-show"
SETTINGS = {"api_token": TOKEN}
LINES = [
    ("1", "product", "Office chair", 2, "200.00", "19"),
    ("2", "product", "Printer paper A4", 10, "50.00", "7"),
    ("ship", "shipping", "DHL Paket", 1, "10.00", "19"),
]


class MonduStandIn:
    """Mondu's API as far as the plugin uses it, with state: orders, invoices, credit notes.

    ``fail(method, path, *outcomes)`` makes the next calls matching ``path`` (a regular
    expression) fail in turn: an HTTP status, ``"timeout"`` (nothing applied, read timeout)
    or ``"timeout-after"`` (applied, then the answer is lost). ``effects`` lists every write
    that changed Mondu's state."""

    def __init__(self, api: responses.RequestsMock) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.invoices: dict[str, dict[str, Any]] = {}
        self.effects: list[tuple[str, str, Any]] = []
        self.calls: list[tuple[str, str]] = []
        self.bodies: list[tuple[str, str, Any]] = []
        self.faults: list[tuple[str, re.Pattern[str], Any]] = []
        self._ids = itertools.count(1)
        for method in ("GET", "POST"):
            api.add_callback(method, re.compile(re.escape(BASE) + ".*"), callback=self._handle)

    def fail(self, method: str, path: str, *outcomes: Any) -> None:
        self.faults.extend((method, re.compile(path + "$"), o) for o in outcomes)

    def uuid(self, kind: str) -> str:
        return f"{kind}-{next(self._ids):04d}-0000-4000-8000-000000000000"

    def _handle(self, request: requests.PreparedRequest):
        assert request.headers["Api-Token"] == TOKEN
        url = urlsplit(request.url)
        path = url.path.removeprefix(urlsplit(BASE).path)
        body = json.loads(request.body) if request.body else None
        self.calls.append((request.method, path))
        if request.method == "POST":
            self.bodies.append((request.method, path, body))
        fault = next((f for f in self.faults if f[0] == request.method and f[1].match(path)),
                     None)
        if fault is not None:
            self.faults.remove(fault)
            if fault[2] == "timeout":
                return requests.exceptions.ReadTimeout("read timed out")
            if fault[2] != "timeout-after":
                headers = {"Retry-After": "0"} if fault[2] == 429 else {}
                return fault[2], headers, json.dumps({"errors": [{"title": "stand-in"}]})
        status, answer = self._route(request.method, path, parse_qs(url.query), body)
        if 200 <= status < 300 and request.method == "POST":
            self.effects.append((request.method, path, body))
        if fault is not None:  # timeout-after: applied, answer lost
            return requests.exceptions.ReadTimeout("read timed out")
        return status, {"Content-Type": "application/json"}, json.dumps(answer)

    def _order(self, uuid: str) -> dict[str, Any]:
        order = self.orders[uuid]
        return {"uuid": uuid, "state": order["state"], "real_price_cents": order["amount"],
                "gross_amount_cents": order["amount"],
                "external_reference_id": order["reference"],
                "bank_account": {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX"}}

    def _invoice(self, uuid: str) -> dict[str, Any]:
        invoice = self.invoices[uuid]
        return {"uuid": uuid, "invoice_number": invoice["number"], "state": "created",
                "gross_amount_cents": invoice["gross"], "credit_notes": invoice["notes"]}

    def _route(self, method: str, path: str, query: dict[str, list[str]],
               body: Any) -> tuple[int, Any]:
        parts = path.split("/")
        if method == "POST" and parts == ["orders"]:
            uuid = self.uuid("o")
            email = body["buyer"]["email"]
            state = "declined" if "decline" in email else (
                "authorized" if "authorize" in email else "confirmed")
            self.orders[uuid] = {"state": state, "amount": body["gross_amount_cents"],
                                 "reference": body["external_reference_id"], "invoices": []}
            return 201, {"order": self._order(uuid)}
        if method == "GET" and parts == ["orders"]:
            wanted = query.get("external_reference_id", [None])[0]
            return 200, {"orders": [self._order(u) for u, o in self.orders.items()
                                    if o["reference"] == wanted]}
        if parts[0] == "orders" and parts[1] not in self.orders:
            return 404, {"errors": [{"title": "not found"}]}
        if parts[0] == "orders" and len(parts) == 2:
            return 200, {"order": self._order(parts[1])}
        if parts[0] == "orders":
            order, action = self.orders[parts[1]], parts[2]
            if method == "GET" and action == "invoices":
                return 200, {"invoices": [self._invoice(i) for i in order["invoices"]]}
            if action == "confirm":
                order["state"] = "confirmed"
                return 200, {"order": {"uuid": parts[1], "state": "confirmed",
                                       "external_reference_id": order["reference"]}}
            if action == "cancel":
                order["state"] = "canceled"
                return 200, {"order": self._order(parts[1])}
            if action == "adjust":
                amount = body["amount"]
                assert amount["net_price_cents"] + amount["tax_cents"] == \
                    amount["gross_amount_cents"]
                if amount["gross_amount_cents"] > order["amount"]:
                    return 422, {"errors": [{"title": "increase"}]}
                order["amount"] = amount["gross_amount_cents"]
                return 200, {"order": self._order(parts[1])}
            if action == "invoices":
                billed = sum(self.invoices[i]["gross"] for i in order["invoices"])
                if order["state"] not in ("confirmed", "partially_shipped") \
                        or billed + body["gross_amount_cents"] > order["amount"]:
                    return 422, {"errors": [{"title": "invoice not allowed"}]}
                uuid = self.uuid("i")
                self.invoices[uuid] = {"number": body["external_reference_id"],
                                       "gross": body["gross_amount_cents"], "notes": []}
                order["invoices"].append(uuid)
                billed += body["gross_amount_cents"]
                order["state"] = "shipped" if billed == order["amount"] else "partially_shipped"
                return 201, {"invoice": {"uuid": uuid, **self._invoice(uuid)}}
        if method == "POST" and parts[0] == "invoices" and parts[2] == "credit_notes":
            invoice = self.invoices[parts[1]]
            credited = sum(n["gross_amount_cents"] for n in invoice["notes"])
            if credited + body["gross_amount_cents"] > invoice["gross"]:
                return 422, {"errors": [{"title": "credit note too large"}]}
            note = {"uuid": self.uuid("c"), **body}
            invoice["notes"].append(note)
            return 201, {"credit_note": note}
        return 404, {"errors": [{"title": f"no route {method} {path}"}]}


@contextmanager
def mondu_stand_in(outcome: str = "ok"):
    """For the contract suite: Mondu answering (``ok``), down (503) or refusing (400); yields
    the gross amounts it was sent, as decimals."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        if outcome != "ok":
            mondu.fail("POST", "orders", 503 if outcome == "transient" else 400)

        def sent() -> list[Decimal]:
            return [Decimal(b["gross_amount_cents"]).scaleb(-2) for _, _, b in mondu.bodies
                    if b and "gross_amount_cents" in b]

        yield sent


class TestMonduProvider(ProviderPluginContract):
    @pytest.fixture
    def provider_case(self):
        return ProviderCase(provider="mondu", settings=SETTINGS, far_side=mondu_stand_in)


# -- settings and the client ------------------------------------------------------------


def test_settings_default_to_the_sandbox_and_never_show_the_token():
    settings = read_settings(SETTINGS)
    assert settings.base_url == "https://api.demo.mondu.ai/api/v1/"
    assert (settings.net_term, settings.payment_method, settings.timeout) == (
        30, "invoice", (5.0, 30.0))
    assert TOKEN not in repr(settings)
    production = read_settings({**SETTINGS, "sandbox": "false", "net_term": "60"})
    assert (production.base_url, production.net_term) == (PRODUCTION_URL, 60)


@pytest.mark.parametrize(("change", "name"), [
    ({"api_token": None}, "api_token"), ({"sandbox": "maybe"}, "sandbox"),
    ({"net_term": "soon"}, "net_term"), ({"payment_method": "cash"}, "payment_method"),
    ({"read_timeout": "0"}, "read_timeout"), ({"invoice_url": "https://x/"}, "invoice_url"),
    ({"base_url": "ftp://x"}, "base_url"),
])
def test_bad_settings_are_named_without_their_value(change, name):
    with pytest.raises(ConfigurationError, match=name) as caught:
        read_settings({**SETTINGS, **change})
    assert TOKEN not in str(caught.value)


@responses.activate
@pytest.mark.parametrize(("status", "error"), [
    (500, OutcomeUnknown), (502, OutcomeUnknown), (503, RetryableError),
    (429, RetryableError), (422, PermanentError), (401, ConfigurationError)])
def test_answers_map_to_the_kits_errors(status, error):
    responses.post(BASE + "orders", status=status,
                   json={"errors": [{"name": "buyer.email", "details": "is invalid"}]})
    with pytest.raises(error) as caught:
        client.post(read_settings(SETTINGS), "orders", {"a": 1})
    assert type(caught.value) is error
    assert TOKEN not in str(caught.value)
    if status == 422:
        assert "is invalid [buyer.email]" in str(caught.value)


@responses.activate
def test_429_carries_retry_after_and_the_token_header_is_sent():
    responses.post(BASE + "orders", status=429, headers={"Retry-After": "120"})
    with pytest.raises(RetryableError) as caught:
        client.post(read_settings(SETTINGS), "orders", {"a": 1})
    assert caught.value.retry_after == 120
    assert responses.calls[0].request.headers["Api-Token"] == TOKEN


def test_floats_are_never_sent():
    with pytest.raises(TypeError):
        client.dumps({"gross_amount_cents": 1.5})


# -- a whole life at the kit, to the cent ----------------------------------------------


@pytest.fixture
def mondu_merchant(kit, woo_shop):
    kit.hooks.pm.unregister(name="core.writeback.plugin")  # only Mondu answers here
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, provider="mondu",
                                           provider_settings=SETTINGS)
    return kit


def step(minutes, shipped=(), refunds=(), lines=LINES, email="einkauf@muster.example"):
    items = [line(*spec) for spec in lines]
    for item in items:
        item["shipped"] = dict(shipped).get(item["line_id"])
    order = snapshot("1001", lines=items, discounts=[], minutes=minutes, refunds=list(refunds))
    return replace(order, buyer=replace(order.buyer, email=email))


CHAIR = {"refund_id": "r1", "amount": "119.00",
         "lines": [{"line_id": "1", "quantity": 1, "amount": "119.00"}]}
LIFE = (lambda: step(0), lambda: step(1, shipped={"1": 2, "2": 0, "ship": 1}),
        lambda: step(2, shipped={"1": 2, "2": 0, "ship": 1}, refunds=[CHAIR]),
        lambda: step(3, shipped={"1": 2, "ship": 1}, refunds=[CHAIR],
                     lines=[spec for spec in LINES if spec[0] != "2"]))


def state_of(kit, order_id="1001"):
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        return ledger.state_of(ledger.find_order("acme", order_id))


def test_placement_partial_invoice_credit_note_and_cancel_of_the_rest(mondu_merchant):
    kit = mondu_merchant
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        outcomes = [process_snapshot(kit.engine, kit.hooks, make()) for make in LIFE]
    assert [o.failure for o in outcomes] == [None] * 4
    writes = [(path.split("/")[0], path.split("/")[-1], body) for _, path, body in mondu.effects]
    placed = writes[0][2]
    assert placed["external_reference_id"] == "acme/1001"
    assert placed["gross_amount_cents"] == 303_40
    (mondu_line,) = placed["lines"]
    items = mondu_line["line_items"]
    assert [(i["external_reference_id"], i["quantity"], i["net_price_cents"], i["tax_cents"])
            for i in items] == [("1", 2, 200_00, 38_00), ("2", 10, 50_00, 3_50)]
    assert (mondu_line["shipping_price_cents"], mondu_line["tax_cents"]) == (10_00, 43_40)
    assert sum(i["net_price_cents"] for i in items) + mondu_line["tax_cents"] \
        + mondu_line["shipping_price_cents"] == placed["gross_amount_cents"]
    order_uuid = next(iter(mondu.orders))
    invoice_uuid = next(iter(mondu.invoices))
    assert writes[1:] == [
        ("orders", "invoices", {"external_reference_id": "1001-1", "invoice_url": ".",
                                "gross_amount_cents": 249_90, "tax_cents": 39_90,
                                "line_items": [{"external_reference_id": "1", "quantity": 2}]}),
        ("invoices", "credit_notes", {
            "external_reference_id": writes[2][2]["external_reference_id"],
            "gross_amount_cents": 119_00, "tax_cents": 19_00, "notes": "Return (refund:r1)",
            "line_items": [{"external_reference_id": "1", "quantity": 1}]}),
        ("orders", "adjust", {"external_reference_id": "acme/1001", "currency": "EUR",
                              "amount": {"gross_amount_cents": 249_90,
                                         "net_price_cents": 210_00, "tax_cents": 39_90},
                              # the shop's lines go along: they add up to the new amount
                              "lines": [{"tax_cents": 39_90, "shipping_price_cents": 10_00,
                                         "discount_cents": 0, "buyer_fee_cents": 0,
                                         "line_items": [items[0]]}]}),
    ]
    assert writes[2][2]["external_reference_id"].startswith("CN-1001-")
    assert mondu.orders[order_uuid]["amount"] == mondu.invoices[invoice_uuid]["gross"] == 249_90
    state = state_of(kit)
    assert (state.status.value, state.activated, state.credited, state.reduced) == (
        "active", 249_90, 119_00, 53_50)
    assert state.activated + state.reduced == 303_40 and state.open_amount == 130_90


def test_an_authorized_order_is_confirmed_and_a_decline_is_its_reason(mondu_merchant):
    kit = mondu_merchant
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        process_snapshot(kit.engine, kit.hooks, step(0, email="authorize@muster.example"))
        assert [p for _, p, _ in mondu.effects][1].endswith("/confirm")
        assert state_of(kit).status.value == "authorised"
        declined = step(0, email="decline@muster.example")
        process_snapshot(kit.engine, kit.hooks, replace(declined, order_id="1002",
                                                        order_number="1002"))
    assert (state_of(kit, "1002").status.value, state_of(kit, "1002").decline_reason) == (
        "declined", "declined")


# -- faults: each ends in exactly one effect --------------------------------------------


def retry_now(kit):
    """The kit's next attempt of the order's unfinished operations, once their wait is
    over."""
    with session_scope(kit.engine) as session:
        session.execute(update(OperationRecord).values(next_attempt_at=None))
    return process_snapshot(kit.engine, kit.hooks, LIFE[1]())


def activation(kit):
    with session_scope(kit.engine) as session:
        return session.scalars(select(OperationRecord).where(
            OperationRecord.kind == "activation")).one()


@pytest.mark.parametrize("faults", [(500,), (500, 502), (429,), (503,), ("timeout",),
                                    ("timeout-after",), (500, "timeout-after")])
def test_faults_at_invoicing_end_in_one_invoice(mondu_merchant, faults):
    kit = mondu_merchant
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        process_snapshot(kit.engine, kit.hooks, LIFE[0]())
        mondu.fail("POST", r"orders/[^/]+/invoices", *faults)
        outcome = process_snapshot(kit.engine, kit.hooks, LIFE[1]())
        assert outcome.failure is not None
        for _ in faults:
            outcome = retry_now(kit)
        assert outcome.failure is None, outcome.failure
        posted = [c for c in mondu.calls if c[0] == "POST" and c[1].endswith("/invoices")]
        reads = [c for c in mondu.calls if c[0] == "GET" and c[1].endswith("/invoices")]
    assert len(mondu.invoices) == 1
    # after a timeout-after the lookup finds the invoice: it is not posted again
    assert len(posted) == len(faults) + (0 if faults[-1] == "timeout-after" else 1)
    maybe_applied = [f for f in faults if f in (500, 502, "timeout", "timeout-after")]
    assert len(reads) == len(maybe_applied)  # 429/503 were not taken in: no read needed
    record = activation(kit)
    assert (record.status, record.provider_reference, record.document_number) == (
        "succeeded", next(iter(mondu.invoices)), "1001-1")


def test_timeout_after_the_placement_adopts_the_order_made(mondu_merchant):
    kit = mondu_merchant
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        mondu.fail("POST", "orders", "timeout-after")
        assert process_snapshot(kit.engine, kit.hooks, LIFE[0]()).failure is not None
        with session_scope(kit.engine) as session:
            session.execute(update(OperationRecord).values(next_attempt_at=None))
        assert process_snapshot(kit.engine, kit.hooks, LIFE[0]()).failure is None
    assert len(mondu.orders) == 1
    assert [c for c in mondu.calls if c == ("POST", "orders")] == [("POST", "orders")]
    with session_scope(kit.engine) as session:
        ledger = Ledger(session)
        assert ledger.find_order("acme", "1001").provider_reference == next(iter(mondu.orders))


def test_timeout_after_a_credit_note_and_an_adjust_are_not_repeated(mondu_merchant):
    kit = mondu_merchant
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        mondu = MonduStandIn(api)
        for make in LIFE[:2]:
            process_snapshot(kit.engine, kit.hooks, make())
        mondu.fail("POST", r"invoices/[^/]+/credit_notes", "timeout-after")
        mondu.fail("POST", r"orders/[^/]+/adjust", "timeout-after")
        for make in LIFE[2:]:
            assert process_snapshot(kit.engine, kit.hooks, make()).failure is not None
            with session_scope(kit.engine) as session:
                session.execute(update(OperationRecord).values(next_attempt_at=None))
            assert process_snapshot(kit.engine, kit.hooks, make()).failure is None
    kinds = [p.split("/")[-1] for _, p, _ in mondu.effects]
    assert kinds.count("credit_notes") == 1 and kinds.count("adjust") == 1
    (invoice,) = mondu.invoices.values()
    assert [n["gross_amount_cents"] for n in invoice["notes"]] == [119_00]
    assert next(iter(mondu.orders.values()))["amount"] == 249_90
    state = state_of(kit)
    assert (state.credited, state.reduced, state.open_amount) == (119_00, 53_50, 130_90)


def test_mondu_refuses_increases():
    """Whether Mondu's adjust may raise an order is not documented: not declared."""
    from core.operations import OperationKind
    from plugins.mondu.plugin import declare_provider

    info = declare_provider()
    assert OperationKind.INCREASE not in info.operations and not info.increases
