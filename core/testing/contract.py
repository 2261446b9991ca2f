"""Contract suites: what every shop platform plugin must do, as tests a plugin runs on itself.

Subclass :class:`ShopPluginContract` in your plugin's tests and give it a ``shop_case``
fixture returning a :class:`ShopCase`: your platform's name, a few deliveries exactly as the
shop sends them, and how the shop signs one. The built-in WooCommerce, Shopware and generic
plugins run the same suite in the kit's CI (``tests/test_plugin_contracts.py``)::

    class TestAcmeContract(ShopPluginContract):
        @pytest.fixture
        def shop_case(self):
            return ShopCase(platform="acme", deliveries=[ORDER], sign=sign_acme)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.context import ParsedDelivery
from core.errors import InvoicekitError, SignatureError
from core.hooks import Hooks
from core.operations import OperationKind
from core.schemas import dump_snapshot, load_snapshot

__all__ = ["ShopCase", "ShopPluginContract"]


@dataclass(frozen=True)
class ShopCase:
    """What the shop contract needs to know about a platform plugin.

    :ivar platform: the platform name the plugin declares.
    :ivar deliveries: order deliveries as the shop sends them (raw bodies), each of which
        the plugin must parse into a snapshot.
    :ivar sign: the headers the shop sends with ``body`` signed with ``secret``.
    :ivar headers: headers every delivery carries besides the signature (a topic).
    :ivar secret: a secret in the form the platform's signatures need.
    :ivar previous_secret: the secret before a rotation, still accepted meanwhile.
    :ivar settings: the connection's platform settings for ``parse_delivery``.
    """

    platform: str
    deliveries: Sequence[bytes]
    sign: Callable[[bytes, str], Mapping[str, str]]
    headers: Mapping[str, str] = field(default_factory=dict)
    secret: str = "contract-secret-0123456789abcdef0123456789"
    previous_secret: str = "contract-secret-previous-0123456789abcdef"
    settings: Mapping[str, Any] = field(default_factory=dict)
    shop: str = "contract-shop"

    def signed(self, body: bytes, secret: str | None = None) -> dict[str, str]:
        return {**self.headers, **self.sign(body, secret or self.secret)}


def _accepts(hooks: Hooks, case: ShopCase, body: bytes, headers: Mapping[str, str],
             secrets: Sequence[str]) -> bool:
    try:
        return hooks.verify_delivery(case.platform, body, headers, secrets)
    except SignatureError:
        return False


def _altered(body: bytes) -> bytes:
    """``body`` with one byte in its middle changed (a digit stays a digit)."""
    at = len(body) // 2
    replacement = b"7" if body[at:at + 1] != b"7" else b"8"
    return body[:at] + replacement + body[at + 1:]


def _parsed(hooks: Hooks, case: ShopCase, body: bytes) -> ParsedDelivery:
    try:
        return hooks.parse_delivery(case.platform, case.shop, body, case.signed(body),
                                    case.settings)
    except InvoicekitError as exc:
        pytest.fail(f"parse_delivery refused a delivery of the contract case: {exc}")


class ShopPluginContract:
    """The contract of a shop platform plugin; needs the ``shop_case`` and
    ``invoicekit_hooks`` fixtures (the latter comes with the kit's pytest plugin)."""

    def test_the_platform_is_declared_with_its_capabilities(self, shop_case, invoicekit_hooks):
        info = invoicekit_hooks.platforms().get(shop_case.platform)
        assert info is not None, (f"no installed plugin declares the platform "
                                  f"{shop_case.platform!r} (declare_platform)")
        assert OperationKind.FULL_CREDIT in info.capabilities, \
            "capabilities must include full credit: every shop can cancel an order"
        assert info.capabilities <= frozenset(OperationKind)

    def test_its_own_signature_is_accepted(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            assert _accepts(invoicekit_hooks, shop_case, body, shop_case.signed(body),
                            [shop_case.secret]), \
                "verify_delivery refused a delivery signed with the shop's own secret"

    def test_an_altered_body_is_refused(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            headers = shop_case.signed(body)
            assert not _accepts(invoicekit_hooks, shop_case, _altered(body), headers,
                                [shop_case.secret]), \
                ("verify_delivery accepted a body changed after it was signed: the "
                 "signature check must cover the raw body bytes")

    def test_another_secret_is_refused(self, shop_case, invoicekit_hooks):
        body = shop_case.deliveries[0]
        assert not _accepts(invoicekit_hooks, shop_case, body,
                            shop_case.signed(body, shop_case.previous_secret),
                            [shop_case.secret]), \
            "verify_delivery accepted a delivery signed with a secret the shop does not have"
        assert not _accepts(invoicekit_hooks, shop_case, body, dict(shop_case.headers),
                            [shop_case.secret]), \
            "verify_delivery accepted a delivery without a signature"

    def test_the_previous_secret_is_accepted_during_a_rotation(self, shop_case,
                                                                invoicekit_hooks):
        body = shop_case.deliveries[0]
        assert _accepts(invoicekit_hooks, shop_case, body,
                        shop_case.signed(body, shop_case.previous_secret),
                        [shop_case.secret, shop_case.previous_secret]), \
            ("verify_delivery refused a delivery signed with the previous secret while both "
             "are configured: try every secret it is given")

    def test_deliveries_parse_into_valid_snapshots(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            parsed = _parsed(invoicekit_hooks, shop_case, body)
            assert parsed.ignored is None, f"the contract's delivery was ignored: {parsed.ignored}"
            assert parsed.snapshots, "parse_delivery gave no snapshot for an order delivery"
            assert parsed.dedupe_key and len(parsed.dedupe_key) <= 64
            for snapshot in parsed.snapshots:
                assert snapshot.shop == shop_case.shop, "a snapshot must name the shop it came from"
                assert load_snapshot(dump_snapshot(snapshot)) == snapshot, \
                    "the snapshot does not survive validation (core.schemas.load_snapshot)"

    def test_the_same_delivery_twice_gives_the_same_snapshot(self, shop_case, invoicekit_hooks):
        for body in shop_case.deliveries:
            first = _parsed(invoicekit_hooks, shop_case, body)
            second = _parsed(invoicekit_hooks, shop_case, body)
            assert (first.dedupe_key, first.snapshots) == (second.dedupe_key, second.snapshots), \
                "parsing is not deterministic: the same delivery gave another snapshot or key"
