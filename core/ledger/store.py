"""The ledger's operations on its tables, behind one small class used by the core and plugins."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.einvoice.seller import merge_seller
from core.errors import ConfigurationError, NotFound
from core.ledger.db import insert, insert_skipping
from core.ledger.models import (
    Merchant,
    Movement,
    OperationRecord,
    Order,
    OrderLine,
    OrderRefund,
    PeriodicRun,
    RefusalRecord,
    ShopConnection,
)
from core.ledger.models.base import utcnow
from core.money import Amount, to_minor
from core.operations import (
    Operation,
    OperationKind,
    OperationLine,
    RateAmounts,
    Refusal,
    rates_from_json,
    rates_of_lines,
    rates_to_json,
)
from core.schemas import dump_snapshot
from core.snapshot import OrderSnapshot
from core.state import LineState, OrderState, Status

__all__ = ["Ledger", "check_time_zone"]

# session.info key: per locked order id, its operations as read in this transaction
_OPERATIONS = "invoicekit.operations"
_MERCHANT_LOCKED = "invoicekit.merchant_locked"  # session.info: a merchant's row is locked


@event.listens_for(Session, "after_soft_rollback")
def _forget_operations(session: Session, _transaction: object) -> None:
    """A rollback (of a savepoint too) may undo records and locks: read them again."""
    session.info.pop(_OPERATIONS, None)


def check_time_zone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (``Europe/Berlin``), else
    :class:`ConfigurationError` saying so."""
    name = name.strip()
    try:
        if not name or name != name.strip("/") or ".." in name:
            raise ValueError
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"{name!r} is not a time zone: give an IANA name such as "
                                 "Europe/Berlin or Europe/Vienna") from None
    return name


