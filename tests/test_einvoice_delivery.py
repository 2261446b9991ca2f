"""Where the e-invoices go (issue 25): the format a buyer gets, ``invoicekit documents
show|export``, the download link without sign-in, the link in the shop's write-back, the
back office's download, and the invoice e-mail with the document attached, once."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import responses
from office_users import OTTO, make_office, sign_in
from sqlalchemy import select, update
from test_cli import cli  # noqa: F401  (a fixture: an instance with the shop acme)

from conftest import MERCHANT_ID, WOO_SECRET
from core.einvoice.formats import (
    einvoice_setting,
    format_for,
    is_leitweg_id,
    set_einvoice_setting,
)
from core.einvoice.links import DocumentLinks
from core.einvoice.mail import queue_document_emails
from core.einvoice.mail import send_due as send_emails
from core.einvoice.pdf import fonts_available
from core.errors import ConfigurationError, PayloadError
from core.ledger.db import session_scope
from core.ledger.models import DocumentEmail, Invoice, Order
from core.ledger.store import Ledger
from core.receivables.mail import MailSettings, Outbox
from core.schemas import dump_snapshot, load_snapshot
from orders import order_data
from smtp import Collector, smtp_server
from woo import SHOP_URL, body, headers, order

SELLER = {"street": "Industriestraße 7", "postcode": "10115", "city": "Berlin",
          "vat_id": "DE136695976", "register": "HRB 12345, Amtsgericht Berlin",
          "contact_name": "Buchhaltung", "phone": "+49 30 1234567",
          "email": "rechnung@acme.example"}
LEITWEG = "04011000-1234512345-06"
XML_NS = b"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"


def pdf_ready() -> bool:
    """Whether the ZUGFeRD PDF can be made here (see test_einvoice_pdf.needs_fonts)."""
    return fonts_available() or bool(os.environ.get("INVOICEKIT_REQUIRE_FONTS"))


def completed(order_id: str = "1001", minutes: int = 0, **buyer) -> dict:
    data = order_data(order_id, status="completed", discounts=[], minutes=minutes)
    data["buyer"].update(buyer)
    return data


def configure(engine, **seller) -> None:
    with session_scope(engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, seller={**SELLER, **seller})


def invoices(engine) -> list[tuple[int, str, str, date]]:
    with session_scope(engine) as session:
        return [(i.id, i.number, i.kind, i.issued_on)
                for i in session.scalars(select(Invoice).order_by(Invoice.id))]


# -- which format a buyer gets ----------------------------------------------------------------


class _Merchant:
    def __init__(self, seller=None):
        self.seller = seller or {}


def test_leitweg_ids_are_recognised_by_form_and_check_digits():
    assert is_leitweg_id(LEITWEG)
    assert is_leitweg_id("992-90009-96") and is_leitweg_id("04011000-12345ABCXYZ-86")
    assert not is_leitweg_id("04011000-1234512345-07")  # a check digit off
    assert not is_leitweg_id("PO-2026-0042") and not is_leitweg_id(None)


def test_auto_gives_public_buyers_xrechnung_and_everyone_else_zugferd():
    merchant = _Merchant()
    public = load_snapshot(completed(buyer_reference=LEITWEG))
    assert format_for(merchant, public) == "xrechnung"
    assert format_for(merchant, dump_snapshot(public)) == "xrechnung"  # the stored form
    assert format_for(merchant, load_snapshot(completed())) == "zugferd"
    assert format_for(merchant, load_snapshot(completed(buyer_reference="PO 4711"))) \
        == "zugferd"  # a purchase order number is no Leitweg-ID


def test_the_merchant_setting_decides_for_every_buyer():
    merchant = _Merchant(dict(SELLER))
    for setting in ("zugferd", "xrechnung", "both"):
        set_einvoice_setting(merchant, setting)
        assert format_for(merchant, load_snapshot(completed())) == setting
        assert format_for(merchant, load_snapshot(completed(buyer_reference=LEITWEG))) \
            == setting
    set_einvoice_setting(merchant, "auto")
    assert merchant.seller == SELLER and einvoice_setting(merchant) == "auto"
    with pytest.raises(ConfigurationError, match="--einvoice"):
        set_einvoice_setting(merchant, "ubl")


def test_buyer_reference_is_part_of_the_snapshot():
    snapshot = load_snapshot(completed(buyer_reference=LEITWEG))
    assert snapshot.buyer.buyer_reference == LEITWEG
    assert dump_snapshot(snapshot)["buyer"]["buyer_reference"] == LEITWEG
    assert load_snapshot(completed()).buyer.buyer_reference is None
    with pytest.raises(PayloadError) as refused:
        load_snapshot(completed(buyer_reference="x" * 201))
    assert "buyer.buyer_reference" in refused.value.field_errors


def test_woocommerce_reads_the_buyer_reference_from_order_meta():
    from plugins.woocommerce.order import read_order, to_snapshot

    raw = order(status="processing")
    raw["meta_data"] = [*raw.get("meta_data", []),
                        {"id": 9, "key": "_billing_leitweg_id", "value": f" {LEITWEG} "}]
    snapshot = to_snapshot(read_order(json.loads(body(raw))), "acme", {})
    assert snapshot.buyer.buyer_reference == LEITWEG
    plain = to_snapshot(read_order(json.loads(body(order(status="processing")))), "acme", {})
    assert plain.buyer.buyer_reference is None


# -- the download link ------------------------------------------------------------------------


LINKS = DocumentLinks("the-instance-secret", "https://kit.example")


def test_a_token_names_its_document_kind_and_expiry():
    token = LINKS.token(17, "xml", date(2026, 12, 1))
    reference = LINKS.read(token, today=date(2026, 12, 2))
    assert (reference.invoice_id, reference.kind) == (17, "xml")
    assert reference.expires_on == date(2026, 12, 1) + timedelta(days=730)
    assert token == LINKS.token(17, "xml", date(2026, 12, 1))  # stable: no time inside
    assert LINKS.url(17, "pdf", date(2026, 12, 1)).startswith("https://kit.example/documents/")
    assert "secret" not in repr(LINKS)


@pytest.mark.parametrize("make", [
    lambda: "garbage",
    lambda: "",
    lambda: "x" * 500,
    lambda: DocumentLinks("another-secret", "https://kit.example").token(17, "xml",
                                                                         date(2026, 12, 1)),
    lambda: LINKS.token(17, "xml", date(2026, 12, 1))[:-2] + "AA",  # signature altered
    lambda: LINKS.token(17, "xml", date(2026, 12, 1)).replace("WzE3", "WzE4"),  # id altered
    lambda: LINKS.token(17, "xml", date(2020, 1, 1), expires_on=date(2026, 12, 1)),
], ids=["garbage", "empty", "long", "forged", "signature", "payload", "expired"])
def test_an_invalid_token_names_nothing(make):
    assert LINKS.read(make(), today=date(2026, 12, 2)) is None


@pytest.fixture
def app(kit, woo_shop):
    from webhooks import create_app

    configure(kit.engine)
    return create_app({"TESTING": True}, kit=kit)


@pytest.fixture
def place(kit):
    from core.execute import process_snapshot

    return lambda data: process_snapshot(kit.engine, kit.hooks, load_snapshot(data))


def test_the_link_answers_the_document_without_sign_in(app, kit, place, caplog):
    place(completed(buyer_reference=LEITWEG))
    ((invoice_id, number, _, issued_on),) = invoices(kit.engine)
    links = DocumentLinks.for_settings(kit.settings)
    token = links.token(invoice_id, "xml", issued_on)
    caplog.set_level(logging.DEBUG)
    answer = app.test_client().get(f"/documents/{token}")
    assert answer.status_code == 200
    assert answer.mimetype == "application/xml"
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{number}.xml"'
    assert XML_NS in answer.data and LEITWEG.encode() in answer.data
    assert token not in caplog.text


def _altered(token: str) -> str:
    """The token with the first character of its signature changed. Not the last one: the
    last base64 character of a 32-byte signature carries 4 bits, so w, x, y and z there
    decode alike (the test appended an x and failed about once in 20 runs)."""
    payload, _, signature = token.rpartition(".")
    return f"{payload}.{'B' if signature.startswith('A') else 'A'}{signature[1:]}"


def test_bad_forged_expired_and_unknown_tokens_get_the_same_bare_404(app, kit, place, caplog):
    place(completed())
    ((invoice_id, _, _, issued_on),) = invoices(kit.engine)
    links = DocumentLinks.for_settings(kit.settings)
    forged = DocumentLinks("not-the-key", kit.settings.public_url)
    tokens = ["nonsense", forged.token(invoice_id, "xml", issued_on),
              links.token(invoice_id, "xml", issued_on, expires_on=date.today() - timedelta(1)),
              links.token(invoice_id + 99, "xml", issued_on),
              _altered(links.token(invoice_id, "xml", issued_on))]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    answers = [client.get(f"/documents/{token}") for token in tokens]
    assert {(a.status_code, a.get_data(as_text=True)) for a in answers} == {
        (404, "Not found\n")}
    assert all(a.headers["Cache-Control"] == "private, no-store" for a in answers)
    assert not any(token in caplog.text for token in tokens)
    posted = client.post(f"/documents/{tokens[-1]}")
    assert posted.status_code == 405 and tokens[-1] not in caplog.text


def test_a_document_that_cannot_be_made_is_503_without_detail(app, kit, place):
    place(completed())
    ((invoice_id, _, _, issued_on),) = invoices(kit.engine)
    with session_scope(kit.engine) as session:
        Ledger(session).configure_merchant(MERCHANT_ID, seller={"street": ""})
    token = DocumentLinks.for_settings(kit.settings).token(invoice_id, "xml", issued_on)
    answer = app.test_client().get(f"/documents/{token}")
    assert answer.status_code == 503
    assert "street" not in answer.get_data(as_text=True)


def test_the_pdf_link_answers_the_zugferd_pdf(app, kit, place):
    if not pdf_ready():
        pytest.skip("the DejaVu Sans fonts are missing: apt install fonts-dejavu-core")
    place(completed())
    ((invoice_id, number, _, issued_on),) = invoices(kit.engine)
    token = DocumentLinks.for_settings(kit.settings).token(invoice_id, "pdf", issued_on)
    answer = app.test_client().get(f"/documents/{token}")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.data.startswith(b"%PDF")
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{number}.pdf"'


# -- the link in the shop's write-back ---------------------------------------------------------


API = f"{SHOP_URL}/wp-json/wc/v3"


def test_the_write_back_carries_the_latest_invoices_link(client, kit):
    configure(kit.engine)
    with session_scope(kit.engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), "xrechnung")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(f"{API}/orders/4711", json={"id": 4711})
        api.post(f"{API}/orders/4711/notes", status=201, json={"id": 1})
        for data, topic in ((order(status="processing"), "order.created"),
                            (order(status="completed", modified="2026-11-03T14:00:00"),
                             "order.updated")):
            raw = body(data)
            assert client.post("/webhooks/woocommerce/acme", data=raw,
                               headers=headers(raw, WOO_SECRET, topic)).status_code == 202
        metas = [{m["key"]: m["value"] for m in json.loads(c.request.body)["meta_data"]}
                 for c in api.calls if c.request.method == "PUT"]
    assert "invoicekit_invoice_document_url" not in metas[0]  # authorised: no invoice yet
    url = metas[1]["invoicekit_invoice_document_url"]
    assert url.startswith(f"{kit.settings.public_url}/documents/")
    answer = client.get(url.removeprefix(kit.settings.public_url))
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    ((_, number, _, _),) = invoices(kit.engine)
    assert f"{number}.xml" in answer.headers["Content-Disposition"]


def test_no_link_while_the_merchant_lacks_seller_details(client, kit):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as api:
        api.put(f"{API}/orders/4711", json={"id": 4711})
        api.post(f"{API}/orders/4711/notes", status=201, json={"id": 1})
        raw = body(order(status="completed"))
        client.post("/webhooks/woocommerce/acme", data=raw,
                    headers=headers(raw, WOO_SECRET, "order.created"))
        metas = [json.loads(c.request.body)["meta_data"] for c in api.calls
                 if c.request.method == "PUT"]
    assert metas and not any(m["key"] == "invoicekit_invoice_document_url"
                             for meta in metas for m in meta)


# -- the back office ---------------------------------------------------------------------------


@pytest.fixture
def office(kit, woo_shop):
    from core.execute import process_snapshot

    configure(kit.engine)
    app = make_office(kit)  # order 1001 placed; now it is completed
    process_snapshot(kit.engine, kit.hooks, load_snapshot(completed("1001", minutes=5)))
    return app


def order_id_of(kit, shop_order_id: str = "1001") -> int:
    with session_scope(kit.engine) as session:
        return session.scalars(select(Order.id).where(
            Order.shop_order_id == shop_order_id)).one()


def test_the_office_downloads_a_document_and_links_it(office, kit):
    client = office.test_client()
    sign_in(client)
    ((_, number, _, _),) = invoices(kit.engine)
    oid = order_id_of(kit)
    page = client.get(f"/office/orders/{oid}").get_data(as_text=True)
    assert f"/office/orders/{oid}/documents/{number}.xml" in page
    assert f"/office/orders/{oid}/documents/{number}.pdf" in page
    answer = client.get(f"/office/orders/{oid}/documents/{number}.xml")
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    assert XML_NS in answer.data
    assert answer.headers["Cache-Control"] == "no-store"
    assert client.get(f"/office/orders/{oid}/documents/INV-999999.xml").status_code == 404
    assert client.get(f"/office/orders/{oid}/documents/{number}.txt").status_code == 404


def test_another_merchants_document_is_404_in_the_office(office, kit):
    client = office.test_client()
    sign_in(client, OTTO)
    ((_, number, _, _),) = invoices(kit.engine)
    answer = client.get(f"/office/orders/{order_id_of(kit)}/documents/{number}.xml")
    assert answer.status_code == 404
    assert XML_NS not in answer.data


def test_the_office_signs_in_first(office, kit):
    ((_, number, _, _),) = invoices(kit.engine)
    answer = office.test_client().get(
        f"/office/orders/{order_id_of(kit)}/documents/{number}.xml")
    assert answer.status_code in (302, 303, 401)
    assert XML_NS not in answer.data


# -- the command line --------------------------------------------------------------------------


def feed_file(cli, tmp_path: Path, data: dict) -> None:  # noqa: F811
    path = tmp_path / f"order-{data['order_id']}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    cli("orders", "feed", path)


def seller_options() -> list[str]:
    return [part for key, value in SELLER.items() for part in ("--seller", f"{key}={value}")]


def test_documents_show_and_export_write_files_that_pass_the_rules(cli, tmp_path, engine):  # noqa: F811
    from core.einvoice.validation import validate_file

    cli("merchants", "configure", MERCHANT_ID, *seller_options(), "--einvoice", "xrechnung")
    with session_scope(engine) as session:
        merchant = Ledger(session).merchant(MERCHANT_ID)
        assert einvoice_setting(merchant) == "xrechnung" and merchant.seller["city"] == "Berlin"
    feed_file(cli, tmp_path, completed("1001"))
    ((_, number, _, issued_on),) = invoices(engine)
    shown = cli("documents", "show", "acme", "1001").output
    assert f"{number}  invoice  {issued_on.isoformat()}  " in shown
    assert f"xrechnung ({number}.xml)" in shown
    rows = json.loads(cli("documents", "show", "acme", "1001", "--json").output)
    assert rows[0]["format"] == "xrechnung" and rows[0]["files"] == [f"{number}.xml"]

    out = tmp_path / "export"
    written = cli("documents", "export", "acme", "1001", "--to", out).output
    assert written.strip() == f"wrote {out / (number + '.xml')}"
    report = validate_file(out / f"{number}.xml")
    assert report.ok, report.text()
    cli("documents", "export", "acme", "1001", "--number", number, "--format", "xml",
        "--to", out)
    missing = cli("documents", "export", "acme", "1001", "--number", "INV-9", "--to", out,
                  ok=False)
    assert missing.exit_code == 1 and "no invoice or credit note 'INV-9'" in missing.output
    if pdf_ready():
        cli("documents", "export", "acme", "1001", "--format", "both", "--to", out)
        report = validate_file(out / f"{number}.pdf")
        assert report.ok, report.text()


def test_export_errors_name_the_cause(cli, tmp_path, engine):  # noqa: F811
    unknown = cli("documents", "show", "acme", "4711", ok=False)
    assert unknown.exit_code == 1 and "shop 'acme' has no order '4711'" in unknown.output
    feed_file(cli, tmp_path, completed("1001"))
    lacking = cli("documents", "export", "acme", "1001", "--format", "xml", "--to", tmp_path,
                  ok=False)
    assert lacking.exit_code == 1
    assert "merchant 3333 lacks seller details for e-invoices: street" in lacking.output
    feed_file(cli, tmp_path, order_data("1002", discounts=[]))  # placed, not invoiced
    with session_scope(engine) as session:  # as if a remote provider had placed it
        session.execute(update(Order).where(Order.shop_order_id == "1002")
                        .values(provider="billie"))
    remote = cli("documents", "show", "acme", "1002", ok=False)
    assert "is with provider billie, which issues its own invoices" in remote.output


def test_einvoice_option_refuses_unknown_formats(cli):  # noqa: F811
    bad = cli("merchants", "configure", MERCHANT_ID, "--einvoice", "ubl", ok=False)
    assert bad.exit_code == 2 and "--einvoice" in bad.output


# -- the invoice e-mail ------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Collector, int]]:
    yield from smtp_server(refuse=False)


def emails(engine) -> list[tuple[str, str, int]]:
    with session_scope(engine) as session:
        return [(r.recipient, r.status, r.attempts)
                for r in session.scalars(select(DocumentEmail).order_by(DocumentEmail.id))]


def test_each_document_is_mailed_once_with_its_e_invoice(feed, engine, tmp_path, smtp):
    collector, port = smtp
    configure(engine)
    with session_scope(engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), "xrechnung")
    data = completed("1001")
    feed(load_snapshot(data))
    feed(load_snapshot(data))  # the same delivery again: nothing new
    assert emails(engine) == [("einkauf@muster.example", "pending", 0)]
    outbox = Outbox(tmp_path, MailSettings.from_mapping({
        "sender": "Receivables <billing@kit.example>", "smtp_host": "127.0.0.1",
        "smtp_port": port}))
    assert send_emails(engine, outbox).sent == 1
    assert send_emails(engine, outbox).sent == 0  # sent is sent
    with session_scope(engine) as session:  # queuing again for the same document: no
        ledger = Ledger(session)
        record = session.scalars(select(Invoice)).one()
        assert queue_document_emails(ledger, record.order_id, record.idempotency_key) == 0
    assert send_emails(engine, outbox).sent == 0
    (envelope,) = collector.envelopes
    assert envelope.rcpt_tos == ["einkauf@muster.example"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    ((_, number, _, _),) = invoices(engine)
    assert message["Subject"] == f"Rechnung {number} - ACME Office GmbH"
    assert message["Reply-To"] == SELLER["email"]
    text = message.get_body(("plain",)).get_content()
    assert number in text and "DE" in text and "BP1001/3333" in text
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == f"{number}.xml"
    assert attachment.get_content_type() == "application/xml"
    assert XML_NS in attachment.get_payload(decode=True)
    assert emails(engine) == [("einkauf@muster.example", "sent", 1)]


@pytest.mark.parametrize(("setting", "buyer_reference", "files"), [
    ("auto", None, ["pdf"]), ("auto", LEITWEG, ["xml"]), ("both", None, ["pdf", "xml"])])
def test_the_attachment_is_the_buyers_format(feed, engine, tmp_path, setting,
                                             buyer_reference, files):
    if "pdf" in files and not pdf_ready():
        pytest.skip("the DejaVu Sans fonts are missing: apt install fonts-dejavu-core")
    configure(engine)
    with session_scope(engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), setting)
    feed(load_snapshot(completed("1001", buyer_reference=buyer_reference)))
    assert send_emails(engine, Outbox(tmp_path, MailSettings())).sent == 1
    ((_, number, _, _),) = invoices(engine)
    message = email.message_from_bytes((tmp_path / "outbox" / f"einvoice-{number}.eml")
                                       .read_bytes(), policy=email.policy.default)
    attached = list(message.iter_attachments())
    assert [a.get_filename() for a in attached] == [f"{number}.{kind}" for kind in files]
    for attachment in attached:
        data = attachment.get_payload(decode=True)
        assert data.startswith(b"%PDF") if attachment.get_filename().endswith(".pdf") \
            else XML_NS in data


def test_a_credit_note_is_mailed_too_and_without_smtp_it_lands_in_the_outbox(feed, engine,
                                                                          tmp_path):
    configure(engine)
    with session_scope(engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), "xrechnung")
    data = completed("1001")
    feed(load_snapshot(data))
    cancelled = {**data, "status": "cancelled", "ordering_key": "2026-11-04T10:00:00+00:00"}
    feed(load_snapshot(cancelled))
    numbers = [number for _, number, _, _ in invoices(engine)]
    assert len(numbers) == 2 and len(emails(engine)) == 2
    outbox = Outbox(tmp_path, MailSettings())
    assert send_emails(engine, outbox).sent == 2
    files = sorted(p.name for p in (tmp_path / "outbox").glob("*.eml"))
    assert files == sorted(f"einvoice-{n}.eml" for n in numbers)
    note = email.message_from_bytes((tmp_path / "outbox" / f"einvoice-{numbers[1]}.eml")
                                    .read_bytes(), policy=email.policy.default)
    assert numbers[0] in note.get_body(("plain",)).get_content()  # the invoice it credits


def test_a_document_that_cannot_be_made_waits_and_is_sent_once_it_can(feed, engine, tmp_path):
    feed(load_snapshot(completed("1001")))  # no seller details yet
    outbox = Outbox(tmp_path, MailSettings())
    result = send_emails(engine, outbox)
    assert (result.sent, result.failed) == (0, 1)
    with session_scope(engine) as session:
        row = session.scalars(select(DocumentEmail)).one()
        assert "lacks seller details" in row.error and row.status == "pending"
        row.next_attempt_at = None
    configure(engine)
    with session_scope(engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), "xrechnung")
    assert send_emails(engine, outbox).sent == 1
    assert [s for _, s, _ in emails(engine)] == ["sent"]


def test_a_refusing_server_makes_the_email_dead_and_it_can_be_retried(feed, engine,
                                                                     tmp_path):
    from core.einvoice.mail import retry_dead

    configure(engine)
    with session_scope(engine) as session:
        set_einvoice_setting(Ledger(session).merchant(MERCHANT_ID), "xrechnung")
    feed(load_snapshot(completed("1001")))
    gen = smtp_server(refuse=True)
    _, port = next(gen)
    try:
        outbox = Outbox(tmp_path, MailSettings.from_mapping({"smtp_host": "127.0.0.1",
                                                            "smtp_port": port}))
        assert send_emails(engine, outbox).dead == 1
    finally:
        gen.close()
    assert [s for _, s, _ in emails(engine)] == ["dead"]
    assert retry_dead(engine) == 1
    assert send_emails(engine, Outbox(tmp_path, MailSettings())).sent == 1


def test_the_worker_sends_the_emails_every_minute(kit):
    due = {t.name for t in kit.queue.huey.read_periodic(datetime(2026, 11, 23, 10, 16))}
    assert "send_document_emails" in due


def test_a_library_failure_is_retried_and_ends_dead_never_stuck(feed, engine, tmp_path,
                                                                  monkeypatch):
    from core.einvoice import mail
    from core.retry import Backoff

    configure(engine)
    feed(load_snapshot(completed("1001")))
    outbox, backoff = Outbox(tmp_path, MailSettings()), Backoff(max_attempts=2, jitter=False)

    def broken(*args, **kwargs):
        raise ValueError("a library broke")

    monkeypatch.setattr(mail, "render_document_email", broken)
    assert send_emails(engine, outbox, backoff).failed == 1
    with session_scope(engine) as session:
        row = session.scalars(select(DocumentEmail)).one()
        assert (row.status, row.error) == ("pending", "the document cannot be made: ValueError")
        row.next_attempt_at = None
    assert send_emails(engine, outbox, backoff).dead == 1
    assert [s for _, s, _ in emails(engine)] == ["dead"]


def test_a_claim_left_on_the_last_attempt_ends_dead(feed, engine, tmp_path):
    from core.retry import Backoff

    configure(engine)
    feed(load_snapshot(completed("1001")))
    with session_scope(engine) as session:  # a worker died while sending the last attempt
        row = session.scalars(select(DocumentEmail)).one()
        row.status, row.attempts = "sending", 2
        row.claimed_at = datetime.now(UTC) - timedelta(hours=1)
    outbox = Outbox(tmp_path, MailSettings())
    assert send_emails(engine, outbox, Backoff(max_attempts=2)).sent == 0
    assert [s for _, s, _ in emails(engine)] == ["dead"]
