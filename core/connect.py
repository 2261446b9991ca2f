"""The one-click connect of a WooCommerce shop: one-time connection codes, and what a shop's
plugin gets for one.

The merchant's operator makes a code (``invoicekit shops connect-code``): 16 characters of
Crockford's base32 without I, L, O and U, in four groups (``7Q4M-XP2D-9HRT-KM3W``), from
:mod:`secrets`, valid for minutes. Only a SHA-256 of the normalised code (upper case,
without dashes and spaces) is stored. The shop owner pastes it into the plugin, which posts
it with the shop's REST credentials (``POST /api/v1/connect``): in one transaction the code
is used up, the shop's connection made (the path of ``shops add``,
:func:`core.connections.add_shop`) or re-connected, and an API key made for the plugin.
Anything refused leaves all of it as it was, the code too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from core.connections import ShopSetup, add_shop, reconnect_shop
from core.errors import ConfigurationError, NotFound, Unauthenticated
from core.hooks import Hooks
from core.ledger.models import ApiKey, ConnectCode, ShopConnection
from core.ledger.store import Ledger
from core.risk.apikeys import create_key

__all__ = ["ALPHABET", "DEFAULT_MINUTES", "INVALID", "MAX_MINUTES", "PLATFORM", "TOPICS",
           "ConnectRequest", "Connected", "ShopNameTaken", "code_hash", "connect",
           "disconnect", "issue_code", "key_name", "normalise", "owned_connection"]

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
GROUPS, GROUP_LENGTH = 4, 4
DEFAULT_MINUTES, MAX_MINUTES = 30, 1440
PLATFORM = "woocommerce"  # the one platform whose plugin connects itself, for now
TOPICS = ("order.created", "order.updated")  # the webhooks the plugin sets up
INVALID = "the connection code is not valid: unknown, expired or already used"
NO_SUCH_SHOP = "no such shop"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_NAME = 64


class ShopNameTaken(ConfigurationError):
    """The shop name a code names belongs to another merchant or platform by now."""


@dataclass(frozen=True)
class ConnectRequest:
    """What the shop's plugin posts (checked already: formats, lengths)."""

    code: str
    platform: str
    shop_url: str
    consumer_key: str
    consumer_secret: str
    shop_name: str | None = None
    payment_method: str = "invoicekit"


@dataclass(frozen=True)
class Connected:
    """What the plugin gets back: the shop's name, its webhook secret and API key."""

    shop: str
    merchant_id: int
    platform: str
    webhook_secret: str
    api_key: str

    def to_json(self, public_url: str) -> dict[str, object]:
        return {"shop": self.shop, "merchant_id": self.merchant_id, "platform": self.platform,
                "delivery_url": f"{public_url}/webhooks/{self.platform}/{self.shop}",
                "webhook_secret": self.webhook_secret, "topics": list(TOPICS),
                "api_key": self.api_key}


def normalise(code: str) -> str:
    """A code as typed or pasted, upper case, without dashes and white space."""
    return re.sub(r"[\s-]+", "", code).upper()


def code_hash(code: str) -> str:
    """The stored form of a code: the SHA-256 of the normalised code, in hex."""
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def key_name(shop: str) -> str:
    """The name of the API keys the connect makes for ``shop``."""
    return f"{PLATFORM}:{shop}"


def _new_code() -> str:
    groups = ("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH))
              for _ in range(GROUPS))
    return "-".join(groups)


def issue_code(ledger: Ledger, merchant_id: int, *, shop: str | None = None,
               minutes: int = DEFAULT_MINUTES, now: datetime | None = None
               ) -> tuple[ConnectCode, str]:
    """A new code for the merchant, valid ``minutes`` (1 to :data:`MAX_MINUTES`): the
    stored record and the code itself (shown once). ``shop`` names the connection to make,
    or to re-connect when the merchant has a WooCommerce shop of that name."""
    ledger.merchant(merchant_id)  # NotFound for an unknown merchant
    if not 1 <= minutes <= MAX_MINUTES:
        raise ConfigurationError(f"a code is valid for 1 to {MAX_MINUTES} minutes")
    if shop is not None:
        if not _NAME.fullmatch(shop):
            raise ConfigurationError("a shop name is 1 to 64 letters, digits, '.', '_' or '-', "
                                     "starting with a letter or digit")
        _check_name(ledger, merchant_id, shop)
    now = now or datetime.now(UTC)
    code = _new_code()
    record = ConnectCode(merchant_id=merchant_id, shop=shop, code_hash=code_hash(code),
                         created_at=now, expires_at=now + timedelta(minutes=minutes))
    ledger.session.add(record)
    ledger.session.flush()
    return record, code


def _check_name(ledger: Ledger, merchant_id: int, shop: str) -> ShopConnection | None:
    """The merchant's WooCommerce connection named ``shop``, ``None`` if the name is free."""
    found = ledger.session.scalars(
        select(ShopConnection).where(ShopConnection.name == shop)).one_or_none()
    if found is not None and (found.merchant_id != merchant_id or found.platform != PLATFORM):
        raise ShopNameTaken(f"the shop name {shop!r} is taken by another connection")
    return found


