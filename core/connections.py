"""Connecting a shop: the one path of ``invoicekit shops add`` and of the plugin's
one-click connect (:mod:`core.connect`), from the settings asked for to the stored
connection with its status mapping, platform settings and webhook secret."""

from __future__ import annotations

import secrets as secrets_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.context import PlatformInfo
from core.errors import ConfigurationError
from core.hooks import Hooks
from core.ledger.models import ShopConnection
from core.ledger.store import Ledger
from core.reconcile import Trigger

__all__ = ["AddedShop", "SetupError", "ShopSetup", "add_shop", "check_settings", "new_secret",
           "reconnect_shop"]


class SetupError(ConfigurationError):
    """A setting of a shop connection that cannot be used; ``field`` names it:
    ``platform``, ``provider``, ``secret`` or ``settings``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ShopSetup:
    """What a new connection is made of; empty values take the platform's defaults.
    ``rest`` holds the REST settings (``rest_url``, ``consumer_key``, ``consumer_secret``)."""

    platform: str
    name: str
    merchant_id: int
    secret: str | None = None
    provider: str | None = None
    payment_methods: tuple[str, ...] = ()
    activate_on: tuple[str, ...] = ()
    cancel_on: tuple[str, ...] = ()
    rest: Mapping[str, str] = field(default_factory=dict)
    shop_id: str | None = None


@dataclass(frozen=True)
class AddedShop:
    """The stored connection, its webhook secret (``None`` for platforms whose app
    registration hands one out) and its status mapping."""

    connection: ShopConnection
    secret: str | None
    status_map: dict[str, str]


def new_secret(platform: PlatformInfo | None) -> str:
    """A new webhook secret in the platform's format (default: 256 random bits)."""
    if platform is not None and platform.new_secret is not None:
        return platform.new_secret()
    return secrets_module.token_urlsafe(32)


def check_settings(platform: PlatformInfo | None, settings: Mapping[str, Any]) -> None:
    """Let the platform plugin refuse settings the shop would not work with."""
    if platform is not None and platform.check_settings is not None:
        try:
            platform.check_settings(settings)
        except ValueError as exc:
            raise SetupError("settings", str(exc)) from None


def add_shop(ledger: Ledger, hooks: Hooks, setup: ShopSetup) -> AddedShop:
    """Check ``setup`` against the installed plugins and store the connection.

    Raises :class:`SetupError` naming a setting that cannot be used, and the ledger's
    errors for an unknown merchant or a name that is taken."""
    platforms = hooks.platforms()
    info = platforms.get(setup.platform)
    if info is None:
        raise SetupError("platform", f"no platform plugin named {setup.platform!r} is installed "
                                     f"(installed: {', '.join(sorted(platforms)) or 'none'})")
    if setup.provider is not None and setup.provider not in hooks.providers():
        raise SetupError("provider", f"no provider plugin named {setup.provider!r} is installed")
    status_map = dict(info.status_map)
    if setup.activate_on:
        status_map = {k: v for k, v in status_map.items() if v != Trigger.ACTIVATE.value}
    status_map.update({status: Trigger.ACTIVATE.value for status in setup.activate_on})
    status_map.update({status: Trigger.CANCEL.value for status in setup.cancel_on})
    settings: dict[str, Any] = dict(setup.rest)
    if setup.payment_methods:
        settings["payment_methods"] = list(setup.payment_methods)
    secret = setup.secret
    if info.registers_itself and secret:
        raise SetupError("secret", f"{setup.platform} shops get their secret from the app "
                                   "registration")
    if secret and info.check_secret is not None:
        try:
            info.check_secret(secret)
        except ValueError as exc:
            raise SetupError("secret", str(exc)) from None
    if not info.registers_itself:
        secret = secret or new_secret(info)
    check_settings(info, settings)
    connection = ledger.add_connection(
        name=setup.name, merchant_id=setup.merchant_id, platform=setup.platform,
        provider=setup.provider, status_map=status_map, secrets=[secret] if secret else [],
        platform_settings=settings, external_id=setup.shop_id)
    return AddedShop(connection, secret, status_map)


def reconnect_shop(ledger: Ledger, hooks: Hooks, connection: ShopConnection, *,
                   rest: Mapping[str, str], payment_methods: tuple[str, ...] = ()) -> str:
    """Connect an existing connection's shop again: a new webhook secret replaces every
    earlier one, the REST settings and payment methods replace the old ones; the status
    mapping, the other settings and the orders stay. Returns the new secret."""
    info = hooks.platforms().get(connection.platform)
    settings = {**connection.platform_settings, **rest}
    if payment_methods:
        settings["payment_methods"] = list(payment_methods)
    check_settings(info, settings)
    ledger.configure_connection(connection, status_map=connection.status_map,
                                platform_settings=settings)
    secret = new_secret(info)
    connection.secrets = [secret]
    connection.previous_secret_until = None
    return secret
