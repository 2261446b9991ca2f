"""Realistic order payloads in the canonical wire format, for tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core.schemas import load_snapshot
from core.snapshot import OrderSnapshot

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# (line_id, kind, name, quantity, net, tax rate): an office supplies order at 19 % and 7 %,
# with shipping and a handling fee; WELCOME10 is already taken off the chairs' line total.
OFFICE_LINES = [
    ("1", "product", "Office chair", 2, "300.00", "19"),
    ("2", "product", "Printer paper A4", 10, "50.00", "7"),
    ("3", "product", "Desk lamp", 3, "105.00", "19"),
    ("ship", "shipping", "DHL Paket", 1, "10.00", "19"),
    ("fee", "fee", "Handling", 1, "2.00", "19"),
]


def line(line_id: str, kind: str, name: str, quantity: int, net: str, rate: str) -> dict:
    net_d = Decimal(net)
    tax = (net_d * Decimal(rate) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return {"line_id": line_id, "kind": kind, "name": name, "quantity": quantity,
            "sku": f"SKU-{line_id}" if kind == "product" else None,
            "net": str(net_d), "tax": str(tax), "gross": str(net_d + tax), "tax_rate": rate}


def order_data(order_id: str = "1001", *, lines: list[tuple | dict] | None = None,
               status: str = "processing", minutes: int = 0, shop: str = "acme",
               discounts: list[dict] | None = None, refunds: list[dict] | None = None,
               **overrides: Any) -> dict[str, Any]:
    """A canonical order payload; totals are the sums of its lines."""
    items = [spec if isinstance(spec, dict) else line(*spec) for spec in (lines or OFFICE_LINES)]
    data = {
        "shop": shop, "order_id": order_id, "order_number": order_id, "currency": "EUR",
        "buyer": {"company": "Muster Bürobedarf", "legal_form": "GmbH",
                  "vat_id": "DE136695976", "first_name": "Erika", "last_name": "Muster",
                  "email": "einkauf@muster.example", "street": "Hauptstraße 5",
                  "postcode": "10115", "city": "Berlin", "country": "DE"},
        "lines": items,
        "total": str(sum(Decimal(i["gross"]) for i in items)),
        "total_tax": str(sum(Decimal(i["tax"]) for i in items)),
        "status": status,
        "ordering_key": (T0 + timedelta(minutes=minutes)).isoformat(),
        "discounts": discounts if discounts is not None else [{"code": "WELCOME10",
                                                              "amount": "10.00"}],
        "refunds": refunds or [],
    }
    data.update(overrides)
    return data


def snapshot(order_id: str = "1001", **kwargs: Any) -> OrderSnapshot:
    return load_snapshot(order_data(order_id, **kwargs))


def changed(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(data)
    result.update(changes)
    return result
