"""Dunning documents: wording per language and kind, the PDF letter, and the outbox."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pypdf
import pytest
from babel.dates import format_date
from babel.numbers import format_currency

from core.errors import ConfigurationError, PermanentError, RetryableError
from core.receivables.documents import Notice, render_email, render_letter, safe_key
from core.receivables.mail import MailSettings, Outbox
from core.receivables.texts import TEXTS
from smtp import Collector, free_port, smtp_server

LANGUAGES = ("de", "en", "fr")
KINDS = ("reminder", "final", "upcoming", "cancellation")
LOCALES = {"de": "de_DE", "en": "en_GB", "fr": "fr_FR"}
IBAN_GROUPED = "DE89 3704 0044 0532 0130 00"
PASSWORD = "s3cret-Pa55"

# Words that may only appear when a fee or interest is charged.
CHARGE_WORDS = {
    "de": ("pauschale", "gebühr", "zins", "p. a."),
    "en": ("fee", "interest", "p.a."),
    "fr": ("indemnité", "frais", "intérêt"),
}
HANDOVER = {"de": "Inkassopartner", "en": "collection partner",
            "fr": "partenaire de recouvrement"}
CANCELLED = {"de": "storniert", "en": "cancelled", "fr": "annulée"}
INSTALLMENT = {"de": "Rate 2 von 3", "en": "installment 2 of 3", "fr": "échéance 2 sur 3"}


def notice(**changes: object) -> Notice:
    base = Notice(
        key="r42-letter_1", kind="reminder", language="de", dated=date(2025, 3, 20),
        pay_by=date(2025, 4, 3), merchant_name="ACME Bürobedarf GmbH",
        buyer_company="Müller & Söhne KG", buyer_name="Élodie Dupré",
        buyer_email="buyer@example.com",
        buyer_address=("Hauptstraße 5", "10115 Berlin", "Deutschland"),
        order_number="1001", invoice_number="INV-2025-0042", invoice_date=date(2025, 2, 1),
        due_on=date(2025, 3, 3), installment=None, currency="EUR", principal=123456, fee=0,
        interest=0, interest_rate=None, interest_from=None, payment_reference="BP1001/7",
        iban="DE89370400440532013000", bic="COBADEFFXXX", account_holder="invoicekit Treuhand",
    )
    return replace(base, **changes)


def charged(**changes: object) -> Notice:
    return notice(fee=4000, interest=1234, interest_rate=Decimal("10.27"),
                  interest_from=date(2025, 3, 4), **changes)


def flat(text: str) -> str:
    """Whitespace (also no-break and narrow spaces) collapsed to single spaces."""
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def money(minor: int, language: str) -> str:
    return flat(format_currency(Decimal(minor).scaleb(-2), "EUR", locale=LOCALES[language]))


def day(value: date, language: str) -> str:
    return flat(format_date(value, "long", locale=LOCALES[language]))


def email_text(item: Notice) -> str:
    message = render_email(item, "Billing <billing@example.com>")
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    return flat(f"{parsed['Subject']}\n{parsed.get_content()}")


def letter_text(item: Notice) -> str:
    pdf = render_letter(item)
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return flat("\n".join(page.extract_text() for page in reader.pages))


RENDERERS = {"email": email_text, "letter": letter_text}


@pytest.mark.parametrize("medium", RENDERERS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_in_every_language(language: str, kind: str, medium: str):
    item = notice(language=language, kind=kind, pay_by=None if kind == "cancellation"
                  else date(2025, 4, 3), installment=(2, 3))
    text = RENDERERS[medium](item)
    lowered = text.lower()

    assert "INV-2025-0042" in text
    assert "1001" in text
    assert INSTALLMENT[language] in text
    for word in CHARGE_WORDS[language]:
        assert word not in lowered, word
    assert money(0, language) not in text
    if kind == "cancellation":
        assert CANCELLED[language] in text
        for absent in ("BP1001/7", IBAN_GROUPED, money(123456, language)):
            assert absent not in text
        return
    assert "BP1001/7" in text
    assert IBAN_GROUPED in text
    assert "COBADEFFXXX" in text
    assert "invoicekit Treuhand" in text
    assert money(123456, language) in text
    assert day(date(2025, 4, 3), language) in text
    assert (HANDOVER[language] in text) == (kind == "final")


@pytest.mark.parametrize("medium", RENDERERS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_fee_and_interest_appear_only_when_charged(language: str, medium: str):
    text = RENDERERS[medium](charged(language=language, kind="final"))
    rate = "10.27" if language == "en" else "10,27"
    assert money(4000, language) in text
    assert money(1234, language) in text
    assert rate in text
    assert day(date(2025, 3, 4), language) in text
    assert money(123456 + 4000 + 1234, language) in text
    lowered = text.lower()
    assert CHARGE_WORDS[language][0] in lowered
    assert any(word in lowered for word in CHARGE_WORDS[language][1:])


@pytest.mark.parametrize("language", LANGUAGES)
def test_upcoming_never_shows_charges(language: str):
    text = email_text(charged(language=language, kind="upcoming"))
    assert money(4000, language) not in text
    assert money(123456 + 4000 + 1234, language) not in text
    for word in CHARGE_WORDS[language]:
        assert word not in text.lower()


def test_fee_only_shows_no_interest_and_a_total():
    text = email_text(notice(language="en", fee=4000))
    assert "Flat-rate late payment fee: €40.00" in text
    assert "interest" not in text.lower()
    assert "Total amount due: €1,274.56" in text


def test_unknown_language_falls_back_to_english_and_yen_has_no_decimals():
    text = email_text(notice(language="xx", currency="JPY", principal=5000))
    assert "Payment reminder: invoice INV-2025-0042" in text
    assert "5,000" in text and "5,000.00" not in text


def test_email_headers():
    message = render_email(notice(key="r42 letter/1"), "Billing <billing@example.com>")
    assert message["To"] == "buyer@example.com"
    assert message["From"] == "Billing <billing@example.com>"
    assert message["Subject"] == "Zahlungserinnerung: Rechnung INV-2025-0042"
    assert message["Date"] == "Thu, 20 Mar 2025 12:00:00 +0000"
    assert re.fullmatch(r"<[A-Za-z0-9._-]+@invoicekit>", message["Message-ID"])
    assert message["Message-ID"] == render_email(notice(key="r42 letter/1"), "x@y.z")["Message-ID"]
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"


def test_safe_key_keeps_clean_keys_and_separates_the_rest():
    assert safe_key("r42-letter_1") == "r42-letter_1"
    assert safe_key("a/b") != safe_key("a b")
    assert "/" not in safe_key("../../etc/passwd")
    assert not safe_key("..").startswith(".")


def test_letter_is_deterministic_and_prints_umlauts_and_euro():
    item = charged(language="de")
    assert render_letter(item) == render_letter(item)
    text = letter_text(item)
    assert "Müller & Söhne KG" in text
    assert "Hauptstraße 5" in text
    assert "1.286,90 €" in text


def test_notice_rejects_inconsistent_data():
    with pytest.raises(ValueError, match="pay_by"):
        notice(pay_by=None)
    with pytest.raises(ValueError, match="interest"):
        notice(interest=10)
    with pytest.raises(ValueError, match="fee"):
        notice(fee=-1)
    with pytest.raises(ValueError, match="kind"):
        notice(kind="threat")


def test_every_language_has_the_same_keys():
    keys = set(TEXTS["en"])
    assert all(set(words) == keys for words in TEXTS.values())


# --- outbox -------------------------------------------------------------------------------


def test_outbox_writes_one_eml_per_key(tmp_path: Path):
    outbox = Outbox(tmp_path, MailSettings())
    message = render_email(notice(), MailSettings().sender)
    first = outbox.send_email(message, "r42-letter_1")
    second = outbox.send_email(message, "r42-letter_1")
    assert first == second == str(tmp_path / "outbox" / "r42-letter_1.eml")
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["r42-letter_1.eml"]
    parsed = email.message_from_bytes(Path(first).read_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == "<r42-letter_1@invoicekit>"
    assert parsed["To"] == "buyer@example.com"
    assert parsed["Subject"] == "Zahlungserinnerung: Rechnung INV-2025-0042"
    assert "BP1001/7" in parsed.get_content()


def test_outbox_stores_letters(tmp_path: Path):
    outbox = Outbox(tmp_path, MailSettings())
    pdf = render_letter(notice())
    assert outbox.store_letter(pdf, "r42-letter_1") == tmp_path / "letters" / "r42-letter_1.pdf"
    assert outbox.store_letter(pdf, "r42-letter_1").read_bytes() == pdf
    assert [p.name for p in (tmp_path / "letters").iterdir()] == ["r42-letter_1.pdf"]


@pytest.fixture
def server() -> Iterator[tuple[Collector, int]]:
    yield from smtp_server(refuse=False)


@pytest.fixture
def refusing_server() -> Iterator[tuple[Collector, int]]:
    yield from smtp_server(refuse=True)


def smtp_settings(port: int) -> MailSettings:
    return MailSettings(sender="Billing <billing@example.com>", smtp_host="127.0.0.1",
                        smtp_port=port, timeout=5.0)


def test_smtp_delivers_to_a_real_server(tmp_path: Path, server):
    handler, port = server
    outbox = Outbox(tmp_path, smtp_settings(port))
    where = outbox.send_email(render_email(notice(), "Billing <billing@example.com>"), "r42")
    assert where == "smtp:127.0.0.1"
    [envelope] = handler.envelopes
    assert envelope.rcpt_tos == ["buyer@example.com"]
    assert envelope.mail_from == "billing@example.com"
    received = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "BP1001/7" in received.get_content()
    assert received["Message-ID"] == "<r42-letter_1@invoicekit>"
    assert not (tmp_path / "outbox").exists()


def test_smtp_refused_recipient_is_permanent(tmp_path: Path, refusing_server):
    handler, port = refusing_server
    settings = dataclasses.replace(smtp_settings(port), smtp_password=PASSWORD)
    with pytest.raises(PermanentError, match="550") as caught:
        Outbox(tmp_path, settings).send_email(render_email(notice(), settings.sender), "r42")
    assert PASSWORD not in str(caught.value)
    assert handler.envelopes == []


def test_smtp_nothing_listening_is_retryable(tmp_path: Path):
    settings = dataclasses.replace(smtp_settings(free_port()), smtp_user="billing",
                                   smtp_password=PASSWORD)
    with pytest.raises(RetryableError) as caught:
        Outbox(tmp_path, settings).send_email(render_email(notice(), settings.sender), "r42")
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(settings)


# --- settings -------------------------------------------------------------------------------


def test_settings_from_mapping():
    settings = MailSettings.from_mapping({
        "sender": "Receivables <billing@example.com>", "smtp_host": "smtp.example.com",
        "smtp_port": 587, "smtp_user": "billing", "smtp_password": PASSWORD,
        "smtp_starttls": True, "timeout": 10,
    })
    assert settings.smtp_port == 587 and settings.timeout == 10.0 and settings.smtp_starttls
    assert PASSWORD not in repr(settings)
    assert MailSettings.from_mapping({}) == MailSettings()


@pytest.mark.parametrize(("values", "key"), [
    ({"smtp_hostname": "x"}, "smtp_hostname"),
    ({"smtp_port": "587"}, "smtp_port"),
    ({"smtp_port": True}, "smtp_port"),
    ({"smtp_port": 70000}, "smtp_port"),
    ({"smtp_starttls": "yes"}, "smtp_starttls"),
    ({"timeout": 0}, "timeout"),
    ({"sender": "nobody"}, "sender"),
    ({"smtp_host": 42}, "smtp_host"),
    ({"smtp_user": "billing", "smtp_password": 12345}, "smtp_password"),
    ({"smtp_user": "billing"}, "smtp_password"),
    ({"smtp_ssl": True, "smtp_starttls": True}, "smtp_ssl"),
    ({"smtp_host": "smtp.example.com", "smtp_user": "billing", "smtp_password": PASSWORD},
     "only over TLS"),
])
def test_settings_errors_name_the_key(values: dict, key: str):
    with pytest.raises(ConfigurationError, match=key) as caught:
        MailSettings.from_mapping(values)
    assert "12345" not in str(caught.value)
