"""What the stand-in knows of Shopware's data model, its app ACL and the payment state
machine, each taken from Shopware's source (shopware/shopware, trunk of 2024-10,
cfc087db92b7381885333c3035b8a034ec251bae; tags named where the behaviour changed)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping

# Associations per entity (property name -> entity name), as the entity definitions declare
# them: src/Core/Checkout/Order/OrderDefinition.php,
# .../Order/Aggregate/{OrderLineItem,OrderAddress,OrderDelivery,OrderTransaction,
# OrderTransactionCapture,OrderTransactionCaptureRefund,
# OrderTransactionCaptureRefundPosition}/*Definition.php. Only what the stand-in serves.
ASSOCIATIONS: dict[str, dict[str, str]] = {
    "order": {"stateMachineState": "state_machine_state", "orderCustomer": "order_customer",
              "currency": "currency", "language": "language", "addresses": "order_address",
              "billingAddress": "order_address", "deliveries": "order_delivery",
              "lineItems": "order_line_item", "transactions": "order_transaction",
              "documents": "document", "tags": "tag"},
    "order_address": {"country": "country", "countryState": "country_state",
                      "salutation": "salutation"},
    "order_delivery": {"stateMachineState": "state_machine_state",
                       "shippingOrderAddress": "order_address",
                       "shippingMethod": "shipping_method",
                       "positions": "order_delivery_position"},
    "order_line_item": {"cover": "media", "orderDeliveryPositions": "order_delivery_position",
                        "downloads": "order_line_item_download", "children": "order_line_item"},
    "order_transaction": {"stateMachineState": "state_machine_state",
                          "paymentMethod": "payment_method",
                          "captures": "order_transaction_capture"},
    "order_transaction_capture": {"stateMachineState": "state_machine_state",
                                  "transaction": "order_transaction",
                                  "refunds": "order_transaction_capture_refund"},
    "order_transaction_capture_refund": {
        "stateMachineState": "state_machine_state",
        "transactionCapture": "order_transaction_capture",
        "positions": "order_transaction_capture_refund_position"},
    "order_transaction_capture_refund_position": {
        "orderLineItem": "order_line_item",
        "orderTransactionCaptureRefund": "order_transaction_capture_refund"},
    "order_customer": {"customer": "customer", "salutation": "salutation"},
}
# OneToOneAssociationField autoloads by default (DataAbstractionLayer/Field/
# OneToOneAssociationField.php, `bool $autoload = true`): order.orderCustomer comes unasked.
AUTOLOADED = {"order": {"orderCustomer"}}

# AclRoleDefinition::PRIVILEGE_DEPENDENCE (src/Core/Framework/Api/Acl/Role/
# AclRoleDefinition.php): create, update and delete each bring read.
PRIVILEGE_DEPENDENCE = {"read": [], "create": ["read"], "update": ["read"], "delete": ["read"]}


def manifest_privileges(manifest_xml: str) -> set[str]:
    """The privileges of the app's ACL role, as Shopware derives them from the manifest's
    ``<permissions>``: ``<read>order</read>`` is ``order:read``, ``<update>`` adds read, and
    ``<permission>x</permission>`` is ``x`` as it stands (App/Manifest/Xml/Permission/
    Permissions.php ``parse`` and ``generatePrivileges``; stored on the role by
    App/Lifecycle/Persister/PermissionPersister.php)."""
    root = ET.fromstring(manifest_xml)
    privileges: set[str] = set()
    for permissions in root.iter("permissions"):
        for child in permissions:
            value = (child.text or "").strip()
            if child.tag == "permission":
                privileges.add(value)
                continue
            for privilege in [child.tag, *PRIVILEGE_DEPENDENCE[child.tag]]:
                privileges.add(f"{value}:{privilege}")
    return privileges


def criteria_privileges(entity: str, criteria: Mapping[str, object]) -> list[str]:
    """The read privileges a search needs: the entity, every association it loads, and
    every association a filter or sorting walks through (Api/Acl/AclCriteriaValidator.php).
    An unknown association is :class:`UnknownAssociation` (AssociationNotFoundException)."""
    needed = [f"{entity}:read"]
    for name, nested in (criteria.get("associations") or {}).items():  # type: ignore[union-attr]
        target = ASSOCIATIONS.get(entity, {}).get(name)
        if target is None:
            raise UnknownAssociation(name)
        needed += criteria_privileges(target, nested or {})
    for accessor in _accessors(criteria):
        current = entity
        for part in accessor.removeprefix(f"{entity}.").split(".")[:-1]:
            target = ASSOCIATIONS.get(current, {}).get(part)
            if target is None:
                break
            needed.append(f"{target}:read")
            current = target
    return list(dict.fromkeys(needed))


def _accessors(criteria: Mapping[str, object]) -> Iterable[str]:
    def walk(node: object) -> Iterable[str]:
        if isinstance(node, Mapping):
            if isinstance(node.get("field"), str):
                yield node["field"]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    yield from walk([criteria.get("filter"), criteria.get("post-filter"),
                     criteria.get("sort")])


class UnknownAssociation(Exception):
    """A criteria association the entity does not have."""


# The order_transaction state machine: (action, from state) -> to state, as Shopware's
# migrations insert the transitions: V6_3/Migration1536233560BasicData.php
# (createOrderTransactionStateMachine), V6_3/Migration1580746806AddPaymentStates.php,
# V6_3/Migration1587461582AddOpenToPaidTransition.php,
# V6_3/Migration1591361320ChargebackAndAuthorized.php, V6_3/Migration1600769357AddTransition.php
# and V6_4/Migration1628519513AddUnconfirmedTransactionState.php.
_TRANSACTION_TRANSITIONS = [
    # BasicData
    ("pay", "open", "paid"), ("pay_partially", "open", "paid_partially"),
    ("cancel", "open", "cancelled"), ("remind", "open", "reminded"),
    ("pay", "reminded", "paid"), ("pay_partially", "reminded", "paid_partially"),
    ("cancel", "reminded", "cancelled"),
    ("remind", "paid_partially", "reminded"), ("pay", "paid_partially", "paid"),
    ("refund_partially", "paid_partially", "refunded_partially"),
    ("refund", "paid_partially", "refunded"), ("cancel", "paid_partially", "cancelled"),
    ("refund_partially", "paid", "refunded_partially"), ("refund", "paid", "refunded"),
    ("cancel", "paid", "cancelled"),
    ("refund", "refunded_partially", "refunded"), ("cancel", "refunded_partially", "cancelled"),
    ("reopen", "cancelled", "open"), ("refund", "cancelled", "refunded"),
    ("refund_partially", "cancelled", "refunded_partially"),
    # AddPaymentStates
    ("reopen", "in_progress", "open"), ("fail", "in_progress", "failed"),
    ("cancel", "in_progress", "cancelled"), ("paid", "in_progress", "paid"),
    ("paid_partially", "in_progress", "paid_partially"),
    ("pay_partially", "in_progress", "paid_partially"),
    ("reopen", "failed", "open"), ("do_pay", "failed", "in_progress"), ("pay", "failed", "paid"),
    ("fail", "failed", "failed"), ("paid", "failed", "paid"),
    ("paid_partially", "failed", "paid_partially"), ("pay_partially", "failed", "paid_partially"),
    ("do_pay", "open", "in_progress"), ("fail", "open", "failed"),
    ("reopen", "reminded", "open"), ("do_pay", "reminded", "in_progress"),
    ("reopen", "paid_partially", "open"), ("do_pay", "paid_partially", "in_progress"),
    ("reopen", "paid", "open"), ("reopen", "refunded_partially", "open"),
    # AddOpenToPaidTransition
    ("paid", "open", "paid"), ("paid_partially", "open", "paid_partially"),
    # ChargebackAndAuthorized
    *[("authorize", s, "authorized") for s in ("open", "in_progress", "reminded")],
    ("paid", "authorized", "paid"), ("paid_partially", "authorized", "paid_partially"),
    ("fail", "authorized", "failed"), ("cancel", "authorized", "cancelled"),
    *[("chargeback", s, "chargeback") for s in ("paid", "paid_partially")],
    ("paid", "chargeback", "paid"), ("paid_partially", "chargeback", "paid_partially"),
    ("cancel", "chargeback", "cancelled"),
    # AddTransition
    ("paid", "cancelled", "paid"),
    # AddUnconfirmedTransactionState
    *[("process_unconfirmed", s, "unconfirmed")
      for s in ("open", "reminded", "failed", "cancelled", "paid_partially")],
    ("paid", "unconfirmed", "paid"), ("paid_partially", "unconfirmed", "paid_partially"),
    ("fail", "unconfirmed", "failed"), ("cancel", "unconfirmed", "cancelled"),
    ("authorize", "unconfirmed", "authorized"), ("reopen", "unconfirmed", "open"),
]
# StateMachineRegistry::getStateMachine sorts the transitions by action name.
TRANSACTION_TRANSITIONS = sorted(_TRANSACTION_TRANSITIONS, key=lambda t: t[0])


class IllegalTransition(Exception):
    """StateMachineException::illegalStateTransition: the action does not leave the state."""

    def __init__(self, state: str, action: str, possible: list[str]) -> None:
        super().__init__(action)
        self.state, self.action, self.possible = state, action, possible


def transaction_transition(state: str, action: str) -> str | None:
    """The state ``action`` leads to from ``state``; ``None`` when the transaction is there
    already (UnnecessaryTransitionException: no history, no change). Follows
    StateMachineRegistry::getTransitionDestinationById: before 6.7 a ``cancel`` is allowed
    from every state (the first ``cancel`` transition found wins)."""
    for name, source, target in TRANSACTION_TRANSITIONS:
        if name == "cancel" and action == "cancel":
            return target
        if name != action:
            continue
        if target == state:
            return None
        if source == state:
            return target
    raise IllegalTransition(state, action,
                            [name for name, source, _ in TRANSACTION_TRANSITIONS
                             if source == state])


def transition_privileges(version: tuple[int, ...]) -> list[str]:
    """What the caller of a transition needs. Up to 6.5.3 StateMachineRegistry::transition
    wrote the state_machine_history row in the caller's context (AclWriteValidator:
    ``state_machine_history:create``) and only the entity update in system scope; from
    6.5.4.0 (commit ea58bbc8, "Run state transitions in system scope") it runs all of it in
    system scope. The route itself (Checkout/Order/Api/OrderActionController.php
    ``orderTransactionStateTransition``) declares no ``_acl``."""
    return ["state_machine_history:create"] if version < (6, 5, 4) else []
