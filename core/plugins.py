"""The plugin manager: the hookspecs, then every plugin of the ``invoicekit`` entry-point group.

Built-in plugins (the local provider, the shop platforms) are declared in ``setup.cfg`` like
any third-party plugin. Environment switches:

* ``INVOICEKIT_LOAD_PLUGINS``: comma-separated entry-point names to load; unset loads all,
  an empty value loads none.
* ``INVOICEKIT_DISABLED_PLUGINS``: comma-separated names never to load.
* ``INVOICEKIT_TRACE_PLUGINS=1``: log every hook call.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType

import pluggy

from core import hookspecs
from core.errors import ConfigurationError

__all__ = ["DEFAULT_PLUGINS", "LoadedPlugin", "get_plugin_manager", "loaded_plugins"]

ENTRY_POINT_GROUP = "invoicekit"
DEFAULT_PLUGINS = ("core.timing", "core.receivables.collection",
                   "core.writeback.plugin", "core.risk.plugin", "core.einvoice.plugin")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedPlugin:
    """A registered plugin: its name, where it came from, the hooks it implements, and what
    it declares (``platform woocommerce``, ``provider local``)."""

    name: str
    module: str
    version: str | None
    hooks: tuple[str, ...]
    declares: tuple[str, ...] = ()


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def get_plugin_manager() -> pluggy.PluginManager:
    """A new plugin manager with every allowed plugin registered and validated.

    :raises ConfigurationError: a plugin implements a hook that does not exist or takes an
        argument the spec does not have; the message names the plugin and the hook.
    """
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    allowed = _names("INVOICEKIT_LOAD_PLUGINS")
    for name in _names("INVOICEKIT_DISABLED_PLUGINS") or ():
        pm.set_blocked(name)
    try:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if (allowed is not None and ep.name not in allowed) or pm.is_blocked(ep.name):
                continue
            if pm.get_plugin(ep.name) is not None:
                raise ConfigurationError(f"two plugins are named {ep.name!r}")
            pm.register(ep.load(), name=ep.name)
        for module_name in DEFAULT_PLUGINS:
            module = __import__(module_name, fromlist=["_"])
            pm.register(module, name=module_name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or getattr(exc.plugin, "__name__", repr(exc.plugin))
        raise ConfigurationError(f"plugin {name!r} cannot be loaded: {exc} (the hooks and "
                                 "their arguments: core/hookspecs.py, docs/plugin_hooks.md; "
                                 "INVOICEKIT_DISABLED_PLUGINS skips a plugin)") from None
    if os.environ.get("INVOICEKIT_TRACE_PLUGINS", "").lower() not in ("", "0", "false", "no"):
        pm.trace.root.setwriter(log.debug)
        pm.enable_tracing()
    return pm


def loaded_plugins(pm: pluggy.PluginManager) -> list[LoadedPlugin]:
    """The registered plugins, for ``invoicekit plugins`` and diagnostics."""
    versions = {ep.name: ep.dist.version if ep.dist else None
                for ep in entry_points(group=ENTRY_POINT_GROUP)}
    result = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__name__
        declares = tuple(f"{kind} {getattr(plugin, hook)().name}"
                         for hook, kind in (("declare_platform", "platform"),
                                            ("declare_provider", "provider"))
                         if hook in hooks)
        result.append(LoadedPlugin(name, module, versions.get(name), hooks, declares))
    return result
