"""Default plugin: hand claims over to collection as a CSV file per batch.

The file ``collection/handover-<batch>-m<merchant>-<date>.csv`` in the instance folder has
one row per claim, amounts as decimals in major units; the merchant (or a script) passes it
to the collection partner. A partner's own plugin answers the hook first and replaces this.
A cell a spreadsheet would run as a formula is written as text (:mod:`core.spreadsheet`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from core import hookimpl
from core.context import Claim
from core.money import to_decimal
from core.receivables.mail import write_atomic
from core.spreadsheet import writer as csv_writer

__all__ = ["COLUMNS", "handover_to_collection"]

COLUMNS = (
    "merchant_id", "merchant_name", "shop", "order_id", "order_number", "invoice_number",
    "invoice_date", "due_on", "installment", "currency", "principal", "fee", "interest",
    "total", "as_of", "default_on", "payment_reference", "buyer_company", "buyer_name",
    "buyer_email", "buyer_vat_id", "buyer_street", "buyer_postcode", "buyer_city",
    "buyer_country", "reminders",
)


def _row(claim: Claim) -> list[str]:
    def money(minor: int) -> str:
        return str(to_decimal(minor, claim.currency))

    values = {
        **{name: getattr(claim, name) for name in COLUMNS
           if name not in ("total", "principal", "fee", "interest", "reminders")},
        "principal": money(claim.principal), "fee": money(claim.fee),
        "interest": money(claim.interest),
        "total": money(claim.principal + claim.fee + claim.interest),
        "reminders": " ".join(day.isoformat() for day in claim.reminders),
    }
    return ["" if values[name] is None else str(values[name]) for name in COLUMNS]


@hookimpl(trylast=True)
def handover_to_collection(batch_id: int, merchant_id: int, claims: Sequence[Claim],
                           home: Path) -> str:
    folder = home / "collection"
    folder.mkdir(parents=True, exist_ok=True)
    day = claims[0].as_of.isoformat() if claims else "empty"
    path = folder / f"handover-{batch_id}-m{merchant_id}-{day}.csv"
    buffer = io.StringIO()
    writer = csv_writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerows(_row(claim) for claim in claims)
    write_atomic(path, buffer.getvalue().encode())  # a repeated call rewrites it whole
    return str(path)
