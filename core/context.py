"""What a hook is told about an order, a shop platform or a provider."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.money import to_decimal
from core.operations import OperationKind
from core.snapshot import OrderSnapshot
from core.state import OrderState

__all__ = ["AppResponse", "AuthorisedCheckout", "CheckoutCart", "CheckoutConfirmation",
           "CheckoutSession", "Claim", "Company", "CompanyCheck", "ConnectionCheck",
           "CreditAssessment", "CreditFacts", "Eligibility", "FetchedOrder", "OrderContext",
           "ParsedDelivery", "PlatformInfo", "ProviderEvent", "ProviderInfo", "WriteBack"]


@dataclass(frozen=True, slots=True)
class OrderContext:
    """One order as the provider hooks see it.

    :ivar order_key: the ledger's id of the order.
    :ivar merchant_id: the merchant's id (the ``3333`` in ``BP1234567/3333``).
    :ivar shop: the shop connection's name.
    :ivar provider: the provider that owns the order; a provider hook returns ``None`` for
        any other.
    :ivar snapshot: the newest snapshot of the order.
    :ivar state: the ledger state before the operation.
    :ivar provider_reference: what the provider answered on placement (its order id).
    :ivar settings: the provider settings of the merchant, overlaid by the shop connection's
        (credentials stay out of logs).
    :ivar invoices: the provider references of the order's activations so far (its invoices),
        oldest first; credit notes go against one of them.
    :ivar checkout: the order the buyer already confirmed at the provider in its widget at
        the checkout (:mod:`core.checkout`); a placement adopts it instead of creating one.
    """

    order_key: int
    merchant_id: int
    shop: str
    provider: str
    snapshot: OrderSnapshot
    state: OrderState
    provider_reference: str | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)
    invoices: tuple[str, ...] = ()
    checkout: AuthorisedCheckout | None = None


@dataclass(frozen=True, slots=True)
class AuthorisedCheckout:
    """An order the provider authorised at the shop's checkout (checkout session confirmed).

    :ivar session_id: the provider's checkout session.
    :ivar provider_reference: the provider's order id it answered on confirmation.
    :ivar currency: the currency confirmed.
    :ivar amount: the gross amount the buyer confirmed, in minor units.
    """

    session_id: str
    provider_reference: str
    currency: str
    amount: int


@dataclass(frozen=True, slots=True)
class CheckoutCart:
    """What the shop's checkout knows when it opens a provider's checkout session.

    :ivar shop: the shop connection's name.
    :ivar customer_id: the shop's customer number (a guest: any stable text).
    :ivar currency: ISO 4217.
    :ivar amount: the cart's gross total, in minor units.
    :ivar tax: the tax in it, in minor units.
    :ivar company: the buyer.
    :ivar person: who orders (``first_name``, ``last_name``, ``email``, ``phone``), as given.
    :ivar delivery: where it goes (``street``, ``postcode``, ``city``, ``country``), or
        ``None`` for the company's address.
    :ivar lines: the cart's lines (``sku``, ``title``, ``quantity``, ``amount`` and ``tax``
        in minor units), possibly none.
    """

    shop: str
    customer_id: str
    currency: str
    amount: int
    tax: int
    company: Company
    person: Mapping[str, str] = field(default_factory=dict)
    delivery: Mapping[str, str] | None = None
    lines: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    """A provider's answer to :func:`~core.hookspecs.open_checkout`.

    :ivar session_id: the provider's session id.
    :ivar widget: what the checkout shows the buyer: ``kind`` (``billie``), ``script_url``,
        and what the script is given (``config``, ``order_data``); sent to the shop as is.
    :ivar expires_at: when the provider forgets the session, if it says.
    """

    session_id: str
    widget: Mapping[str, Any]
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CheckoutConfirmation:
    """The shop's confirmation of a checkout session for its new order.

    :ivar session_id: the provider's session id.
    :ivar shop: the shop connection's name.
    :ivar order_number: the shop's order number.
    :ivar currency: ISO 4217.
    :ivar amount: the order's gross total, in minor units.
    :ivar tax: the tax in it, in minor units.
    :ivar answer: what the provider's widget resolved with in the buyer's browser.
    """

    session_id: str
    shop: str
    order_number: str
    currency: str
    amount: int
    tax: int
    answer: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """A shop platform plugin's declaration.

    :ivar name: the platform name in webhook URLs (``/webhooks/<name>/<shop>``).
    :ivar capabilities: the operations this platform's deliveries can trigger; full credit is
        always among them. The back office offers what a platform cannot deliver.
    :ivar status_map: the default mapping of shop status words to ``activate``/``cancel``.
    :ivar new_secret: makes a webhook secret in the form the platform's signatures need
        (default: 32 random URL-safe bytes).
    :ivar check_secret: raises ``ValueError`` naming what is wrong with a secret the merchant
        typed in, where the platform needs a particular form.
    :ivar registers_itself: the shop gets its secret through an app registration
        (Shopware), so the kit must not make one up.
    :ivar check_settings: raises ``ValueError`` naming what is wrong with a connection's
        platform settings as the merchant configured them (an API URL the platform would
        refuse the credentials over); called with the settings as they would be stored.
    """

    name: str
    capabilities: frozenset[OperationKind]
    status_map: Mapping[str, str] = field(default_factory=dict)
    new_secret: Callable[[], str] | None = None
    check_secret: Callable[[str], None] | None = None
    registers_itself: bool = False
    check_settings: Callable[[Mapping[str, Any]], None] | None = None


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """A provider plugin's declaration.

    :ivar name: the provider's name (``order.provider``).
    :ivar operations: the operation kinds it implements; others end dead with a reason.
    :ivar remote: its hooks call an API outside the kit. Each operation's record is then
        committed before the hook runs, outside any transaction, with ``ledger=None``. A
        provider that keeps its records in the ledger (the local one) says ``False``, and
        its hooks run inside the operation's transaction.
    :ivar idempotency_keys: the API honours ``operation.idempotency_key`` (sent as a header),
        so a call whose outcome is unknown may simply be repeated. Without it the core asks
        :func:`~core.hookspecs.lookup_operation` first.
    :ivar increases: it accepts increases of the part of an order not yet invoiced (items
        added, a discount reduced): the core then decides an ``increase`` and passes it on
        through :func:`~core.hookspecs.place_order`. Without it (the default) every
        increase is refused and reported, as the local provider does.
    """

    name: str
    operations: frozenset[OperationKind]
    remote: bool = True
    idempotency_keys: bool = False
    increases: bool = False


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """Something that happened at a provider to one of its orders, reported by its webhook.

    :ivar provider: the provider's name.
    :ivar event_id: unique per event (a digest of the body where the provider sends no id).
    :ivar kind: what happened, in the core's words (:mod:`core.provider_events`):
        ``cancelled`` credits what the provider cancelled (without calling it);
        ``payment`` (``amount`` the sum paid so far) and ``paid_out`` mark the invoice paid;
        ``dispute``, ``late``, ``clawback`` and ``dca`` tell the merchant; anything else is
        recorded in the order's journal.
    :ivar provider_reference: the provider's order id (``order.provider_reference``).
    :ivar amount: the amount the event names, in minor units, if any.
    :ivar occurred_at: when it happened, as the provider says.
    :ivar name: the provider's own name of the event (``order_declined``), for the journal.
    :ivar invoice_reference: the provider's reference of the invoice the event concerns, if
        it names one.
    :ivar open_amount: what the provider says is still open (on that invoice, else on the
        order), in minor units, if it says.
    """

    provider: str
    event_id: str
    kind: str
    provider_reference: str
    occurred_at: datetime
    amount: int | None = None
    name: str = ""
    invoice_reference: str | None = None
    open_amount: int | None = None


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """A verified delivery read by its platform plugin.

    :ivar dedupe_key: identical for redeliveries of the same content or event (at most 64
        characters); the receiver stores one delivery per key and shop.
    :ivar topic: the platform's event name (``order.updated``, ``checkout.order.placed``…).
    :ivar order_id: the shop's order id, when the delivery concerns one order.
    :ivar snapshots: the canonical snapshots it carries.
    :ivar ignored: why the delivery needs no processing (another payment method, a draft…);
        an ignored delivery is acknowledged and recorded without its body. With
        ``snapshots`` as well, it is ignored only for orders the ledger does not hold open:
        an order placed by invoice is followed whatever the shop says later (its snapshots
        are processed, and the reason is told to the merchant as a change not passed on).
    :ivar events: provider events it carries (a provider's own webhooks).
    """

    dedupe_key: str
    topic: str
    order_id: str | None
    snapshots: tuple[OrderSnapshot, ...] = ()
    ignored: str | None = None
    events: tuple[ProviderEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class AppResponse:
    """What the receiver answers to a platform's app request: ``status`` and the JSON
    ``body``. A platform that signs the answer gives the body exactly as sent (``raw``, JSON
    of ``body``) and the signature in ``headers`` (Shopware's pay URL)."""

    status: int
    body: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """An unpaid invoice handed over to the collection partner; amounts in minor units.

    ``principal`` is what is open of the invoice; ``fee`` and ``interest`` what default
    added on ``as_of`` (both 0 when the buyer is not in default, or the law charges none);
    ``default_on`` the first day of default, if it began.
    """

    merchant_id: int
    merchant_name: str
    shop: str
    order_id: str
    order_number: str
    invoice_number: str
    invoice_date: date
    due_on: date
    installment: str | None  # "2/3"
    currency: str
    principal: int
    fee: int
    interest: int
    as_of: date
    default_on: date | None
    payment_reference: str
    buyer_company: str
    buyer_name: str | None
    buyer_email: str
    buyer_vat_id: str | None
    buyer_street: str
    buyer_postcode: str
    buyer_city: str
    buyer_country: str
    reminders: tuple[date, ...]  # the days written reminders went out


@dataclass(frozen=True, slots=True)
class WriteBack:
    """What the kit tells a shop about one of its orders, handed to the platform plugin.

    :ivar id: the outbox row's id.
    :ivar idempotency_key: the same for every attempt of this write-back (a Standard Webhooks
        ``webhook-id``, a marker in a note).
    :ivar event: ``authorised``, ``declined``, ``increased``, ``activated``, ``credited``,
        ``paid``, ``payment_returned``, ``disputed`` (the provider reports the buyer disputes
        an invoice: pause deliveries and reminders), ``reported`` (another event of the
        provider the merchant should know: an invoice overdue, a direct debit taken back,
        a claim handed to debt collection), ``failed`` or ``refused``.
    :ivar shop: the shop connection's name.
    :ivar shop_order_id: the order's id in the shop.
    :ivar order_number: the order number the buyer sees.
    :ivar note: a sentence for the merchant (an order note), saying what to do on failure.
    :ivar values: machine-readable fields as strings (see :data:`core.writeback.FIELDS`):
        only those the event knows; a shop keeps the others it was sent before.
    :ivar uncertain: the last attempt's outcome is unknown (a timeout): check whether the
        note was written before writing it again.
    :ivar occurred_at: when the event happened.
    """

    id: int
    idempotency_key: str
    event: str
    shop: str
    shop_order_id: str
    order_number: str
    note: str
    values: Mapping[str, str]
    occurred_at: datetime
    uncertain: bool = False


@dataclass(frozen=True, slots=True)
class FetchedOrder:
    """One order read from the shop's API, in the platform's delivery format, so that
    :func:`~core.hookspecs.parse_delivery` reads it exactly like a webhook.

    :ivar order_id: the shop's order id.
    :ivar body: the order as the platform's webhook would carry it.
    :ivar headers: the headers such a webhook would have (its topic).
    """

    order_id: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConnectionCheck:
    """One thing a platform plugin checked on the shop's side of a connection.

    :ivar subject: what was checked (``webhook order.updated``).
    :ivar ok: whether it is as the kit needs it.
    :ivar state: what was found (``active``, ``disabled``, ``missing``).
    :ivar fix: what the merchant should do when it is not ok, in the shop's own words.
    """

    subject: str
    ok: bool
    state: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class Company:
    """The business buyer a risk decision is about, as the checkout or the order gives it.

    :ivar name: the company name (``Muster Bürobedarf GmbH``).
    :ivar legal_form: its legal form as written (``GmbH``), when known.
    :ivar vat_id: the VAT ID as typed, with or without country prefix.
    :ivar country: ISO 3166-1 alpha-2, upper case.
    :ivar founded_on: when the company was founded, where the checkout knows it.
    :ivar employees: its head count, where known.
    :ivar business_type: what it does, in the merchant's words (``retail``, ``crafts``).
    """

    name: str
    legal_form: str | None
    vat_id: str | None
    street: str
    postcode: str
    city: str
    country: str
    founded_on: date | None = None
    employees: int | None = None
    business_type: str | None = None


@dataclass(frozen=True, slots=True)
class CompanyCheck:
    """What one verifier says about a company's data.

    :ivar status: ``valid``, ``invalid`` (the data is wrong: decline) or ``unknown`` (a
        register could not be asked; the merchant's policy decides).
    :ivar reasons: machine-readable reasons for ``invalid`` or ``unknown``
        (``vat_id_invalid``, ``legal_form_invalid``, ``address_implausible``,
        ``vat_id_unverified``…).
    :ivar source: who checked (``format``, ``vies``, a register plugin's name).
    :ivar details: what the source said, for the record (a VIES request date, a name).
    """

    status: str
    reasons: tuple[str, ...] = ()
    source: str = "format"
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The decision: approved, or declined with machine-readable ``reasons``.

    Limits are EUR cents: ``limit`` the buyer's limit for this decision, ``exposure`` what
    the buyer owes on the instance before this cart, ``cart_eur`` the cart in EUR (rounded
    up). ``fee`` and ``fee_vat`` are the merchant's fee in the cart's currency.
    """

    approved: bool
    reasons: tuple[str, ...]
    currency: str
    total: int
    fee: int
    fee_vat: int
    fee_percent: Decimal
    buyer_key: str
    company: CompanyCheck | None = None
    score: int | None = None
    limit: int | None = None
    exposure: int | None = None
    cart_eur: int | None = None
    notes: tuple[str, ...] = ()
    new_buyer: bool = False  # the buyer has no credit profile yet: the initial limit applies

    def to_json(self) -> dict[str, Any]:
        """The decision as the API answers it and the order stores it (amounts as text)."""
        def eur(cents: int) -> str:
            return str(to_decimal(cents, "EUR"))

        limit = None
        if self.limit is not None and self.exposure is not None and self.cart_eur is not None:
            limit = {"currency": "EUR", "limit": eur(self.limit),
                     "used": eur(self.exposure + self.cart_eur),
                     "available": eur(max(0, self.limit - self.exposure))}
        return {
            "decision": "approved" if self.approved else "declined",
            "reasons": list(self.reasons),
            "currency": self.currency,
            "amount": str(to_decimal(self.total, self.currency)),
            "fee": {"percent": str(self.fee_percent),
                    "amount": str(to_decimal(self.fee, self.currency)),
                    "vat": str(to_decimal(self.fee_vat, self.currency))},
            "company": None if self.company is None else {
                "status": self.company.status, "reasons": list(self.company.reasons),
                "source": self.company.source},
            "score": self.score,
            "limit": limit,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class CreditFacts:
    """What the kit knows of a buyer across all merchants of the instance.

    Amounts are EUR minor units. ``collection_entries`` counts the buyer's claims handed
    over to collection; ``open_overdue`` its invoices past due and unpaid today.
    """

    buyer_key: str
    invoices_paid: int = 0
    paid_on_time: int = 0
    paid_late: int = 0
    open_overdue: int = 0
    collection_entries: int = 0
    exposure: int = 0


@dataclass(frozen=True, slots=True)
class CreditAssessment:
    """One credit assessment (the kit's own, or a credit agency's through a plugin).

    :ivar source: who assessed (``history`` for the kit's own, ``creditsafe``…).
    :ivar score: 0 (worst) to 100 (best).
    :ivar decline_reasons: machine-readable reasons to decline; empty to approve.
    :ivar limit: the credit limit this source would grant (EUR minor units), or ``None``
        to leave the limit to the buyer's profile; the lowest of all assessments applies.
    :ivar notes: why, in words, for the record.
    """

    source: str
    score: int
    decline_reasons: tuple[str, ...] = ()
    limit: int | None = None
    notes: tuple[str, ...] = ()
