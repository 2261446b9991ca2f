"""The kit's own observer: every outcome of an order becomes a write-back to its shop.

Registered by default like ``core.timing``; disable it (``INVOICEKIT_DISABLED_PLUGINS=
core.writeback.plugin``) to keep the shops untouched.
"""

from __future__ import annotations

from core import hookimpl
from core.context import OrderContext
from core.ledger.store import Ledger
from core.operations import Operation, OperationResult, Refusal
from core.writeback.notices import failure_notice, operation_notice, refusal_notice


@hookimpl
def operation_succeeded(order: OrderContext, operation: Operation, result: OperationResult,
                        ledger: Ledger) -> None:
    operation_notice(ledger, order, operation, result)


@hookimpl
def operation_failed(order: OrderContext, operation: Operation, error: str, permanent: bool,
                     ledger: Ledger) -> None:
    if permanent:  # a transient failure is retried by itself; the merchant hears of it if
        failure_notice(ledger, order, operation, error)  # it ends dead


@hookimpl
def change_refused(order: OrderContext, refusal: Refusal, ledger: Ledger) -> None:
    refusal_notice(ledger, order, refusal)
