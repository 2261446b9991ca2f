"""The receiver: status codes, nothing written on rejection, one delivery per content."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import WOO_SECRET
from core.ledger.db import session_scope
from core.ledger.models import Delivery, OperationRecord, Order
from core.ledger.store import Ledger
from woo import body, headers, order

URL = "/webhooks/woocommerce/acme"


def count(kit, model):
    with session_scope(kit.engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def post(client, data=None, *, raw=None, secret=WOO_SECRET, url=URL, **header_changes):
    raw = body(data or order()) if raw is None else raw
    given = headers(raw, secret)
    for name, value in header_changes.items():
        name = name.replace("_", "-")
        if value is None:
            given.pop(name, None)
        else:
            given[name] = value
    return client.post(url, data=raw, headers=given)


def test_valid_delivery_is_stored_processed_and_acknowledged(client, kit):
    response = post(client)
    assert response.status_code == 202
    assert response.json["status"] == "accepted"
    with session_scope(kit.engine) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.topic, delivery.shop_order_id) == (
            "done", "order.updated", "4711")
        assert "X-WC-Webhook-Signature" not in delivery.headers
        assert session.scalars(select(Order.status)).one() == "authorised"


def test_duplicate_is_acknowledged_and_stored_once(client, kit):
    assert post(client).status_code == 202
    again = post(client)
    assert again.status_code == 200 and again.json["status"] == "duplicate"
    assert count(kit, Delivery) == 1 and count(kit, OperationRecord) == 1


def test_ping_gets_exactly_200_and_stores_nothing(client, kit):
    response = client.post(URL, data=b"webhook_id=12",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert count(kit, Delivery) == 0


def rejected(kit):
    assert count(kit, Delivery) == 0 and count(kit, Order) == 0


def test_unknown_shop_is_404(client, kit):
    assert post(client, url="/webhooks/woocommerce/nope").status_code == 404
    assert post(client, url="/webhooks/shopware/acme").status_code == 404
    rejected(kit)


def test_altered_body_is_401_and_leaves_no_trace(client, kit):
    raw = body(order())
    given = headers(raw, WOO_SECRET)
    response = client.post(URL, data=raw.replace(b"549.73", b"449.73"), headers=given)
    assert response.status_code == 401
    assert WOO_SECRET not in response.get_data(as_text=True)
    rejected(kit)


@pytest.mark.parametrize("signature", [None, "", "%%%", "AAAA"])
def test_missing_or_malformed_signature_is_401(client, kit, signature):
    assert post(client, X_WC_Webhook_Signature=signature).status_code == 401
    rejected(kit)


def test_wrong_secret_is_401(client, kit):
    assert post(client, secret="another").status_code == 401
    rejected(kit)


def test_malformed_body_is_400(client, kit):
    response = post(client, raw=b'{"id": 4711,')
    assert response.status_code == 400
    rejected(kit)


def test_schema_violation_is_422_naming_the_fields(client, kit):
    data = order()
    data["line_items"][1]["quantity"] = -3
    del data["currency"]
    response = post(client, data)
    assert response.status_code == 422
    assert {"currency", "line_items.1.quantity"} <= set(response.json["fields"])
    assert "Muster" not in response.get_data(as_text=True)
    rejected(kit)


def test_other_payment_method_is_acknowledged_recorded_and_not_processed(client, kit):
    response = post(client, order(payment_method="paypal"))
    assert response.status_code == 200 and response.json["status"] == "ignored"
    with session_scope(kit.engine) as session:
        delivery = session.scalars(select(Delivery)).one()
        assert (delivery.status, delivery.body) == ("ignored", b"")
        assert "paypal" in delivery.error
        assert session.scalars(select(Order)).all() == []


def test_body_over_the_cap_is_413(client, kit):
    client.application.config["MAX_CONTENT_LENGTH"] = 1000
    response = post(client)
    assert response.status_code == 413
    rejected(kit)


def test_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok", "queue": "ok"}


def test_ready_only_on_a_migrated_schema(client, kit):
    from alembic import command

    from core.ledger.db import alembic_config, upgrade

    assert client.get("/readyz").json == {"status": "ok", "database": "ok", "queue": "ok",
                                          "schema": "ok"}
    command.downgrade(alembic_config(kit.engine), "-1")
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["schema"] == "not migrated: run `invoicekit db upgrade`"
        assert client.get("/healthz").status_code == 200  # alive and reachable, not ready
    finally:
        upgrade(kit.engine)


def test_a_receiver_runs_on_a_schema_a_newer_release_migrated(client, kit):
    from sqlalchemy import text

    from core.ledger.db import upgrade

    with kit.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    assert client.get("/readyz").json["schema"] == "ok"
    upgrade(kit.engine)  # an older worker starting: no "Can't locate revision"
    assert post(client).status_code == 202


def test_an_unmigrated_database_is_503_not_500(client, kit):
    from core.ledger.db import upgrade
    from core.ledger.models import Base

    with kit.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE alembic_version")
    try:
        response = post(client)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    finally:
        upgrade(kit.engine)


def test_ready_while_the_queue_is_down(client, kit):
    from core.queue import make_huey

    kit.queue.huey = make_huey("redis://127.0.0.1:1/0")  # nothing listens there
    assert client.get("/healthz").status_code == 503
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["queue"] == "ConnectionError"


def test_health_names_the_part_that_is_down_without_its_address(client, kit):
    from core.ledger.db import make_engine

    kit.engine = make_engine("sqlite:////no-such-folder/s3cret/kit.db")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "OperationalError"
    assert "s3cret" not in response.get_data(as_text=True)


def test_a_plugin_answering_false_is_a_bad_signature(client, kit):
    from core import hookimpl

    class Lenient:
        @hookimpl(tryfirst=True)
        def verify_delivery(self, platform):
            return False

    kit.hooks.pm.register(Lenient(), name="lenient")
    assert post(client).status_code == 401
    rejected(kit)


def test_queue_is_rebuilt_from_the_inbox_without_duplicates(client, kit, tmp_path):
    from core.inbox import store_delivery
    from core.queue import Queue, make_huey

    post(client)  # processed at once (immediate queue in tests): done, not queued again
    queue = Queue(make_huey(f"sqlite:///{tmp_path / 'queue.db'}"), kit.engine, kit.hooks)
    from core.context import ParsedDelivery

    with session_scope(kit.engine) as session:
        ids = [store_delivery(Ledger(session), 1, ParsedDelivery(f"k{n}", "order.updated", "9"),
                              b"{}", {})[0] for n in range(3)]
    queue.enqueue(ids[0])  # still queued from before a crash
    assert queue.rebuild() == 3
    assert queue.huey.pending_count() == 3
    assert queue.rebuild() == 3 and queue.huey.pending_count() == 3


def test_a_database_outage_is_logged_once_while_deliveries_get_503(client, kit, caplog,
                                                                    monkeypatch):
    from sqlalchemy.exc import OperationalError

    from core.outage import OUTAGES
    from webhooks.receiver import INBOX

    inbox = client.application.extensions[INBOX]
    lost = OperationalError("INSERT", {}, Exception("server closed the connection"))
    monkeypatch.setattr(inbox, "write", lambda arrival: (_ for _ in ()).throw(lost))
    caplog.set_level("INFO")
    answers = [post(client, order(4800 + n)) for n in range(3)]
    assert [(a.status_code, a.headers.get("Retry-After")) for a in answers] == [(503, "30")] * 3
    monkeypatch.undo()
    assert post(client, order(4900)).status_code == 202
    outage = [r.getMessage() for r in caplog.records if r.getMessage().startswith("outage")]
    assert len(outage) == 2 and outage[1].startswith("outage over"), outage
    assert not any("inbox cannot be written:" in r.getMessage() for r in caplog.records)
    assert not OUTAGES.is_down()