class Ledger:
    """The ledger inside one database transaction (``session``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- merchants and shop connections ----------------------------------------------------

    def add_merchant(self, *, id: int, name: str, country: str, account_holder: str,
                     bank_code: str, account_first: int, account_last: int,
                     bank_country: str = "DE", bic: str | None = None,
                     payment_term_days: int = 30, invoice_prefix: str = "INV-",
                     kyc_verified: bool = False, provider: str = "local") -> Merchant:
        """Register a merchant with the account range its buyers' virtual IBANs come from."""
        if self.session.get(Merchant, id) is not None:
            raise ConfigurationError(f"merchant {id} exists already")
        self._check_range(bank_country, bank_code, account_first, account_last)
        merchant = Merchant(
            id=id, name=name, country=country, account_holder=account_holder,
            bank_country=bank_country, bank_code=bank_code, bic=bic,
            account_first=account_first, account_last=account_last, next_account=account_first,
            payment_term_days=payment_term_days, invoice_prefix=invoice_prefix, next_invoice=1,
            next_credit_note=1, kyc_verified=kyc_verified, provider=provider,
            provider_settings={},
        )
        self.session.add(merchant)
        self.session.flush()
        return merchant

    def _check_range(self, bank_country: str, bank_code: str, account_first: int,
                     account_last: int, exclude: int | None = None) -> None:
        """Account numbers that make valid IBANs at this bank and belong to no merchant."""
        if not 0 < account_first <= account_last:
            raise ConfigurationError("the account range must be positive and ascending")
        try:
            iban = IBAN.generate(bank_country, bank_code=bank_code,
                                 account_code=str(account_last))
        except (SchwiftyException, ValueError) as exc:
            raise ConfigurationError(f"bank code and account range do not make valid "
                                     f"{bank_country} IBANs: {exc}") from None
        if iban.bank_code != bank_code:
            raise ConfigurationError(f"{bank_code!r} is not a complete {bank_country} bank code "
                                     f"for IBANs (expected {len(iban.bank_code)} characters)")
        overlapping = self.session.scalars(select(Merchant.id).where(
            Merchant.bank_country == bank_country, Merchant.bank_code == bank_code,
            Merchant.account_first <= account_last, Merchant.account_last >= account_first,
            Merchant.id != (exclude if exclude is not None else -1))).first()
        if overlapping is not None:
            raise ConfigurationError(f"the account range overlaps merchant {overlapping}'s at "
                                     "the same bank: virtual IBANs must be unique")

    def configure_merchant(self, merchant_id: int, *, name: str | None = None,
                           kyc_verified: bool | None = None, account_holder: str | None = None,
                           bic: str | None = None, account_last: int | None = None,
                           payment_term_days: int | None = None, provider: str | None = None,
                           provider_settings: Mapping[str, Any] | None = None,
                           fee_percent: Decimal | None = None,
                           fee_vat_percent: Decimal | None = None,
                           rf_references: bool | None = None,
                           time_zone: str | None = None,
                           seller: Mapping[str, str | None] | None = None) -> Merchant:
        """Change a merchant's details; the account range can only grow.

        A new ``provider`` applies to the merchant's shops that used the merchant's provider
        (not those given their own), for orders placed from now on; orders already placed
        stay with the provider that authorised them.
        ``provider_settings`` are merged into the existing ones (a ``None`` value removes a
        setting). ``seller`` details for e-invoices (:mod:`core.einvoice.seller`) are checked
        and merged the same way (an empty value removes one).
        """
        merchant = self.merchant(merchant_id, for_update=True)
        if seller:
            merchant.seller = merge_seller(merchant.seller or {}, seller, merchant.country)
        if provider is not None:
            for connection in self.session.scalars(select(ShopConnection).where(
                    ShopConnection.merchant_id == merchant_id,
                    ShopConnection.provider == merchant.provider)):
                connection.provider = provider
            merchant.provider = provider
        if provider_settings:
            merged = {**merchant.provider_settings, **provider_settings}
            merchant.provider_settings = {k: v for k, v in merged.items() if v is not None}
        if account_last is not None:
            if account_last < merchant.account_last:
                raise ConfigurationError("the account range can only be extended: IBANs "
                                         "handed out stay with their buyers")
            self._check_range(merchant.bank_country, merchant.bank_code,
                              merchant.account_last + 1, account_last, exclude=merchant.id)
            merchant.account_last = account_last
        if payment_term_days is not None and not 0 < payment_term_days <= 120:
            raise ConfigurationError("the payment term must be 1 to 120 days")
        for label, percent in (("fee", fee_percent), ("VAT on the fee", fee_vat_percent)):
            if percent is not None and not (percent.is_finite() and 0 <= percent < 100
                                            and percent == percent.quantize(Decimal("0.01"))):
                raise ConfigurationError(f"the {label} must be a percentage from 0 to 99.99 "
                                         "with at most two decimals")
        if time_zone is not None:
            time_zone = check_time_zone(time_zone)
        for field, value in (("name", name), ("kyc_verified", kyc_verified),
                             ("account_holder", account_holder), ("bic", bic),
                             ("payment_term_days", payment_term_days),
                             ("fee_percent", fee_percent),
                             ("fee_vat_percent", fee_vat_percent),
                             ("rf_references", rf_references), ("time_zone", time_zone)):
            if value is not None:
                setattr(merchant, field, value)
        self.session.flush()
        return merchant

    def merchant(self, merchant_id: int, *, for_update: bool = False) -> Merchant:
        """The merchant; read once per session unless ``for_update`` (locked and read anew:
        the session may hold an older copy)."""
        if for_update:
            merchant = self.session.scalars(
                select(Merchant).where(Merchant.id == merchant_id)
                .with_for_update(key_share=True)
                .execution_options(populate_existing=True)).one_or_none()
            self.session.info[_MERCHANT_LOCKED] = True
        else:  # the session's copy, if it has one (many hooks of one operation ask)
            merchant = self.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"merchant {merchant_id} does not exist")
        return merchant

    @property
    def holds_merchant(self) -> bool:
        """Whether this transaction locked a merchant's row (its document numbers): on
        PostgreSQL the merchant's other activations wait for its end."""
        return self.session.info.get(_MERCHANT_LOCKED, False)

    def add_connection(self, *, name: str, merchant_id: int, platform: str,
                       provider: str | None = None, status_map: Mapping[str, str] | None = None,
                       secrets: list[str] | None = None, external_id: str | None = None,
                       platform_settings: Mapping[str, Any] | None = None,
                       provider_settings: Mapping[str, Any] | None = None) -> ShopConnection:
        """Connect a shop: its name in webhook URLs, platform, provider (default: the
        merchant's) and status mapping."""
        merchant = self.merchant(merchant_id)
        _check_status_map(status_map or {})
        if self.session.scalars(select(ShopConnection).where(
                ShopConnection.name == name)).first() is not None:
            raise ConfigurationError(f"a shop named {name!r} exists already")
        connection = ShopConnection(
            name=name, merchant_id=merchant_id, platform=platform,
            provider=provider or merchant.provider,
            status_map=dict(status_map or {}), secrets=list(secrets or []),
            external_id=external_id,
            platform_settings=dict(platform_settings or {}),
            provider_settings=dict(provider_settings or {}))
        self.session.add(connection)
        self.session.flush()
        return connection

    def configure_connection(self, connection: ShopConnection, *,
                             status_map: Mapping[str, str],
                             platform_settings: Mapping[str, Any]) -> None:
        """Replace a connection's status mapping and platform settings."""
        _check_status_map(status_map)
        connection.status_map = dict(status_map)
        connection.platform_settings = dict(platform_settings)
        self.session.flush()

    def connection_by_external_id(self, platform: str, external_id: str) -> ShopConnection:
        """The connection of a platform's shop id (Shopware's ``shopId``)."""
        found = self.session.scalars(select(ShopConnection).where(
            ShopConnection.platform == platform,
            ShopConnection.external_id == external_id)).one_or_none()
        if found is None:
            raise NotFound(f"no {platform} shop with that shop id is connected")
        return found

    def connection(self, name: str) -> ShopConnection:
        found = self.session.scalars(
            select(ShopConnection).where(ShopConnection.name == name)).one_or_none()
        if found is None:
            raise NotFound(f"no shop is connected under the name {name!r}")
        return found

    # -- orders ----------------------------------------------------------------------------

    def lock_order(self, connection: ShopConnection, snapshot: OrderSnapshot) -> Order:
        """The snapshot's order, locked for this transaction; created when the ledger has
        none yet (by this worker, or by another one that got there first: both end with
        the one order, locked in turn)."""
        query = select(Order).where(Order.connection_id == connection.id,
                                    Order.shop_order_id == snapshot.order_id)
        query = query.with_for_update(key_share=True)
        order = self.session.scalars(query).one_or_none()
        if order is None:
            self.session.execute(insert(self.session, Order).values(
                connection_id=connection.id, shop_order_id=snapshot.order_id,
                order_number=snapshot.order_number, currency=snapshot.currency,
                provider=connection.provider, status=Status.NEW.value,
                snapshot=dump_snapshot(snapshot)).on_conflict_do_nothing())
            order = self.session.scalars(query).one()
        self._locked(order)
        return order

    def lock_order_by_id(self, order_id: int) -> Order:
        """An order by its ledger id, locked for this transaction and read afresh (an
        object the session loaded before the lock is refreshed, not trusted)."""
        order = self.session.scalars(
            select(Order).where(Order.id == order_id).with_for_update(key_share=True)
            .execution_options(populate_existing=True)).one()
        self._locked(order)
        return order

    def _locked(self, order: Order) -> None:
        """Note that ``order`` is locked until this transaction ends: no one else adds
        operations to it meanwhile, so :meth:`operations_of` may keep what it read. Not
        inside a savepoint (rolling it back releases the lock)."""
        if not self.session.in_nested_transaction():
            self.session.info.setdefault(_OPERATIONS, {}).setdefault(order.id, None)

    def order_by_provider_reference(self, merchant_id: int, provider: str,
                                    reference: str) -> Order | None:
        """The merchant's order a provider knows by ``reference`` (its order id)."""
        return self.session.scalars(
            select(Order).join(ShopConnection)
            .where(ShopConnection.merchant_id == merchant_id, Order.provider == provider,
                   Order.provider_reference == reference)).first()

    def find_order(self, shop: str, shop_order_id: str) -> Order:
        order = self.session.scalars(
            select(Order).join(ShopConnection)
            .where(ShopConnection.name == shop, Order.shop_order_id == shop_order_id)
        ).one_or_none()
        if order is None:
            raise NotFound(f"shop {shop!r} has no order {shop_order_id!r}")
        return order

    @staticmethod
    def state_of(order: Order) -> OrderState:
        """The order's ledger state as a plain value for :func:`core.reconcile.reconcile`."""
        return OrderState(
            status=Status(order.status), authorised=order.authorised, reduced=order.reduced,
            activated=order.activated, credited=order.credited, total_seen=order.total_seen,
            discount_seen=order.discount_seen,
            refund_ids=frozenset(r.refund_id for r in order.refunds),
            lines=MappingProxyType({
                li.line_id: LineState(li.ordered, li.activated, li.cancelled, li.returned,
                                      article=li.kind == "product")
                for li in order.lines}),
            open_by_rate=rates_from_json(order.open_by_rate or []),
            unbilled_by_rate=_unbilled_of(order),
            ordering_key=order.ordering_key, decline_reason=order.decline_reason,
            seen_by_rate=_lines_by_rate(order.snapshot, order.currency),
        )

    def save_state(self, order: Order, state: OrderState, snapshot: OrderSnapshot) -> None:
        """Store ``state`` and the snapshot it came from; the status never moves backwards."""
        if Status(order.status).rank > state.status.rank:
            raise ValueError(f"order {order.id} would move back from {order.status} "
                             f"to {state.status}")
        for name in ("authorised", "reduced", "activated", "credited", "total_seen",
                     "discount_seen", "ordering_key", "decline_reason"):
            setattr(order, name, getattr(state, name))
        order.status = state.status.value
        order.open_by_rate = rates_to_json(state.open_by_rate)
        order.unbilled_by_rate = rates_to_json(state.unbilled_by_rate)
        if order.ordering_key is None or snapshot.ordering_key >= order.ordering_key:
            order.snapshot = dump_snapshot(snapshot)
        rows = {li.line_id: li for li in order.lines}
        snapshot_lines = {li.line_id: li for li in snapshot.lines}
        for line_id, line_state in state.lines.items():
            row = rows.get(line_id)
            if row is None:
                line = snapshot_lines[line_id]
                row = OrderLine(line_id=line_id, kind=line.kind.value, sku=line.sku,
                                name=line.name, tax_rate=line.tax_rate, gross=line.gross,
                                ordered=line_state.ordered)
                order.lines.append(row)
            row.activated = line_state.activated
            row.cancelled = line_state.cancelled
            row.returned = line_state.returned
        known = {r.refund_id for r in order.refunds}
        for refund_id in sorted(state.refund_ids - known):
            order.refunds.append(OrderRefund(refund_id=refund_id))
        self.session.flush()

    # -- operations, refusals and the movements journal -----------------------------------

    def operation_record(self, order: Order, op: Operation) -> OperationRecord:
        """The record of ``op``, created (status ``pending``) before the provider is called."""
        known = self._known_operations(order)
        if known is None:
            record = self.session.scalars(select(OperationRecord).where(
                OperationRecord.idempotency_key == op.idempotency_key)).one_or_none()
        else:  # an operation's key names its shop and order: no other order has it
            record = next((r for r in known if r.idempotency_key == op.idempotency_key), None)
        if record is None:
            record = OperationRecord(
                order_id=order.id, kind=op.kind.value, source=op.source,
                idempotency_key=op.idempotency_key, after_activation=op.after_activation,
                gross=op.amount.gross, net=op.amount.net, tax=op.amount.tax,
                lines=[{"line_id": ol.line_id, "quantity": ol.quantity, "amount": ol.amount,
                        "article": ol.article} for ol in op.lines],
                by_rate=rates_to_json(op.by_rate),
                marks={"refund_id": op.refund_id, "discount_total_after": op.discount_total_after,
                       "order_total_after": op.order_total_after},
                status="pending", attempts=0)
            self.session.add(record)
            self.session.flush()
            if known is not None:
                known.append(record)
        return record

    @staticmethod
    def operation_of(record: OperationRecord) -> Operation:
        """The operation exactly as it was decided and first sent to the provider."""
        marks = record.marks or {}
        return Operation(
            kind=OperationKind(record.kind),
            amount=Amount(record.gross, record.net, record.tax),
            by_rate=rates_from_json(record.by_rate or []),
            idempotency_key=record.idempotency_key, source=record.source,
            after_activation=record.after_activation,
            lines=tuple(OperationLine(li["line_id"], li["quantity"], li["amount"],
                                      li.get("article", True)) for li in record.lines or ()),
            refund_id=marks.get("refund_id"),
            discount_total_after=marks.get("discount_total_after"),
            order_total_after=marks.get("order_total_after"),
        )

    def invoice_references(self, order: Order) -> tuple[str, ...]:
        """The provider's references of the order's activations (its invoices), oldest first."""
        return tuple(r.provider_reference for r in self.operations_of(order)
                     if r.kind == OperationKind.ACTIVATION.value and r.status == "succeeded"
                     and r.provider_reference is not None)

    def unfinished_operations(self, order: Order) -> list[OperationRecord]:
        """Operations decided for the order that have not succeeded, oldest first."""
        return [r for r in self.operations_of(order) if r.status != "succeeded"]

    def operations_of(self, order: Order) -> list[OperationRecord]:
        """The order's operations, oldest first; read once per transaction while the
        order is locked in it."""
        known = self._known_operations(order)
        if known is not None:
            return list(known)
        records = list(self.session.scalars(
            select(OperationRecord).where(OperationRecord.order_id == order.id)
            .order_by(OperationRecord.id)))
        locked = self.session.info.get(_OPERATIONS)
        if locked is not None and order.id in locked:
            locked[order.id] = records
            return list(records)
        return records

    def _known_operations(self, order: Order) -> list[OperationRecord] | None:
        """The operations of ``order`` read in this transaction with the order locked."""
        locked = self.session.info.get(_OPERATIONS)
        return None if locked is None else locked.get(order.id)

    def reopen_dead_operations(self, order: Order) -> int:
        """Let the order's dead operations be tried again now (a replay), and failed ones
        without waiting for their backoff; return how many were dead."""
        dead = [r for r in self.operations_of(order) if r.status == "dead"]
        for record in dead:
            record.status = "failed"
        for record in self.operations_of(order):
            if record.status == "failed":
                record.next_attempt_at = None
        self.session.flush()
        return len(dead)

    # -- periodic tasks ---------------------------------------------------------------------

    def start_periodic_run(self, name: str, now: datetime, min_interval: timedelta) -> bool:
        """Claim a run of the periodic task ``name``: true for the one caller that finds its
        last run at least ``min_interval`` ago (or none), false for every other."""
        first = self.session.execute(insert(self.session, PeriodicRun).values(
            name=name, last_started_at=now).on_conflict_do_nothing()
            .returning(PeriodicRun.name)).scalar_one_or_none()
        if first is not None:
            return True
        claimed = self.session.execute(
            update(PeriodicRun).where(PeriodicRun.name == name,
                                      PeriodicRun.last_started_at <= now - min_interval)
            .values(last_started_at=now).execution_options(synchronize_session=False))
        return claimed.rowcount == 1

    def record_refusal(self, order: Order, refusal: Refusal) -> bool:
        """Store a refusal once; ``True`` if it is new (so the merchant is told once)."""
        exists = self.session.scalars(select(RefusalRecord).where(
            RefusalRecord.order_id == order.id, RefusalRecord.reason == refusal.reason,
            RefusalRecord.amount == refusal.amount)).first()
        if exists is not None:
            return False
        self.session.add(RefusalRecord(order_id=order.id, reason=refusal.reason,
                                       amount=refusal.amount, message=refusal.message))
        self.session.flush()
        return True

    def journal(self, *, merchant_id: int, order_id: int, kind: str, amount: int,
                currency: str, idempotency_key: str, description: str,
                document_number: str | None = None,
                occurred_at: datetime | None = None) -> None:
        """Write one movement, once per (idempotency key, kind): one ``INSERT`` that
        skips a movement written before."""
        self.session.execute(insert_skipping(
            self.session, Movement.__table__, ("idempotency_key", "kind")), {
            "merchant_id": merchant_id, "order_id": order_id, "kind": kind,
            "amount": amount, "currency": currency, "idempotency_key": idempotency_key,
            "description": description, "document_number": document_number,
            "occurred_at": occurred_at or utcnow()})

    def movements_of(self, order: Order) -> list[Movement]:
        return list(self.session.scalars(
            select(Movement).where(Movement.order_id == order.id).order_by(Movement.id)))


