"""The outbox's e-mails from a prepared skeleton are byte for byte those of the ``email``
package: ``prepare_email`` against ``render_email(...).as_bytes(policy=SMTP)``."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.receivables.documents import KINDS, Notice, render_email
from core.receivables.emails import prepare_email
from core.receivables.mail import SMTP, MailSettings, Outbox

BASE = Notice(
    key="r42-reminder", kind="reminder", language="de", dated=date(2025, 3, 20),
    pay_by=date(2025, 4, 3), merchant_name="ACME Bürobedarf GmbH",
    buyer_company="Müller & Söhne KG", buyer_name="Élodie Dupré",
    buyer_email="buyer@example.com", buyer_address=("Hauptstraße 5", "10115 Berlin"),
    order_number="1001", invoice_number="INV-2025-0042", invoice_date=date(2025, 2, 1),
    due_on=date(2025, 3, 3), installment=None, currency="EUR", principal=123456, fee=4000,
    interest=1234, interest_rate=Decimal("10.27"), interest_from=date(2025, 3, 4),
    payment_reference="BP1001/7", iban="DE89370400440532013000", bic="COBADEFFXXX",
    account_holder="invoicekit Treuhand")
SENDERS = ("invoicekit <billing@localhost>", "ACME Forderungen <mahnung@acme.example>",
           "Bürobedarf Müller <billing@acme.example>")
# text of every kind a shop may send: plain, accented, long, spaced, encoded-word-like
TEXT = st.one_of(
    st.sampled_from(["1001", "INV-2025-0042", "Müller", "A" * 90, "a  b", " lead",
                     "=?utf-8?q?x?=", "x=?y", "#1", "Rechnung", "€ 5", "日本語", "a\tb",
                     "INV/2025/0042_x.y"]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60))
ADDRESS = st.one_of(
    st.sampled_from(["buyer@example.com", "a.b+c@mail.example.co.uk", "x_y%z@host",
                     "very.long.local.part.that.goes.on.and.on.and.on@example-domain.example",
                     "\"quoted\"@example.com", "käufer@beispiel.de", "a..b@example.com",
                     "(comment)a@b.c", "a@b@c"]),
    st.emails().map(str))


def same(notice: Notice, sender: str = SENDERS[0]) -> None:
    expected = render_email(notice, sender).as_bytes(policy=SMTP)
    assert prepare_email(notice, sender).data == expected


@pytest.mark.parametrize("language", ["de", "en", "fr", "it"])
@pytest.mark.parametrize("kind", KINDS)
def test_each_wording_is_the_same_bytes(language: str, kind: str) -> None:
    for sender in SENDERS:
        same(replace(BASE, language=language, kind=kind), sender)
        same(replace(BASE, language=language, kind=kind, fee=0, interest=0,
                     interest_rate=None, interest_from=None, buyer_name=None, bic=None,
                     installment=(2, 3)), sender)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(language=st.sampled_from(["de", "en", "fr"]), kind=st.sampled_from(KINDS),
       invoice=TEXT, order=TEXT, name=st.one_of(st.none(), TEXT), company=TEXT,
       merchant=TEXT, address=ADDRESS, key=TEXT, sender=st.sampled_from(SENDERS))
def test_any_notice_is_the_same_bytes(language: str, kind: str, invoice: str, order: str,
                                      name: str | None, company: str, merchant: str,
                                      address: str, key: str, sender: str) -> None:
    notice = replace(BASE, language=language, kind=kind, invoice_number=invoice,
                     order_number=order, buyer_name=name, buyer_company=company,
                     merchant_name=merchant, buyer_email=address, key=key)
    try:
        expected = render_email(notice, sender).as_bytes(policy=SMTP)
    except Exception as exc:  # refused alike
        with pytest.raises(type(exc)):
            prepare_email(notice, sender)
        return
    assert prepare_email(notice, sender).data == expected


def test_the_outbox_writes_the_prepared_bytes_and_smtp_gets_the_message(tmp_path: Path):
    prepared = prepare_email(BASE, SENDERS[0])
    path = Outbox(tmp_path, MailSettings()).send_email(prepared, BASE.key)
    assert Path(path).read_bytes() == prepared.data
    message = prepared.make()
    assert message.as_bytes(policy=SMTP) == prepared.data
    parsed = email.message_from_bytes(prepared.data, policy=email.policy.default)
    assert parsed["To"] == BASE.buyer_email


def test_a_recipient_that_is_no_address_is_refused_alike() -> None:
    for address in ("no-at-sign", "a b@example.com"):
        with pytest.raises(ValueError):
            prepare_email(replace(BASE, buyer_email=address), SENDERS[0])


@given(st.lists(st.text(max_size=120), max_size=12))
@settings(max_examples=200, deadline=None)
def test_text_encoded_line_by_line_is_the_text_encoded_at_once(lines: list[str]) -> None:
    from core.receivables.emails import _encoded, _encoded_whole

    for text in ("\n".join(lines), "\r\n".join(lines) + "\n", "\r".join(lines)):
        whole = _encoded_whole(text.encode("utf-8").splitlines())
        assert _encoded(text) == whole
        assert _encoded(text) == whole  # the lines kept give the same bytes
