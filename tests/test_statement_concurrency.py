"""Statements built and downloaded at the same time: every build and every download is a
whole file, the same for all, and no file is left aside."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from io import BytesIO

import pytest
import time_machine
from pypdf import PdfReader

from conftest import MERCHANT_ID
from core.ledger.db import session_scope
from core.ledger.store import Ledger
from core.statements.build import build_statement
from core.users import create_user
from webhooks import create_app

THREADS = 8
WEEK = "2026-W10"  # the timeline's DAY0, Monday 2 March 2026
PASSWORD = "correct horse battery"


@pytest.fixture
def sold(buy):
    """Two orders invoiced in :data:`WEEK`; the clock then stopped on the Sunday after, so
    that builds at the same time write the same bytes (the PDF names its creation time)."""
    buy("1001", activate_on=0)
    buy("1002", activate_on=1)
    with time_machine.travel(datetime(2026, 3, 8, 12, tzinfo=UTC), tick=False):
        yield


def whole_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") \
        and len(PdfReader(BytesIO(data)).pages) >= 1


def at_once(task, n: int = THREADS) -> list:
    """``task(i)`` for ``i`` in ``range(n)``, in ``n`` threads started together; their
    results."""
    start = threading.Barrier(n)

    def run(i: int):
        start.wait()
        return task(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_builds_at_the_same_time_each_give_whole_identical_files(engine, sold, tmp_path):
    def build(_: int) -> tuple[bytes, bytes]:
        statement = build_statement(engine, MERCHANT_ID, WEEK, tmp_path)
        return statement.csv_path.read_bytes(), statement.pdf_path.read_bytes()

    for _ in range(3):
        results = at_once(build)
        assert len(set(results)) == 1
        csv_bytes, pdf_bytes = results[0]
        assert csv_bytes.count(b"\n") > 3 and b"total:payout" in csv_bytes
        assert whole_pdf(pdf_bytes)
    assert sorted(p.name for p in (tmp_path / str(MERCHANT_ID)).iterdir()) == [
        f"statement-{MERCHANT_ID}-{WEEK}.csv", f"statement-{MERCHANT_ID}-{WEEK}.pdf"]


def test_downloads_at_the_same_time_are_all_whole_and_alike(kit, sold):
    with session_scope(kit.engine) as session:
        create_user(Ledger(session), MERCHANT_ID, "anna@acme.example", PASSWORD)
    app = create_app({"TESTING": True}, kit=kit)
    clients = []
    for _ in range(THREADS):
        client = app.test_client()
        page = client.get("/office/sign-in").get_data(as_text=True)
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        assert client.post("/office/sign-in", data={
            "csrf": token, "email": "anna@acme.example", "password": PASSWORD,
        }).status_code == 302
        clients.append(client)
    for kind in ("pdf", "csv", "pdf"):
        def download(i: int, kind: str = kind) -> tuple[int, bytes, str | None]:
            answer = clients[i].get(f"/office/statements/{WEEK}.{kind}")
            return answer.status_code, answer.get_data(), answer.headers.get("Content-Length")

        results = at_once(download)
        assert {status for status, _, _ in results} == {200}
        assert len({body for _, body, _ in results}) == 1
        body = results[0][1]
        assert {length for _, _, length in results} == {str(len(body))}
        assert whole_pdf(body) if kind == "pdf" else b"INV-" in body
    folder = kit.settings.home / "statements" / str(MERCHANT_ID)
    assert not [p for p in folder.iterdir() if p.suffix == ".part"]