def _unbilled_of(order: Order) -> RateAmounts:
    """The part of the order not yet invoiced, per tax rate. Rows written before the column
    existed have none: an authorised order then has nothing invoiced, any other everything."""
    if order.unbilled_by_rate is not None:
        return rates_from_json(order.unbilled_by_rate)
    if order.status == Status.AUTHORISED.value:
        return rates_from_json(order.open_by_rate or [])
    return ()


def _check_status_map(status_map: Mapping[str, str]) -> None:
    wrong = sorted(status for status, trigger in status_map.items()
                   if trigger not in ("activate", "cancel"))
    if wrong:
        raise ConfigurationError(f"status map entries {wrong} must map to 'activate' or "
                                 "'cancel'")
    if status_map and "activate" not in status_map.values():
        raise ConfigurationError("the status map names no status that activates the invoice")


def _lines_by_rate(snapshot: Mapping[str, Any] | None, currency: str) -> RateAmounts:
    """The lines of a stored snapshot (:func:`dump_snapshot` data) summed per tax rate."""
    return rates_of_lines(
        (Decimal(line["tax_rate"]), Amount(to_minor(line["gross"], currency),
                                           to_minor(line["net"], currency),
                                           to_minor(line["tax"], currency)))
        for line in (snapshot or {}).get("lines") or ())
