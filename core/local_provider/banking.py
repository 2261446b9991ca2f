"""Payment references and per-buyer virtual IBANs."""

from __future__ import annotations

from schwifty import IBAN
from sqlalchemy import select
from stdnum.iso7064 import mod_97_10

from core.errors import PermanentError
from core.ledger.models import Buyer, Merchant
from core.ledger.store import Ledger
from core.risk.limits import identity_key
from core.snapshot import Buyer as SnapshotBuyer

__all__ = ["buyer_account", "buyer_key", "creditor_reference", "payment_reference",
           "virtual_iban"]


def payment_reference(order_number: str, merchant_id: int) -> str:
    """``BP<merchant order number>/<merchant id>``, e.g. ``BP1234567/3333``."""
    return f"BP{order_number}/{merchant_id}"


def creditor_reference(order_id: int) -> str:
    """The ISO 11649 ``RF`` creditor reference of a ledger order, e.g. ``RF60IK1042``: the
    body is ``IK`` and the order's ledger id, so it is unique on the instance."""
    body = f"IK{order_id}"
    return f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}"


def buyer_key(buyer: SnapshotBuyer) -> str:
    """What identifies one buyer across orders: the VAT ID, else company, postcode, country
    (the same key the risk engine knows the buyer by on the whole instance)."""
    return identity_key(buyer.vat_id, buyer.company, buyer.postcode, buyer.country)


def virtual_iban(merchant: Merchant, account: int) -> str:
    """The IBAN of ``account`` at the merchant's bank, with valid check digits."""
    iban = IBAN.generate(merchant.bank_country, bank_code=merchant.bank_code,
                         account_code=str(account))
    return str(iban.compact)


def buyer_account(ledger: Ledger, merchant_id: int, buyer: SnapshotBuyer) -> Buyer:
    """The buyer's record with its virtual IBAN, minted from the merchant's range once."""
    key = buyer_key(buyer)
    query = select(Buyer).where(Buyer.merchant_id == merchant_id, Buyer.buyer_key == key)
    found = ledger.session.scalars(query).one_or_none()
    if found is not None:
        return found
    merchant = ledger.merchant(merchant_id, for_update=True)
    found = ledger.session.scalars(query).one_or_none()  # minted while we waited for the lock?
    if found is not None:
        return found
    account = merchant.next_account
    if account > merchant.account_last:
        raise PermanentError(f"merchant {merchant.id} has used its whole account range; "
                             "extend it to mint more virtual IBANs")
    merchant.next_account = account + 1
    record = Buyer(merchant_id=merchant_id, buyer_key=key, company=buyer.company or "",
                   country=buyer.country, virtual_iban=virtual_iban(merchant, account))
    ledger.session.add(record)
    ledger.session.flush()
    return record
