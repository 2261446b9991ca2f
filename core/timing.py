"""Default plugin: time and log every provider operation (``wrapper=True`` hookimpls).

One wrapper serves all six operation hooks; ``specname`` binds each copy to its hook.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator

from core import hookimpl
from core.context import OrderContext
from core.hooks import OPERATION_HOOKS
from core.operations import Operation

log = logging.getLogger("invoicekit.operations")


def _timed(name: str) -> Callable[..., Generator[None, object, object]]:
    def wrapper(order: OrderContext, operation: Operation) -> Generator[None, object, object]:
        started = time.perf_counter()
        try:
            result = yield
        except Exception as exc:
            log.warning("%s order=%s provider=%s key=%s failed after %.1f ms: %s", name,
                        order.order_key, order.provider, operation.idempotency_key[:12],
                        (time.perf_counter() - started) * 1000, type(exc).__name__)
            raise
        log.info("%s order=%s provider=%s key=%s took %.1f ms", name, order.order_key,
                 order.provider, operation.idempotency_key[:12],
                 (time.perf_counter() - started) * 1000)
        return result

    wrapper.__name__ = f"timed_{name}"
    return hookimpl(wrapper=True, specname=name)(wrapper)


for _name in OPERATION_HOOKS.values():
    globals()[f"timed_{_name}"] = _timed(_name)
