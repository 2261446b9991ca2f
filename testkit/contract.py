"""Contract suites: what every shop platform and provider plugin must do, as tests a plugin
runs on itself.

Subclass :class:`ShopPluginContract` in your plugin's tests and give it a ``shop_case``
fixture returning a :class:`ShopCase`: your platform's name, a few deliveries exactly as the
shop sends them, and how the shop signs one. A provider plugin subclasses
:class:`ProviderPluginContract` with a ``provider_case`` fixture (:class:`ProviderCase`).
The built-in plugins run the same suites in the kit's CI
(``tests/test_plugin_contracts.py``)::

    class TestAcmeContract(ShopPluginContract):
        @pytest.fixture
        def shop_case(self):
            return ShopCase(platform="acme", deliveries=[ORDER], sign=sign_acme)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from core.context import OrderContext, ParsedDelivery
from core.errors import ConfigurationError, InvoicekitError, SignatureError
from core.execute import Outcome, process_snapshot
from core.hooks import OPERATION_HOOKS, Hooks
from core.ledger.db import session_scope
from core.ledger.models import Invoice, OperationRecord
from core.ledger.store import Ledger
from core.money import Amount
from core.operations import Operation, OperationKind
from core.reconcile import Rules, reconcile
from core.schemas import dump_snapshot, load_snapshot
from core.snapshot import OrderSnapshot
from core.state import OrderState

__all__ = ["ProviderCase", "ProviderPluginContract", "ShopCase", "ShopPluginContract"]


@dataclass(frozen=True)
class ShopCase:
    """What the shop contract needs to know about a platform plugin.

    :ivar platform: the platform name the plugin declares.
    :ivar deliveries: order deliveries as the shop sends them (raw bodies), each of which
        the plugin must parse into a snapshot.
    :ivar sign: the headers the shop sends with ``body`` signed with ``secret``.
    :ivar headers: headers every delivery carries besides the signature (a topic).
    :ivar secret: a secret in the form the platform's signatures need.
    :ivar previous_secret: the secret before a rotation, still accepted meanwhile.
    :ivar settings: the connection's platform settings for ``parse_delivery``.
    """

    platform: str
    deliveries: Sequence[bytes]
    sign: Callable[[bytes, str], Mapping[str, str]]
    headers: Mapping[str, str] = field(default_factory=dict)
    secret: str = "contract-secret-0123456789abcdef0123456789"
    previous_secret: str = "contract-secret-previous-0123456789abcdef"
    settings: Mapping[str, Any] = field(default_factory=dict)
    shop: str = "contract-shop"

    def signed(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        return {**self.headers, **self.sign(body, secret or self.secret)}


def _accepts(hooks: Hooks, case: ShopCase, body: bytes, headers: Mapping[str, str],
             secrets: Sequence[str]) -> bool:
    try:
        return hooks.verify_delivery(case.platform, body, headers, secrets)
    except SignatureError:
        return False


def _altered(body: bytes) -> bytes:
    """``body`` with one byte in its middle changed (a digit stays a digit)."""
    at = len(body) // 2
    replacement = b"7" if body[at:at + 1] != b"7" else b"8"
    return body[:at] + replacement + body[at + 1:]


def _parsed(hooks: Hooks, case: ShopCase, body: bytes) -> ParsedDelivery:
    try:
        return hooks.parse_delivery(case.platform, case.shop, body, case.signed(body),
                                    case.settings)
    except InvoicekitError as exc:
        pytest.fail(f"parse_delivery refused a delivery of the contract case: {exc}")


class ShopPluginContract:
    """The contract of a shop platform plugin; needs the ``shop_case`` and
    ``invoicekit_hooks`` fixtures (the latter comes with the kit's pytest plugin)."""

    def test_the_platform_is_declared_with_its_capabilities(self, shop_case, invoicekit_hooks):
        info = invoicekit_hooks.platforms().get(shop_case.platform)
        assert info is not None, (f"no installed plugin declares the platform "
                                  f"{shop_case.platform!r} (declare_platform)")
        assert OperationKind.FULL_CREDIT in info.capabilities, \
            "capabilities must include full credit: every shop can cancel an order"
        assert info.capabilities <= frozenset(OperationKind)

    def test_its_own_signature_is_accepted(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            assert _accepts(invoicekit_hooks, shop_case, body, shop_case.signed(body),
                            [shop_case.secret]), \
                "verify_delivery refused a delivery signed with the shop's own secret"

    def test_an_altered_body_is_refused(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            headers = shop_case.signed(body)
            assert not _accepts(invoicekit_hooks, shop_case, _altered(body), headers,
                                [shop_case.secret]), \
                ("verify_delivery accepted a body changed after it was signed: the "
                 "signature check must cover the raw body bytes")

    def test_another_secret_is_refused(self, shop_case, invoicekit_hooks):
        body = shop_case.deliveries[0]
        assert not _accepts(invoicekit_hooks, shop_case, body,
                            shop_case.signed(body, shop_case.previous_secret),
                            [shop_case.secret]), \
            "verify_delivery accepted a delivery signed with a secret the shop does not have"
        assert not _accepts(invoicekit_hooks, shop_case, body, dict(shop_case.headers),
                            [shop_case.secret]), \
            "verify_delivery accepted a delivery without a signature"

    def test_the_previous_secret_is_accepted_during_a_rotation(self, shop_case,
                                                                invoicekit_hooks):
        body = shop_case.deliveries[0]
        assert _accepts(invoicekit_hooks, shop_case, body,
                        shop_case.signed(body, shop_case.previous_secret),
                        [shop_case.secret, shop_case.previous_secret]), \
            ("verify_delivery refused a delivery signed with the previous secret while both "
             "are configured: try every secret it is given")

    def test_deliveries_parse_into_valid_snapshots(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            parsed = _parsed(invoicekit_hooks, shop_case, body)
            assert parsed.ignored is None, f"the contract's delivery was ignored: {parsed.ignored}"
            assert parsed.snapshots, "parse_delivery gave no snapshot for an order delivery"
            assert parsed.dedupe_key and len(parsed.dedupe_key) <= 64
            for snapshot in parsed.snapshots:
                assert snapshot.shop == shop_case.shop, "a snapshot must name the shop it came from"
                assert load_snapshot(dump_snapshot(snapshot)) == snapshot, \
                    "the snapshot does not survive validation (core.schemas.load_snapshot)"

    def test_the_same_delivery_twice_gives_the_same_snapshot(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            first = _parsed(invoicekit_hooks, shop_case, body)
            second = _parsed(invoicekit_hooks, shop_case, body)
            assert (first.dedupe_key, first.snapshots) == (second.dedupe_key, second.snapshots), \
                "parsing is not deterministic: the same delivery gave another snapshot or key"


# -- providers --------------------------------------------------------------------------------

SentAmounts = Callable[[], list[Decimal]]


@dataclass(frozen=True)
class ProviderCase:
    """What the provider contract needs to know about a provider plugin.

    :ivar provider: the provider name the plugin declares.
    :ivar settings: the merchant's provider settings (credentials of a sandbox).
    :ivar far_side: for a remote provider, a context manager standing in for its API
        (``responses``): ``far_side("ok")`` answers the contract's orders as the API would,
        ``"transient"`` fails every call as a passing outage would (HTTP 503),
        ``"permanent"`` as a refusal would (HTTP 400). It yields a function returning the
        gross amounts the API was sent so far, as exact decimals.
    """

    provider: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    far_side: Callable[[str], AbstractContextManager[SentAmounts]] | None = None


def contract_order(order_id: str, status: str = "processing", minute: int = 0) -> OrderSnapshot:
    """An order of 1,190.00 EUR (1,000.00 net at 19 %) of a German business buyer."""
    return load_snapshot({
        "shop": "contract-shop", "order_id": order_id, "order_number": order_id,
        "currency": "EUR", "status": status, "ordering_key": f"2026-12-01T09:{minute:02d}:00Z",
        "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH",
                  "vat_id": "DE136695976", "first_name": "Erika", "last_name": "Muster",
                  "email": "einkauf@muster.example", "street": "Hauptstraße 5",
                  "postcode": "10115", "city": "Berlin", "country": "DE"},
        "lines": [{"line_id": "1", "kind": "product", "name": "Standing desk", "quantity": 1,
                   "sku": "DESK-1", "net": "1000.00", "tax": "190.00", "gross": "1190.00",
                   "tax_rate": "19"}],
        "total": "1190.00", "total_tax": "190.00"})


# order A is placed and invoiced, order B placed and cancelled before it was invoiced
LIFE_CYCLE = (("A", "processing", 0), ("A", "completed", 1), ("B", "processing", 2),
              ("B", "cancelled", 3))


@dataclass
class ProviderRun:
    engine: Engine
    hooks: Hooks
    case: ProviderCase

    @property
    def remote(self) -> bool:
        return self.hooks.providers()[self.case.provider].remote

    def feed(self, steps: Sequence[tuple[str, str, int]]) -> list[Outcome]:
        return [process_snapshot(self.engine, self.hooks, contract_order(*step))
                for step in steps]

    def far_side(self, outcome: str) -> AbstractContextManager[SentAmounts]:
        assert self.case.far_side is not None, \
            f"provider {self.case.provider!r} is remote: its ProviderCase needs a far_side"
        return self.case.far_side(outcome)

    def count(self, model: type) -> int:
        with session_scope(self.engine) as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


class ProviderPluginContract:
    """The contract of a provider plugin; needs the ``provider_case`` fixture and the kit's
    ``invoicekit_engine`` and ``invoicekit_hooks``."""

    @pytest.fixture
    def provider_run(self, provider_case, invoicekit_engine, invoicekit_hooks) -> ProviderRun:
        with session_scope(invoicekit_engine) as session:
            ledger = Ledger(session)
            ledger.add_merchant(id=3333, name="Contract GmbH", country="DE",
                                account_holder="Contract GmbH", bank_code="10020030",
                                account_first=4_000_000_000, account_last=4_000_009_999,
                                kyc_verified=True, provider=provider_case.provider)
            ledger.configure_merchant(3333, provider_settings=dict(provider_case.settings))
            ledger.add_connection(name="contract-shop", merchant_id=3333, platform="generic",
                                  status_map={"completed": "activate", "cancelled": "cancel"})
        return ProviderRun(invoicekit_engine, invoicekit_hooks, provider_case)

    def test_every_operation_is_implemented_or_declared_unsupported(self, provider_case,
                                                                    invoicekit_hooks):
        info = invoicekit_hooks.providers().get(provider_case.provider)
        assert info is not None, (f"no installed plugin declares the provider "
                                  f"{provider_case.provider!r} (declare_provider)")
        implemented = _hooks_of(invoicekit_hooks, provider_case.provider)
        for kind, hook in OPERATION_HOOKS.items():
            if kind in info.operations:
                assert hook in implemented, (f"{provider_case.provider} declares {kind.value} "
                                             f"but does not implement {hook}")
        order = contract_order("X")
        for kind in set(OperationKind) - set(info.operations):
            operation = _operation_of(order, kind)
            with pytest.raises(ConfigurationError, match="does not support"):
                invoicekit_hooks.run_operation(_context(order, provider_case), operation, None)

    def test_an_order_runs_with_exact_amounts(self, provider_run):
        with _far_side(provider_run, "ok") as sent:
            outcomes = provider_run.feed(LIFE_CYCLE)
            amounts = sent()
        failures = [o.failure.error for o in outcomes if o.failure]
        assert failures == [], f"the contract's order life cycle failed: {failures}"
        assert [o.status.value for o in outcomes] == ["authorised", "active", "authorised",
                                                      "voided"]
        if provider_run.remote:
            assert amounts and set(amounts) == {Decimal("1190.00")}, \
                (f"the provider's API was sent {amounts}, not the operations' exact amounts "
                 "(1190.00)")
        else:
            with session_scope(provider_run.engine) as session:
                grosses = list(session.scalars(select(Invoice.gross)))
            assert grosses == [1190_00], f"the invoices' gross {grosses} is not the order's"

    def test_replaying_an_order_repeats_no_effect(self, provider_run):
        with _far_side(provider_run, "ok") as sent:
            provider_run.feed(LIFE_CYCLE)
            calls, records = len(sent()), provider_run.count(OperationRecord)
            documents = provider_run.count(Invoice)
            again = provider_run.feed(LIFE_CYCLE)
            assert len(sent()) == calls, "replayed deliveries called the provider again"
        assert all(o.failure is None and not o.executed for o in again)
        assert provider_run.count(OperationRecord) == records
        assert provider_run.count(Invoice) == documents

    def test_the_same_key_is_one_effect(self, provider_run):
        """A ledger provider answers an idempotency key it has seen with what it did; a
        remote one must say, through ``lookup_operation``, whether a call whose outcome was
        unknown took effect, so that the kit never repeats it blindly."""
        if provider_run.remote:
            info = provider_run.hooks.providers()[provider_run.case.provider]
            implemented = _hooks_of(provider_run.hooks, provider_run.case.provider)
            assert info.idempotency_keys or "lookup_operation" in implemented, \
                ("a remote provider whose API does not honour idempotency keys "
                 "(ProviderInfo.idempotency_keys) must implement lookup_operation")
            return
        provider_run.feed(LIFE_CYCLE[:1])
        order = contract_order("A", "completed", 1)
        with session_scope(provider_run.engine) as session:
            ledger = Ledger(session)
            record = ledger.find_order("contract-shop", "A")
            context = replace(_context(order, provider_run.case), order_key=record.id,
                              state=ledger.state_of(record),
                              provider_reference=record.provider_reference)
            state = ledger.state_of(record)
            operation = reconcile(order, state, Rules.from_mapping(
                {"completed": "activate"})).operations[0]
            first = provider_run.hooks.run_operation(context, operation, ledger)
            second = provider_run.hooks.run_operation(context, operation, ledger)
        assert first.document_number == second.document_number, \
            "the same idempotency key made a second document"
        assert provider_run.count(Invoice) == 1

    def test_transient_and_permanent_errors_are_told_apart(self, provider_run):
        if not provider_run.remote:
            pytest.skip("a provider in the ledger has no far side that can fail")
        with provider_run.far_side("transient"):
            transient = provider_run.feed([("T", "processing", 0)])[0]
        assert transient.failure is not None and not transient.failure.permanent, \
            "an outage (HTTP 503) must raise RetryableError: the kit tries again later"
        with provider_run.far_side("permanent"):
            permanent = provider_run.feed([("P", "processing", 0)])[0]
        assert permanent.failure is not None and permanent.failure.permanent, \
            "a refusal (HTTP 400) must raise PermanentError: retrying cannot help"


def _hooks_of(hooks: Hooks, provider: str) -> set[str]:
    """The hooks the plugin declaring ``provider`` implements."""
    pm = hooks.pm
    plugin = next(p for p in pm.get_plugins() if hasattr(p, "declare_provider")
                  and p.declare_provider().name == provider)
    return {h.name for h in pm.get_hookcallers(plugin) or ()}


def _far_side(run: ProviderRun, outcome: str) -> AbstractContextManager[SentAmounts]:
    """The remote provider's stand-in; nothing to stand in for a provider in the ledger."""
    return run.far_side(outcome) if run.remote else nullcontext(list)


def _context(order: OrderSnapshot, case: ProviderCase) -> OrderContext:
    return OrderContext(order_key=0, merchant_id=3333, shop="contract-shop",
                        provider=case.provider, snapshot=order, state=OrderState(),
                        settings=dict(case.settings))


def _operation_of(order: OrderSnapshot, kind: OperationKind) -> Operation:
    """An operation of ``kind`` for the whole order."""
    amount = Amount(order.total, order.total - order.total_tax, order.total_tax)
    return Operation(kind=kind, amount=amount, by_rate=((Decimal(19), amount),),
                     idempotency_key=f"contract-{kind.value}", source="contract",
                     after_activation=False)
