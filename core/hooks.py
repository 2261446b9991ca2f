"""A typed facade over ``pm.hook``: the only place the core calls hooks from."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

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
from core.errors import ConfigurationError, NotFound
from core.ledger.store import Ledger
from core.operations import (
    Authorisation,
    Lookup,
    Operation,
    OperationKind,
    OperationResult,
    Refusal,
)
from core.snapshot import OrderSnapshot

if TYPE_CHECKING:
    from core.risk.rules import Cart

__all__ = ["OPERATION_HOOKS", "Hooks"]

T = TypeVar("T", PlatformInfo, ProviderInfo)
A = TypeVar("A", CompanyCheck, CreditAssessment)
log = logging.getLogger(__name__)

OPERATION_HOOKS: Mapping[OperationKind, str] = {
    OperationKind.PLACEMENT: "place_order",
    OperationKind.ACTIVATION: "activate_order",
    OperationKind.FULL_CREDIT: "credit_full",
    OperationKind.PARTIAL_CREDIT: "credit_partial",
    OperationKind.DISCOUNT_TRANSFER: "transfer_discount",
    OperationKind.RETURN: "handle_return",
    OperationKind.INCREASE: "place_order",
}


class Hooks:
    """Calls hooks with keyword arguments and checks what comes back."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm

    def providers(self) -> dict[str, ProviderInfo]:
        return _unique(self.pm.hook.declare_provider(), "provider")

    def platforms(self) -> dict[str, PlatformInfo]:
        return _unique(self.pm.hook.declare_platform(), "platform")

    def run_operation(self, order: OrderContext, operation: Operation, ledger: Ledger | None,
                      eligibility: Eligibility | None = None) -> OperationResult:
        """Carry out ``operation`` at the order's provider and return its result; a
        placement gets the kit's ``eligibility`` decision (``None`` for remote providers)."""
        hook = getattr(self.pm.hook, OPERATION_HOOKS[operation.kind])
        provider = self.providers().get(order.provider)
        if provider is not None and operation.kind not in provider.operations:
            raise ConfigurationError(f"provider {order.provider!r} does not support "
                                     f"{operation.kind.value}; do it in the provider's back "
                                     "office, then replay")
        authorises = operation.kind in (OperationKind.PLACEMENT, OperationKind.INCREASE)
        extra = {"eligibility": eligibility} if authorises else {}
        result = hook(order=order, operation=operation, ledger=ledger, **extra)
        if result is None:
            raise ConfigurationError(
                f"no provider plugin named {order.provider!r} answered {hook.name}")
        expected = Authorisation if authorises else OperationResult
        if not isinstance(result, expected):
            raise ConfigurationError(
                f"provider {order.provider!r} returned {type(result).__name__} from {hook.name}, "
                f"expected {expected.__name__}")
        return result

    def lookup_operation(self, order: OrderContext, operation: Operation) -> Lookup | None:
        """Ask the order's provider whether ``operation`` took effect; ``None`` if no
        provider plugin can tell."""
        result = self.pm.hook.lookup_operation(order=order, operation=operation)
        if result is not None and not isinstance(result, Lookup):
            raise ConfigurationError(f"provider {order.provider!r} returned "
                                     f"{type(result).__name__} from lookup_operation, "
                                     "expected Lookup")
        if result is not None and result.applied and \
                operation.kind is OperationKind.PLACEMENT and \
                not isinstance(result.result, Authorisation):
            raise ConfigurationError(f"provider {order.provider!r} found a placement "
                                     "without saying whether it was approved (an "
                                     "Authorisation)")
        return result

    def verify_delivery(self, platform: str, body: bytes, headers: Mapping[str, str],
                        secrets: Sequence[str]) -> bool:
        result = self.pm.hook.verify_delivery(platform=platform, body=body, headers=headers,
                                              secrets=secrets)
        if result is None:
            raise ConfigurationError(f"no plugin verifies deliveries of platform {platform!r}")
        return bool(result)

    def identify_shop(self, platform: str, body: bytes, headers: Mapping[str, str]) -> str:
        result = self.pm.hook.identify_shop(platform=platform, body=body, headers=headers)
        if result is None:
            raise NotFound(f"platform {platform!r} needs the shop name in the webhook URL")
        return result

    def handle_app_request(self, platform: str, action: str, method: str, query: str,
                           headers: Mapping[str, str], body: bytes, ledger: Ledger,
                           settings: Mapping[str, Any], public_url: str) -> AppResponse:
        result = self.pm.hook.handle_app_request(
            platform=platform, action=action, method=method, query=query, headers=headers,
            body=body, ledger=ledger, settings=settings, public_url=public_url, hooks=self)
        if result is None:
            raise NotFound(f"platform {platform!r} has no app endpoint {action!r}")
        return result

    def is_ping(self, platform: str, body: bytes, headers: Mapping[str, str]) -> bool:
        return bool(self.pm.hook.is_ping(platform=platform, body=body, headers=headers))

    def parse_delivery(self, platform: str, shop: str, body: bytes, headers: Mapping[str, str],
                       settings: Mapping[str, Any]) -> ParsedDelivery:
        result = self.pm.hook.parse_delivery(platform=platform, shop=shop, body=body,
                                             headers=headers, settings=settings)
        if result is None:
            raise ConfigurationError(f"no plugin parses deliveries of platform {platform!r}")
        return result

    def enrich_snapshot(self, platform: str, snapshot: OrderSnapshot,
                        settings: Mapping[str, Any]) -> OrderSnapshot:
        result = self.pm.hook.enrich_snapshot(platform=platform, snapshot=snapshot,
                                              settings=settings)
        return snapshot if result is None else result

    def open_checkout(self, provider: str, settings: Mapping[str, Any],
                      cart: CheckoutCart) -> CheckoutSession | None:
        result = self.pm.hook.open_checkout(provider=provider, settings=settings, cart=cart)
        if result is not None and not isinstance(result, CheckoutSession):
            raise ConfigurationError(f"a plugin returned {type(result).__name__} from "
                                     "open_checkout, expected CheckoutSession")
        return result

    def confirm_checkout(self, provider: str, settings: Mapping[str, Any],
                         confirmation: CheckoutConfirmation) -> Authorisation:
        result = self.pm.hook.confirm_checkout(provider=provider, settings=settings,
                                               confirmation=confirmation)
        if not isinstance(result, Authorisation):
            raise ConfigurationError(f"provider {provider!r} opened a checkout session but "
                                     "does not confirm it (confirm_checkout)")
        return result

    def handover_to_collection(self, batch_id: int, merchant_id: int,
                               claims: Sequence[Claim], home: Path) -> str:
        result = self.pm.hook.handover_to_collection(batch_id=batch_id, merchant_id=merchant_id,
                                                     claims=claims, home=home)
        if result is None:
            raise ConfigurationError("no plugin takes claims for collection")
        return str(result)

    def write_back(self, platform: str, writeback: WriteBack,
                   settings: Mapping[str, Any]) -> str:
        result = self.pm.hook.write_back(platform=platform, writeback=writeback,
                                         settings=settings)
        return "skipped: the platform plugin writes nothing back" if result is None \
            else str(result)

    def fetch_orders(self, platform: str, settings: Mapping[str, Any],
                     modified_since: datetime | None = None,
                     order_id: str | None = None) -> Iterable[FetchedOrder]:
        result = self.pm.hook.fetch_orders(platform=platform, settings=settings,
                                           modified_since=modified_since, order_id=order_id)
        if result is None:
            raise ConfigurationError(f"the {platform} plugin cannot read orders from the shop")
        return result

    def check_connection(self, platform: str, settings: Mapping[str, Any],
                         delivery_url: str) -> list[ConnectionCheck] | None:
        """What the platform plugin finds on the shop's side; ``None`` if it checks nothing."""
        result = self.pm.hook.check_connection(platform=platform, settings=settings,
                                               delivery_url=delivery_url)
        if result is None:
            return None
        checks = list(result)
        for check in checks:
            if not isinstance(check, ConnectionCheck):
                raise ConfigurationError(f"a plugin returned {type(check).__name__} from "
                                         "check_connection, expected ConnectionCheck")
        return checks

    def verify_company(self, company: Company, settings: Mapping[str, Any]) -> list[CompanyCheck]:
        return _checked(self.pm.hook.verify_company(company=company, settings=settings),
                        CompanyCheck, "verify_company")

    def assess_credit(self, company: Company, facts: CreditFacts, cart: Cart,
                      settings: Mapping[str, Any]) -> list[CreditAssessment]:
        return _checked(self.pm.hook.assess_credit(company=company, facts=facts, cart=cart,
                                                   settings=settings),
                        CreditAssessment, "assess_credit")

    def operation_succeeded(self, order: OrderContext, operation: Operation,
                            result: OperationResult, ledger: Ledger) -> None:
        self._notify("operation_succeeded", order=order, operation=operation, result=result,
                     ledger=ledger)

    def operation_failed(self, order: OrderContext, operation: Operation, error: str,
                         permanent: bool, ledger: Ledger) -> None:
        self._notify("operation_failed", order=order, operation=operation, error=error,
                     permanent=permanent, ledger=ledger)

    def change_refused(self, order: OrderContext, refusal: Refusal, ledger: Ledger) -> None:
        self._notify("change_refused", order=order, refusal=refusal, ledger=ledger)

    def _notify(self, name: str, **kwargs: Any) -> None:
        """Call every observer of a hook, each on its own: an observer's failure is logged,
        never passed on, so write-back or metrics can neither block nor undo the operation
        they report, nor keep the other observers from hearing of it. Each runs in a
        savepoint, so what a failing observer wrote is undone and the rest stands."""
        ledger: Ledger = kwargs["ledger"]
        for impl in reversed(getattr(self.pm.hook, name).get_hookimpls()):
            try:
                with ledger.session.begin_nested():
                    impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception:
                log.exception("observer %s of %s failed; the operation stands",
                              impl.plugin_name, name)


def _checked(answers: list[Any], expected: type[A], hook: str) -> list[A]:
    for answer in answers:
        if not isinstance(answer, expected):
            raise ConfigurationError(f"a plugin returned {type(answer).__name__} from {hook}, "
                                     f"expected {expected.__name__}")
    return answers


def _unique(declared: list[T], what: str) -> dict[str, T]:
    found: dict[str, T] = {}
    for info in declared:
        if info.name in found:
            raise ConfigurationError(f"two plugins declare the {what} {info.name!r}")
        found[info.name] = info
    return found
