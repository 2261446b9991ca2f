"""Default plugin: time and log every provider operation (a ``wrapper=True`` hookimpl)."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator

from core import hookimpl
from core.context import OrderContext
from core.operations import Operation

log = logging.getLogger("invoicekit.operations")


def _timed(name: str, order: OrderContext, operation: Operation) -> Generator[None, object, object]:
    started = time.perf_counter()
    try:
        result = yield
    except Exception as exc:
        log.warning("%s order=%s provider=%s key=%s failed after %.1f ms: %s", name,
                    order.order_key, order.provider, operation.idempotency_key[:12],
                    (time.perf_counter() - started) * 1000, type(exc).__name__)
        raise
    log.info("%s order=%s provider=%s key=%s took %.1f ms", name, order.order_key,
             order.provider, operation.idempotency_key[:12], (time.perf_counter() - started) * 1000)
    return result


@hookimpl(wrapper=True)
def place_order(order: OrderContext, operation: Operation):
    return (yield from _timed("place_order", order, operation))


@hookimpl(wrapper=True)
def activate_order(order: OrderContext, operation: Operation):
    return (yield from _timed("activate_order", order, operation))


@hookimpl(wrapper=True)
def credit_full(order: OrderContext, operation: Operation):
    return (yield from _timed("credit_full", order, operation))


@hookimpl(wrapper=True)
def credit_partial(order: OrderContext, operation: Operation):
    return (yield from _timed("credit_partial", order, operation))


@hookimpl(wrapper=True)
def transfer_discount(order: OrderContext, operation: Operation):
    return (yield from _timed("transfer_discount", order, operation))


@hookimpl(wrapper=True)
def handle_return(order: OrderContext, operation: Operation):
    return (yield from _timed("handle_return", order, operation))
