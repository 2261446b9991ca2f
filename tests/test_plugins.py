"""The plugin manager: entry points, the environment switches, validation at start-up."""

from __future__ import annotations

import pluggy
import pytest

from core import hookimpl
from core.hooks import Hooks
from core.plugins import get_plugin_manager, loaded_plugins


def test_built_in_provider_comes_through_its_entry_point():
    pm = get_plugin_manager()
    assert pm.get_plugin("local") is not None
    plugin = next(p for p in loaded_plugins(pm) if p.name == "local")
    assert plugin.module == "core.local_provider.plugin"
    assert "activate_order" in plugin.hooks and plugin.version
    assert set(Hooks(pm).providers()) == {"local", "billie", "mondu"}
    assert not Hooks(pm).providers()["local"].remote


def test_load_plugins_variable_limits_what_is_loaded(monkeypatch):
    monkeypatch.setenv("INVOICEKIT_LOAD_PLUGINS", "")
    assert get_plugin_manager().get_plugin("local") is None
    monkeypatch.setenv("INVOICEKIT_LOAD_PLUGINS", "local")
    assert get_plugin_manager().get_plugin("local") is not None


def test_disabled_plugins_are_blocked(monkeypatch):
    monkeypatch.setenv("INVOICEKIT_DISABLED_PLUGINS", "local, other")
    pm = get_plugin_manager()
    assert pm.get_plugin("local") is None and pm.is_blocked("local")


def test_misspelt_hook_fails_validation():
    pm = get_plugin_manager()

    class Misspelt:
        @hookimpl
        def activate_ordr(self, order):
            return None

    pm.register(Misspelt())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


def test_unknown_argument_fails_at_registration():
    pm = get_plugin_manager()

    class Extra:
        @hookimpl
        def activate_order(self, order, invoice_number):
            return None

    with pytest.raises(pluggy.PluginValidationError):
        pm.register(Extra())


def test_trace_switch_logs_hook_calls(monkeypatch, caplog):
    monkeypatch.setenv("INVOICEKIT_TRACE_PLUGINS", "1")
    pm = get_plugin_manager()
    with caplog.at_level("DEBUG", logger="core.plugins"):
        pm.hook.declare_provider()
    assert "declare_provider" in caplog.text


def test_a_plugin_with_an_unknown_hook_stops_the_start_naming_it(monkeypatch):
    from core import plugins
    from core.errors import ConfigurationError

    monkeypatch.setattr(plugins, "DEFAULT_PLUGINS", (*plugins.DEFAULT_PLUGINS,
                                                     "misspelt_plugin"))
    with pytest.raises(ConfigurationError) as raised:
        get_plugin_manager()
    assert "plugin 'misspelt_plugin' cannot be loaded" in str(raised.value)
    assert "activate_ordr" in str(raised.value)