def _use_code(ledger: Ledger, code: str, now: datetime) -> ConnectCode:
    """Mark the code used, if it is valid, in one conditional statement: of two requests
    with one code, one finds it unused."""
    digest = code_hash(code)
    used = ledger.session.execute(
        update(ConnectCode)
        .where(ConnectCode.code_hash == digest, ConnectCode.used_at.is_(None),
               ConnectCode.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if used != 1:
        raise Unauthenticated(INVALID)
    return ledger.session.scalars(select(ConnectCode).where(ConnectCode.code_hash == digest)
                                  .execution_options(populate_existing=True)).one()


def _host_name(shop_url: str) -> str:
    """``https://shop.example.com/…`` → ``shop-example-com``."""
    host = (urlsplit(shop_url).hostname or "shop").lower()
    return re.sub(r"[^a-z0-9]+", "-", host).strip("-")[:_MAX_NAME].strip("-") or "shop"


def _free_name(ledger: Ledger, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever no connection has."""
    taken = set(ledger.session.scalars(select(ShopConnection.name).where(
        ShopConnection.name.like(f"{base[:_MAX_NAME - 4]}%"))))
    name, number = base, 1
    while name in taken:
        number += 1
        suffix = f"-{number}"
        name = base[:_MAX_NAME - len(suffix)] + suffix
    return name


def _address(url: str) -> str:
    return url.strip().rstrip("/").lower()


def _same_shop(ledger: Ledger, merchant_id: int, shop_url: str) -> ShopConnection | None:
    """The merchant's WooCommerce connection made for this shop address before, connected
    or disconnected since: the same shop connecting again keeps its name and its orders."""
    address = _address(shop_url)
    for connection in ledger.session.scalars(select(ShopConnection).where(
            ShopConnection.merchant_id == merchant_id, ShopConnection.platform == PLATFORM)
            .order_by(ShopConnection.id)):
        settings = connection.platform_settings
        if address in {_address(str(settings.get(k) or "")) for k in ("shop_url", "rest_url")}:
            return connection
    return None


def _revoke_keys(ledger: Ledger, merchant_id: int, shop: str, now: datetime) -> None:
    for key in ledger.session.scalars(select(ApiKey).where(
            ApiKey.merchant_id == merchant_id, ApiKey.name == key_name(shop),
            ApiKey.revoked_at.is_(None))):
        key.revoked_at = now


def connect(ledger: Ledger, hooks: Hooks, request: ConnectRequest,
            now: datetime | None = None) -> Connected:
    """Use up the request's code and connect its shop; every change in the ledger's
    transaction. Raises :class:`~core.errors.Unauthenticated` (:data:`INVALID`) for a code
    that is unknown, expired or used, :class:`ShopNameTaken` when the code's shop name was
    given to another connection since."""
    now = now or datetime.now(UTC)
    code = _use_code(ledger, request.code, now)
    rest = {"rest_url": request.shop_url, "consumer_key": request.consumer_key,
            "consumer_secret": request.consumer_secret}
    if request.shop_name:
        rest["shop_name"] = request.shop_name  # the shop's title, as its owner calls it
    rest["shop_url"] = request.shop_url  # kept after a disconnect: the same shop comes back
    methods = (request.payment_method,)
    existing = _check_name(ledger, code.merchant_id, code.shop) if code.shop \
        else _same_shop(ledger, code.merchant_id, request.shop_url)
    if existing is not None:
        name = existing.name
        secret = reconnect_shop(ledger, hooks, existing, rest=rest, payment_methods=methods)
    else:
        name = code.shop or _free_name(ledger, _host_name(request.shop_url))
        added = add_shop(ledger, hooks, ShopSetup(
            platform=request.platform, name=name, merchant_id=code.merchant_id, rest=rest,
            payment_methods=methods))
        assert added.secret is not None  # WooCommerce shops get theirs from the kit
        secret = added.secret
    _revoke_keys(ledger, code.merchant_id, name, now)
    _, api_key = create_key(ledger, code.merchant_id, key_name(name))
    code.used_by_shop = name
    return Connected(name, code.merchant_id, request.platform, secret, api_key)


def owned_connection(ledger: Ledger, key: ApiKey, shop: str) -> ShopConnection:
    """The WooCommerce connection named ``shop`` if the key's merchant owns it; else
    :class:`~core.errors.NotFound`, the same for a shop of another merchant and for the
    merchant's connections of other platforms, which no plugin connected and no code could
    connect again."""
    found = ledger.session.scalars(
        select(ShopConnection).where(ShopConnection.name == shop)).one_or_none()
    if found is None or found.merchant_id != key.merchant_id or found.platform != PLATFORM:
        raise NotFound(NO_SUCH_SHOP)
    return found


def disconnect(ledger: Ledger, connection: ShopConnection, now: datetime | None = None) -> None:
    """Revoke the shop's API keys, remove its REST credentials and its webhook secrets
    (its deliveries are refused from now on); the connection and its orders stay."""
    now = now or datetime.now(UTC)
    _revoke_keys(ledger, connection.merchant_id, connection.name, now)
    removed = {"rest_url", "consumer_key", "consumer_secret"}
    ledger.configure_connection(connection, status_map=connection.status_map, platform_settings={
        k: v for k, v in connection.platform_settings.items() if k not in removed})
    connection.secrets = []
    connection.previous_secret_until = None
