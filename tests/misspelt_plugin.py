"""A plugin with a misspelt hook, for tests/test_plugins.py."""

from core import hookimpl


@hookimpl
def activate_ordr(order):
    return None
