"""The plugin contract of invoicekit: every hook, its arguments and what it returns.

This module is the single source of truth. Hooks are called with keyword arguments only; an
implementation may accept fewer arguments than the spec lists (pluggy passes only the ones it
names), so hooks can grow arguments without breaking plugins. ``docs/plugin_hooks.md`` has a
section per hook, and a test fails when one is missing.

Four families:

* **provider hooks** (``firstresult``): the core calls one per decided operation. Every
  provider plugin implements them and returns ``None`` unless ``order.provider`` is its own
  name, so the first non-``None`` result is the order's provider's. A remote provider's
  hooks get ``ledger=None`` and run outside any transaction, after the operation's record
  (with its idempotency key) is committed.
* **shop hooks**: a platform plugin verifies and parses its platform's deliveries
  (``firstresult``, keyed by ``platform``) and declares its capabilities.
* **risk hooks** (all implementations run): company verification and credit assessment
  for the kit's own eligibility decision (:mod:`core.risk.decide`); every answer counts,
  the strictest wins. They may call out (a register, a credit agency), within a timeout.
* **observer hooks** (all implementations run): write-back, notifications, metrics. They
  run inside the transaction that records what they report and get its ``ledger``: they
  store what must survive with it (the kit's own observer queues the shop's write-back
  there) and never call out; a failing observer is logged and the operation stands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from core.context import (
        AppResponse,
        CheckoutCart,
        CheckoutConfirmation,
        CheckoutSession,
        Claim,
        Company,
        CompanyCheck,
        ConnectionCheck,
        CreditAssessment,
        CreditFacts,
        Eligibility,
        FetchedOrder,
        OrderContext,
        ParsedDelivery,
        PlatformInfo,
        ProviderInfo,
        WriteBack,
    )
    from core.hooks import Hooks
    from core.ledger.store import Ledger
    from core.operations import Authorisation, Lookup, Operation, OperationResult, Refusal
    from core.risk.rules import Cart
    from core.snapshot import OrderSnapshot

hookspec = pluggy.HookspecMarker("invoicekit")

# -- provider hooks -----------------------------------------------------------------------


@hookspec
def declare_provider() -> ProviderInfo:
    """Declare a provider: its name and the operation kinds it implements.

    :return: a :class:`core.context.ProviderInfo`; names must be unique.
    """


@hookspec(firstresult=True)
def place_order(order: OrderContext, operation: Operation, ledger: Ledger | None,
                eligibility: Eligibility | None) -> Authorisation | None:
    """Authorise a newly placed order (placement): the risk decision for this buyer and cart.

    A provider that declares ``increases`` (:class:`core.context.ProviderInfo`) is also
    asked to authorise an increase of an order it holds: ``operation.kind`` is then
    ``increase``, ``operation.amount`` the extra (raising the part not yet invoiced) and
    ``operation.order_total_after`` the new order total. Approved, the order grows by it;
    declined, the order stays as it was and the merchant is told.

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: a ``placement`` operation for the order total, or an ``increase``.
    :param ledger: the ledger, for providers that keep their records there (the local
        one); ``None`` for remote providers.
    :param eligibility: the kit's own risk decision (rules, company check, credit limit)
        for a provider that is not remote, which follows it; ``None`` for a remote
        provider, which decides itself.
    :return: an :class:`core.operations.Authorisation`, approved or declined with a
        machine-readable ``decline_reason``; ``None`` if the order is not yours.
    """


@hookspec(firstresult=True)
def activate_order(order: OrderContext, operation: Operation,
                   ledger: Ledger | None) -> OperationResult | None:
    """Activation: start an invoice for ``operation.amount`` (due date, dunning clock).

    Called when the shop's status maps to ``activate`` (for everything not yet invoiced), or
    when the shop reports more units shipped (a partial activation for those units, in
    ``operation.lines``; an order shipped in parts is activated once per shipment). Never on
    placement by itself.

    :param order: the order; answer only if ``order.provider`` is yours. ``order.invoices``
        lists the references of earlier activations.
    :param operation: an ``activation`` with its amount, lines and idempotency key;
        ``after_activation`` is true when the order has an invoice already.
    :param ledger: the ledger for a provider that keeps its records there, else ``None``.
    :return: an :class:`core.operations.OperationResult` (invoice number as
        ``document_number``), or ``None`` if the order is not yours. Raise
        :class:`core.errors.RetryableError` or :class:`core.errors.PermanentError` on failure.
    """


@hookspec(firstresult=True)
def credit_full(order: OrderContext, operation: Operation,
                ledger: Ledger | None) -> OperationResult | None:
    """Full credit: cancel what is open in one part of the order.

    With ``operation.after_activation`` false it voids the authorisation not yet invoiced
    (the whole order before any activation, the rest not shipped after a partial one);
    with it true it credits the open invoiced amount, shipping included. Closing a partly
    invoiced order takes both: first the rest, then the invoiced part.

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: a ``full_credit`` for the open amount of that part.
    :param ledger: the ledger for a provider that keeps its records there, else ``None``.
    :return: an :class:`core.operations.OperationResult`, or ``None`` if not yours.
    """


@hookspec(firstresult=True)
def credit_partial(order: OrderContext, operation: Operation,
                   ledger: Ledger | None) -> OperationResult | None:
    """Partial credit: reduce the order by ``operation.amount``.

    With ``operation.after_activation`` false this lowers the authorisation not yet invoiced
    (a partial cancellation, lines in ``operation.lines`` when known); with it true, a credit
    note for an amount-only refund or an order edit.

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: a ``partial_credit``; its amount never exceeds the open amount.
    :param ledger: the ledger for a provider that keeps its records there, else ``None``.
    :return: an :class:`core.operations.OperationResult`, or ``None`` if not yours.
    """


@hookspec(firstresult=True)
def transfer_discount(order: OrderContext, operation: Operation,
                      ledger: Ledger | None) -> OperationResult | None:
    """Discount transfer: a discount granted after the order reduces it by ``operation.amount``.

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: a ``discount_transfer``, net and tax split over the order's tax rates.
    :param ledger: the ledger for a provider that keeps its records there, else ``None``.
    :return: an :class:`core.operations.OperationResult`, or ``None`` if not yours.
    """


@hookspec(firstresult=True)
def handle_return(order: OrderContext, operation: Operation,
                  ledger: Ledger | None) -> OperationResult | None:
    """Return handling: credit returned lines of an activated order; no new invoice is needed.

    The amount is the shop's refund or, if that is lower, what the shop values the returned
    lines at (their refund amounts; without them, their value in the ledger): return
    shipping is never charged to the buyer. Capped at the open amount.

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: a ``return`` with the returned ``lines`` and their amounts.
    :param ledger: the ledger for a provider that keeps its records there, else ``None``.
    :return: an :class:`core.operations.OperationResult`, or ``None`` if not yours.
    """


@hookspec(firstresult=True)
def lookup_operation(order: OrderContext, operation: Operation) -> Lookup | None:
    """Read the provider's state to learn whether an operation took effect.

    Called before an operation is repeated whose last attempt ended with an unknown outcome
    (:class:`core.errors.OutcomeUnknown`, or a worker that died during the call), when the
    provider does not declare ``idempotency_keys``. Find the effect by what the operation
    sent (an external code derived from ``operation.idempotency_key``, the amount…).

    :param order: the order; answer only if ``order.provider`` is yours.
    :param operation: the operation exactly as it was first sent.
    :return: :class:`core.operations.Lookup` ``(applied=True, result=…)`` when the effect is
        there, ``(applied=False)`` when it is not; raise
        :class:`core.errors.RetryableError` when the provider cannot be read now; ``None``
        if the order is not yours (the operation then ends dead: the merchant checks at the
        provider and retries it).
    """


@hookspec(firstresult=True)
def open_checkout(provider: str, settings: Mapping[str, Any],
                  cart: CheckoutCart) -> CheckoutSession | None:
    """Open a checkout session in which the buyer confirms the purchase in the provider's
    widget at the shop's checkout (``POST /api/v1/checkout-sessions``).

    Called when a shop's checkout component (the WooCommerce plugin) is about to place an
    order with purchase on account and the shop's provider is ``provider``. The widget is
    sent to the shop as it is; the kit stores the session for its confirmation.

    :param provider: the shop connection's provider; answer only if it is yours.
    :param settings: the provider settings of the merchant, overlaid by the shop's.
    :param cart: the cart, the buyer and the shop (:class:`core.context.CheckoutCart`).
    :return: a :class:`core.context.CheckoutSession`; raise
        :class:`core.errors.RetryableError` or :class:`core.errors.PermanentError` when the
        provider cannot open one (the shop is told, nothing is stored); ``None`` if the
        provider is not yours or has no widget (the order is then placed as usual).
    """


@hookspec(firstresult=True)
def confirm_checkout(provider: str, settings: Mapping[str, Any],
                     confirmation: CheckoutConfirmation) -> Authorisation | None:
    """Confirm a checkout session for the shop's new order: the provider creates the order
    the buyer confirmed in its widget.

    Called by ``POST /api/v1/checkout-sessions/<id>/confirm`` once per session (the answer is
    kept and repeated to the shop if it asks again). When the order's webhook arrives, the
    placement hands the confirmed order to :func:`place_order` as ``order.checkout``, which
    adopts it instead of creating another.

    :param provider: the provider that opened the session; answer only if it is yours.
    :param settings: the provider settings of the merchant, overlaid by the shop's.
    :param confirmation: the session, the order and the widget's answer
        (:class:`core.context.CheckoutConfirmation`).
    :return: an :class:`core.operations.Authorisation` with the provider's order id,
        approved or declined; raise :class:`core.errors.InvoicekitError` subclasses when the
        provider cannot be asked (nothing is kept; the shop may ask again); ``None`` if not
        yours.
    """


# -- receivables hooks ------------------------------------------------------------------


@hookspec(firstresult=True)
def handover_to_collection(batch_id: int, merchant_id: int, claims: Sequence[Claim],
                           home: Path) -> str | None:
    """Hand unpaid claims over to the collection partner: one batch per merchant per tick.

    Called by the daily tick after the claims are marked handed over in the ledger; a tick
    that died before the hook finished calls it again with the same ``batch_id`` and
    claims, so send them idempotently (by ``batch_id``). The default plugin writes
    ``collection/handover-<batch>-m<merchant>-<date>.csv`` in the instance folder; a
    partner's plugin answers first and replaces it.

    :param batch_id: the ledger's id of the batch, stable across repeated calls.
    :param merchant_id: the merchant whose claims these are.
    :param claims: the claims (:class:`core.context.Claim`), principal, fee and interest.
    :param home: the instance folder, for plugins that write files.
    :return: where the claims went (a file path, the partner's batch reference); raise
        :class:`core.errors.RetryableError` to be called again on the next tick; ``None``
        to leave it to the next plugin.
    """


# -- shop hooks ---------------------------------------------------------------------------


@hookspec
def declare_platform() -> PlatformInfo:
    """Declare a shop platform: its name, capabilities and default status mapping.

    :return: a :class:`core.context.PlatformInfo`; names must be unique.
    """


@hookspec(firstresult=True)
def verify_delivery(platform: str, body: bytes, headers: Mapping[str, str],
                    secrets: Sequence[str]) -> bool | None:
    """Check a delivery's signature over the raw body, before anything is parsed.

    :param platform: answer only for your own platform name.
    :param body: the raw request body, exactly as received.
    :param headers: the request headers (case-insensitive mapping).
    :param secrets: the shop's current secrets, newest first (several during rotation).
    :return: ``True`` if one secret verifies; raise :class:`core.errors.SignatureError` with a
        reason that never contains a secret; ``None`` if not your platform.
    """


@hookspec(firstresult=True)
def identify_shop(platform: str, body: bytes, headers: Mapping[str, str]) -> str | None:
    """Name the shop a delivery comes from, for platforms whose webhook URL has no shop name.

    Shopware posts every shop's events to one URL (``POST /webhooks/<platform>``); the shop
    is the connection whose ``external_id`` this returns (Shopware's ``source.shopId``).
    Must not trust anything else in the unverified body.

    :param platform: answer only for your own platform name.
    :param body: the raw, not yet verified body.
    :param headers: the request headers.
    :return: the shop's id on the platform; raise :class:`core.errors.MalformedPayload` if
        the body does not say; ``None`` if not your platform.
    """


@hookspec(firstresult=True)
def handle_app_request(platform: str, action: str, method: str, query: str,
                       headers: Mapping[str, str], body: bytes, ledger: Ledger,
                       settings: Mapping[str, Any], public_url: str,
                       hooks: Hooks) -> AppResponse | None:
    """Answer a platform's app request (``/apps/<platform>/<action>``), such as Shopware's
    registration handshake and confirmation, or its pay URL at checkout.

    :param platform: answer only for your own platform name.
    :param action: the last part of the path (``register``, ``confirm``…).
    :param method: ``GET`` or ``POST``.
    :param query: the raw query string, exactly as received (signatures cover it).
    :param headers: the request headers.
    :param body: the raw body.
    :param ledger: the ledger in the request's transaction (create or update connections).
    :param settings: the instance's settings for this platform (``[platforms.<name>]`` in
        ``invoicekit.toml``, e.g. the app secret).
    :param public_url: the kit's public base URL, for URLs handed to the platform.
    :param hooks: the kit's hooks, for a request that runs the eligibility decision
        (:func:`core.risk.decide.decide`) at the shop's checkout.
    :return: a :class:`core.context.AppResponse`; raise :class:`core.errors.SignatureError`
        for a bad signature (HTTP 401) or :class:`core.errors.NotFound` for an unknown action;
        ``None`` if not your platform.
    """


@hookspec(firstresult=True)
def is_ping(platform: str, body: bytes, headers: Mapping[str, str]) -> bool | None:
    """Recognise the platform's unsigned handshake request (WooCommerce's creation ping).

    The receiver asks this before verifying the signature; a ping is answered with exactly
    200 and nothing is stored.

    :param platform: answer only for your own platform name.
    :param body: the raw request body.
    :param headers: the request headers.
    :return: ``True`` for a ping, ``False`` otherwise, ``None`` if not your platform.
    """


@hookspec(firstresult=True)
def parse_delivery(platform: str, shop: str, body: bytes, headers: Mapping[str, str],
                   settings: Mapping[str, Any]) -> ParsedDelivery | None:
    """Read a verified delivery: its dedupe key, topic and canonical order snapshots.

    Runs inside the webhook request, so it must do no I/O; it runs again in the queue
    consumer before processing. Fetching more data from the shop belongs in
    :func:`enrich_snapshot`.

    :param platform: answer only for your own platform name.
    :param shop: the shop connection's name, to put into each snapshot.
    :param body: the raw, verified body.
    :param headers: the request headers.
    :param settings: the connection's platform settings (payment method ids, REST
        credentials…).
    :return: a :class:`core.context.ParsedDelivery` (``ignored`` set for deliveries that
        concern no invoice order, with the snapshot where the order can be read: the core
        follows an order its ledger holds open whatever the delivery says); raise
        :class:`core.errors.MalformedPayload` for a body that is not readable and
        :class:`core.errors.PayloadError` naming bad fields; ``None`` if not your platform.
    """


@hookspec(firstresult=True)
def enrich_snapshot(platform: str, snapshot: OrderSnapshot,
                    settings: Mapping[str, Any]) -> OrderSnapshot | None:
    """Complete a snapshot with what the delivery lacks, from the shop's API.

    Called by the queue consumer (never inside a request) for every snapshot before it is
    reconciled, e.g. to learn which lines a WooCommerce refund covered.

    :param platform: answer only for your own platform name.
    :param snapshot: the snapshot from :func:`parse_delivery`.
    :param settings: the connection's platform settings (REST credentials).
    :return: the completed snapshot (the same one if nothing is missing); raise
        :class:`core.errors.RetryableError` when the shop cannot be reached; ``None`` if not
        your platform.
    """


@hookspec(firstresult=True)
def write_back(platform: str, writeback: WriteBack, settings: Mapping[str, Any]) -> str | None:
    """Tell the shop what happened to one of its orders, over the shop's own API.

    Called by the queue for each write-back in the outbox, outside any transaction, one
    order's write-backs in the order they happened. Never called twice at once for one
    write-back; called again after a failure, with the same ``writeback.idempotency_key``.

    :param platform: answer only for your own platform name.
    :param writeback: the event, a note for the merchant and the machine-readable values.
    :param settings: the connection's platform settings (API credentials, the status for
        declined orders, state transitions…).
    :return: a short account of what was written (``"meta and note"``), or of why nothing
        was (``"skipped: no REST credentials"``); raise :class:`core.errors.RetryableError`
        (:class:`core.errors.OutcomeUnknown` after a timeout) to be called again later, or
        :class:`core.errors.PermanentError` when retrying cannot help; ``None`` if not your
        platform.
    """


@hookspec(firstresult=True)
def fetch_orders(platform: str, settings: Mapping[str, Any], modified_since: datetime | None,
                 order_id: str | None) -> Iterable[FetchedOrder] | None:
    """Read orders from the shop's API: the reconciliation poll and the dry run.

    :param platform: answer only for your own platform name.
    :param settings: the connection's platform settings (API credentials).
    :param modified_since: every order created or modified at or after this time (UTC),
        page by page; ``None`` when ``order_id`` names the one order wanted.
    :param order_id: one order by its shop id.
    :return: the orders, each as the platform's webhook would carry it (lazily, page by
        page); raise :class:`core.errors.ConfigurationError` when the connection has no API
        credentials, :class:`core.errors.NotFound` for an unknown ``order_id`` and
        :class:`core.errors.RetryableError` when the shop cannot be reached; ``None`` if not
        your platform.
    """


@hookspec(firstresult=True)
def check_connection(platform: str, settings: Mapping[str, Any],
                     delivery_url: str) -> Sequence[ConnectionCheck] | None:
    """Check the shop's side of a connection over the shop's API: are the webhooks the kit
    needs there, active, and posting to ``delivery_url``?

    Called by ``invoicekit shops sync`` (and the worker's poll) and ``invoicekit shops
    show``, outside any transaction. Platforms whose shops cannot switch their webhooks off
    need not implement it.

    :param platform: answer only for your own platform name.
    :param settings: the connection's platform settings (API credentials).
    :param delivery_url: where the shop must post this connection's deliveries.
    :return: a :class:`core.context.ConnectionCheck` per thing checked (one per webhook
        topic the kit needs), with the fix for each that is not ok; raise
        :class:`core.errors.ConfigurationError` when the connection has no API credentials
        and :class:`core.errors.RetryableError` or :class:`core.errors.PermanentError` when
        the shop cannot be read; ``None`` if not your platform.
    """


# -- risk hooks ---------------------------------------------------------------------------


@hookspec
def verify_company(company: Company, settings: Mapping[str, Any]) -> CompanyCheck | None:
    """Check a buyer's company data: the kit's own checks VAT ID format and check digits,
    the legal form for the country and the address, and asks VIES online when the merchant
    turned it on; a register plugin (Handelsregister, KvK, Brønnøysund…) adds its lookup.

    Called for every eligibility decision whose rules passed, at checkout and at
    placement. The strictest answer wins: any ``invalid`` declines with its reasons; else any
    ``unknown`` (a register could not be asked) follows the merchant's ``on_unknown`` term.

    :param company: the buyer's company as the checkout or order gives it.
    :param settings: the merchant's risk terms (``vies``, ``vies_timeout``, ``on_unknown``…)
        overlaid by its provider settings, for plugins with their own switches.
    :return: a :class:`core.context.CompanyCheck`, or ``None`` to say nothing. Never raise
        for a register that is down: answer ``unknown``.
    """


@hookspec
def assess_credit(company: Company, facts: CreditFacts, cart: Cart,
                  settings: Mapping[str, Any]) -> CreditAssessment | None:
    """Assess a buyer's creditworthiness for one cart: the kit's own assessment reads the
    payment record on the instance; a credit-agency adapter (Creditsafe, CRIF, Bürgel…) adds
    its score.

    Called for every eligibility decision whose rules and company check passed, when the
    merchant's terms have ``credit_limits`` on. Any decline reason declines; the lowest
    ``limit`` proposed caps the buyer's profile limit for this decision.

    :param company: the buyer's company (age, size and business type where given).
    :param facts: the buyer's payment record and exposure on the whole instance.
    :param cart: the cart being decided (currency and gross total).
    :param settings: as for :func:`verify_company`.
    :return: a :class:`core.context.CreditAssessment`, or ``None`` to say nothing. The
        checkout waits for every implementation: answer within a second or two.
    """


# -- observer hooks -----------------------------------------------------------------------


@hookspec
def operation_succeeded(order: OrderContext, operation: Operation,
                        result: OperationResult, ledger: Ledger) -> None:
    """An operation succeeded at the provider and is recorded in the ledger.

    :param order: the order, with the state before the operation.
    :param operation: the operation.
    :param result: the provider's result (for a placement, an ``Authorisation``, which may be
        a decline).
    :param ledger: the ledger in the transaction that records the success.
    """


@hookspec
def operation_failed(order: OrderContext, operation: Operation, error: str,
                     permanent: bool, ledger: Ledger) -> None:
    """An operation failed at the provider; nothing was applied to the ledger.

    :param order: the order.
    :param operation: the operation; a retry uses the same idempotency key.
    :param error: a readable reason, without secrets.
    :param permanent: ``True`` if retrying cannot help (the operation is dead until replayed).
    :param ledger: the ledger in the transaction that records the failure.
    """


@hookspec
def change_refused(order: OrderContext, refusal: Refusal, ledger: Ledger) -> None:
    """The core refused a change it saw in a snapshot (an increase of an order or invoice).

    :param order: the order.
    :param refusal: what was refused, the amount in minor units and a message for the merchant.
    :param ledger: the ledger in the transaction that records the refusal.
    """

