"""invoicekit core: the plugin contract, the order ledger, reconciliation, the local provider.

Plugins import :data:`hookimpl` from here::

    from core import hookimpl

    @hookimpl
    def declare_platform(): ...
"""

import pluggy

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("invoicekit")
