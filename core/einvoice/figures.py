"""What one e-invoice shows, from the ledger: the amounts per tax rate of the document and
its lines and charges, each net amount in minor units so that they add up, per rate, to
the net the ledger booked (pure functions; :mod:`core.einvoice.cii` writes the XML).

An operation's ``by_rate`` is what the ledger booked; an operation that made several
documents (an installment plan; a credit spread over several invoices) gives each its
share of every rate, so that each document's rates add up to its own gross and tax and
the documents' together to the operation's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from core.money import Amount
from core.operations import RateAmounts

__all__ = ["Item", "distribute", "place_nets", "split_by_rate"]


@dataclass(frozen=True, slots=True)
class Item:
    """A line or a document-level charge/allowance of a document: ``weight`` is its gross
    value as the ledger's operation gave it (what its net is shared by); ``net`` the net
    amount it shows; ``charge`` says it is a shipping or fee charge (negative: an
    allowance) rather than an invoice line."""

    key: str
    name: str
    rate: Decimal
    quantity: int
    weight: int
    net: int = 0
    charge: bool = False
    sku: str | None = None


def distribute(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (which may be negative, e.g. a negative
    fee) by largest remainder; the parts add up to ``total`` exactly. With weights that add
    up to nothing, everything goes to the first part."""
    if not weights:
        raise ValueError("cannot distribute over no weights")
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [total] + [0] * (len(weights) - 1)
    exact = [Fraction(total * w, weight_sum) for w in weights]
    parts = [int(x // 1) for x in exact]
    leftover = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def split_by_rate(by_rate: RateAmounts, documents: Sequence[tuple[int, int]],
                  weights: Sequence[Mapping[Decimal, Amount] | None] | None = None,
                  ) -> list[RateAmounts]:
    """Each document's amounts per rate, for documents with ``(gross, tax)`` that together
    make ``by_rate``: each document but the last takes its gross and tax from the rates in
    proportion to its ``weights`` (amounts per rate: for a credit note, what the invoice it
    credits has of each rate; by default what each rate still has), never more than a
    rate still has; the last takes what is left. Rows and columns then add up exactly:
    per document to its gross and tax, per rate to the ledger's."""
    if len(documents) == 1:
        return [by_rate]
    rates = [rate for rate, _ in by_rate]
    left = {rate: amount for rate, amount in by_rate}
    result: list[RateAmounts] = []
    for n, (gross, tax) in enumerate(documents):
        if n == len(documents) - 1:
            parts = [(rate, left[rate]) for rate in rates]
        else:
            mine = (weights[n] if weights else None) or left
            if sum(min(max(mine.get(r, Amount.zero()).gross, 0), max(left[r].gross, 0))
                   for r in rates) < gross:  # the weights cannot hold it
                mine = left
            grosses = _capped(gross, [max(mine.get(r, Amount.zero()).gross, 0) for r in rates],
                              [max(left[r].gross, 0) for r in rates])
            taxes = _capped(tax, [max(mine.get(r, Amount.zero()).tax, 0) for r in rates],
                            [max(left[r].tax, 0) for r in rates])
            parts = [(rate, Amount(g, g - t, t))
                     for rate, g, t in zip(rates, grosses, taxes, strict=True)]
            for rate, amount in parts:
                left[rate] = left[rate] - amount
        result.append(tuple((rate, a) for rate, a in parts if a != Amount.zero()))
    return result


def _capped(total: int, weights: list[int], caps: list[int]) -> list[int]:
    """``total`` split by ``weights``, no part above its cap (the excess goes to the parts
    with room, by their room), as far as the caps hold it."""
    weights = [int(w) for w in weights]
    parts = distribute(total, weights) if any(weights) else distribute(total, caps)
    while True:
        excess = sum(max(p - c, 0) for p, c in zip(parts, caps, strict=True))
        room = [max(c - p, 0) for p, c in zip(parts, caps, strict=True)]
        if excess == 0 or not any(room):
            return parts
        parts = [min(p, c) for p, c in zip(parts, caps, strict=True)]
        parts = [p + e for p, e in zip(parts, distribute(excess, room), strict=True)]


def place_nets(items: Sequence[Item], by_rate: RateAmounts,
               fallback: str) -> list[Item]:
    """The items with their net amounts: per rate the ledger's net, shared by the items of
    that rate in proportion to their gross value (so a cent of rounding lands on the items
    of its rate, never elsewhere). Items of a rate the document has nothing of are left
    out; a rate without items gets one line named ``fallback`` (a discount transferred,
    an amount credited without lines)."""
    placed: list[Item] = []
    for rate, amount in by_rate:
        mine = [item for item in items if item.rate == rate]
        if not mine:
            placed.append(Item(key=f"rate-{rate}", name=f"{fallback} ({_percent(rate)} %)",
                               rate=rate, quantity=1, weight=amount.gross, net=amount.net))
            continue
        nets = distribute(amount.net, [item.weight for item in mine])
        placed.extend(Item(key=i.key, name=i.name, rate=i.rate, quantity=i.quantity,
                           weight=i.weight, net=net, charge=i.charge, sku=i.sku)
                      for i, net in zip(mine, nets, strict=True))
    return placed


def _percent(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return text
