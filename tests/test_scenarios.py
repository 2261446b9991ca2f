"""Realistic orders end to end through reconciliation, the hooks and the local provider."""

from __future__ import annotations

from datetime import timedelta

from schwifty import IBAN
from sqlalchemy import select

from core.ledger.models import Invoice
from core.local_provider.fees import FEE_KINDS
from core.operations import OperationKind
from core.schemas import load_snapshot
from core.state import Status
from orders import OFFICE_LINES, changed, order_data, snapshot


def order_view(ledger, order_id="1001"):
    order = ledger.find_order("acme", order_id)
    state = ledger.state_of(order)
    invoices = ledger.session.scalars(
        select(Invoice).where(Invoice.order_id == order.id).order_by(Invoice.id)).all()
    return {
        "status": state.status,
        "open": state.open_amount,
        "documents": [(i.kind, i.number, i.gross, i.net, i.tax) for i in invoices],
        # the provider's effects; the merchant's fees are followed in test_statements
        "journal": [(m.kind, m.amount, m.document_number) for m in ledger.movements_of(order)
                    if m.kind not in FEE_KINDS],
        "lines": {k: (v.ordered, v.activated, v.cancelled, v.returned)
                  for k, v in state.lines.items()},
        "invoice": invoices[0] if invoices else None,
    }


def test_activation_partial_credit_and_return_of_the_rest(feed, read):
    placed = order_data(status="processing")
    outcome = feed(load_snapshot(placed))
    assert [op.kind for op in outcome.executed] == [OperationKind.PLACEMENT]
    view = read(order_view)
    assert view["status"] is Status.AUTHORISED
    assert view["open"] == 549_73
    assert view["documents"] == []
    assert view["journal"] == [("authorisation", 549_73, None)]

    completed = changed(placed, status="completed", ordering_key="2026-11-03T10:00:00+00:00")
    outcome = feed(load_snapshot(completed))
    assert [op.kind for op in outcome.executed] == [OperationKind.ACTIVATION]
    view = read(order_view)
    invoice = view["invoice"]
    assert view["status"] is Status.ACTIVE
    assert view["documents"] == [("invoice", "INV-000001", 549_73, 467_00, 82_73)]
    assert invoice.payment_reference == "BP1001/3333"
    assert invoice.due_on == invoice.issued_on + timedelta(days=30)
    assert IBAN(invoice.iban).validate(validate_bban=True)
    assert invoice.iban.startswith("DE") and "10020030" in invoice.iban
    assert view["journal"][-1] == ("invoice", 549_73, "INV-000001")
    assert view["lines"]["1"] == (2, 2, 0, 0)

    goodwill = changed(completed, ordering_key="2026-11-04T10:00:00+00:00",
                       refunds=[{"refund_id": "r1", "amount": "20.00", "reason": "scratch"}])
    outcome = feed(load_snapshot(goodwill))
    (op,) = outcome.executed
    assert op.kind is OperationKind.PARTIAL_CREDIT
    assert (op.amount.gross, op.amount.net, op.amount.tax) == (20_00, 16_99, 3_01)
    view = read(order_view)
    assert view["open"] == 529_73
    assert view["documents"][-1] == ("credit_note", "CN-000001", 20_00, 16_99, 3_01)
    assert view["journal"][-1] == ("credit_note", -20_00, "CN-000001")

    one_chair = {"refund_id": "r2", "amount": "178.50",
                 "lines": [{"line_id": "1", "quantity": 1, "amount": "178.50"}]}
    returned = changed(goodwill, ordering_key="2026-11-05T10:00:00+00:00",
                       refunds=[*goodwill["refunds"], one_chair])
    (op,) = feed(load_snapshot(returned)).executed
    assert op.kind is OperationKind.RETURN
    assert (op.amount.gross, op.amount.net, op.amount.tax) == (178_50, 150_00, 28_50)
    view = read(order_view)
    assert view["open"] == 351_23
    assert view["lines"]["1"] == (2, 2, 0, 1)
    assert view["documents"][-1] == ("credit_note", "CN-000002", 178_50, 150_00, 28_50)

    rest = {"refund_id": "r3", "amount": "339.95", "lines": [
        {"line_id": "1", "quantity": 1, "amount": "178.50"},
        {"line_id": "2", "quantity": 10, "amount": "53.50"},
        {"line_id": "3", "quantity": 3, "amount": "124.95"}]}
    everything = changed(returned, ordering_key="2026-11-06T10:00:00+00:00",
                         refunds=[*returned["refunds"], rest])
    (op,) = feed(load_snapshot(everything)).executed
    assert op.kind is OperationKind.FULL_CREDIT  # no articles left: shipping and fee too
    assert op.amount.gross == 351_23
    view = read(order_view)
    assert view["status"] is Status.CREDITED
    assert view["open"] == 0
    assert view["documents"][-1][:3] == ("credit_note", "CN-000003", 351_23)
    assert [j[:2] for j in view["journal"]] == [
        ("authorisation", 549_73), ("invoice", 549_73), ("credit_note", -20_00),
        ("credit_note", -178_50), ("credit_note", -351_23)]
    assert sum(j[1] for j in view["journal"][1:]) == 0
    assert all(v[3] == v[1] for v in view["lines"].values())
    # the credit notes give back exactly the invoiced net and tax, not only the gross
    (_, _, gross, net, tax), *notes = view["documents"]
    assert (sum(n[2] for n in notes), sum(n[3] for n in notes), sum(n[4] for n in notes)) == (
        gross, net, tax)


def test_cancel_before_activation_voids(feed, read):
    placed = order_data()
    feed(load_snapshot(placed))
    outcome = feed(load_snapshot(changed(placed, status="cancelled",
                                         ordering_key="2026-11-02T12:00:00+00:00")))
    (op,) = outcome.executed
    assert op.kind is OperationKind.FULL_CREDIT and not op.after_activation
    view = read(order_view)
    assert view["status"] is Status.VOIDED
    assert view["documents"] == []
    assert view["journal"] == [("authorisation", 549_73, None), ("void", -549_73, None)]
    assert view["lines"]["3"] == (3, 0, 3, 0)


def test_discount_after_activation_then_cancel(feed, read):
    placed = order_data(status="completed")
    outcome = feed(load_snapshot(placed))
    assert [op.kind for op in outcome.executed] == [OperationKind.PLACEMENT,
                                                    OperationKind.ACTIVATION]
    chairs = {"line_id": "1", "kind": "product", "name": "Office chair", "quantity": 2,
              "net": "287.39", "tax": "54.61", "gross": "342.00", "tax_rate": "19"}
    lines = [chairs, *OFFICE_LINES[1:]]
    discounted = order_data(status="completed", lines=lines, minutes=60, discounts=[
        {"code": "WELCOME10", "amount": "10.00"}, {"code": "LOYAL15", "amount": "15.00"}])
    (op,) = feed(load_snapshot(discounted)).executed
    assert op.kind is OperationKind.DISCOUNT_TRANSFER
    assert op.amount.gross == 15_00
    view = read(order_view)
    assert view["open"] == 534_73
    assert view["documents"][-1][:3] == ("credit_note", "CN-000001", 15_00)

    cancelled = changed(discounted, status="cancelled", ordering_key="2026-11-03T09:00:00+00:00")
    (op,) = feed(load_snapshot(cancelled)).executed
    assert op.kind is OperationKind.FULL_CREDIT and op.after_activation
    assert op.amount.gross == 534_73
    view = read(order_view)
    assert view["status"] is Status.CREDITED
    assert [j[:2] for j in view["journal"]] == [
        ("authorisation", 549_73), ("invoice", 549_73), ("credit_note", -15_00),
        ("credit_note", -534_73)]


def test_increase_of_an_invoice_is_refused_and_reported(feed, read):
    placed = order_data(status="completed")
    feed(load_snapshot(placed))
    more = [*OFFICE_LINES, ("4", "product", "Stapler", 1, "20.00", "19")]
    outcome = feed(snapshot(status="completed", lines=more, minutes=5))
    assert outcome.executed == ()
    assert [r.reason for r in outcome.refusals] == ["increase"]
    assert outcome.refusals[0].amount == 23_80
    view = read(order_view)
    assert view["open"] == 549_73
    assert len(view["journal"]) == 2


TWO_RATES = [("A", "product", "Router", 1, "100.00", "19"), ("B", "product", "Manual", 1,
                                                                  "100.00", "7")]


def test_return_then_cancel_credits_each_rate_exactly(feed, read):
    placed = order_data(lines=TWO_RATES, discounts=[], status="completed")
    feed(load_snapshot(placed))
    returned = changed(placed, ordering_key="2026-11-04T10:00:00+00:00", refunds=[
        {"refund_id": "r1", "amount": "119.00",
         "lines": [{"line_id": "A", "quantity": 1, "amount": "119.00"}]}])
    (op,) = feed(load_snapshot(returned)).executed
    assert (op.amount.gross, op.amount.net, op.amount.tax) == (119_00, 100_00, 19_00)
    cancelled = changed(returned, status="cancelled", ordering_key="2026-11-05T10:00:00+00:00")
    (op,) = feed(load_snapshot(cancelled)).executed
    assert (op.amount.gross, op.amount.net, op.amount.tax) == (107_00, 100_00, 7_00)


def test_partial_cancel_before_activation_keeps_the_rates(feed, read):
    placed = order_data(lines=TWO_RATES, discounts=[])
    feed(load_snapshot(placed))
    cancel_b = changed(placed, ordering_key="2026-11-03T10:00:00+00:00", refunds=[
        {"refund_id": "r1", "amount": "107.00",
         "lines": [{"line_id": "B", "quantity": 1, "amount": "107.00"}]}])
    feed(load_snapshot(cancel_b))
    completed = changed(cancel_b, status="completed", ordering_key="2026-11-04T10:00:00+00:00")
    (op,) = feed(load_snapshot(completed)).executed
    assert op.kind is OperationKind.ACTIVATION
    assert (op.amount.gross, op.amount.net, op.amount.tax) == (119_00, 100_00, 19_00)
    assert read(order_view)["documents"] == [("invoice", "INV-000001", 119_00, 100_00, 19_00)]


def test_edit_removing_every_article_credits_shipping_too(feed, read):
    placed = order_data(status="completed")
    feed(load_snapshot(placed))
    only_shipping = [spec for spec in OFFICE_LINES if spec[1] != "product"]
    edited = order_data(status="completed", lines=only_shipping, minutes=30)
    (op,) = feed(load_snapshot(edited)).executed
    assert op.kind is OperationKind.FULL_CREDIT and op.amount.gross == 549_73
    assert read(order_view)["status"] is Status.CREDITED


def test_returns_listed_newest_first_credit_the_line_to_the_cent(feed, read):
    lines = [("L", "product", "Cable", 3, "10.00", "0"), ("M", "product", "Plug", 1,
                                                            "50.00", "0")]
    placed = order_data(lines=lines, discounts=[], status="completed")
    feed(load_snapshot(placed))
    refunds = []
    for n, amount in ((1, "3.33"), (2, "3.33"), (3, "3.34")):  # the shop's cent comes last
        refunds.insert(0, {"refund_id": f"r{n}", "amount": amount, "lines": [
            {"line_id": "L", "quantity": 1, "amount": amount}]})
        feed(load_snapshot(changed(placed, refunds=list(refunds),
                                   ordering_key=f"2026-11-0{n + 3}T10:00:00+00:00")))
    view = read(order_view)
    assert view["open"] == 50_00
    assert sum(d[2] for d in view["documents"][1:]) == 10_00


def test_a_return_credits_what_the_shop_refunded_to_the_cent(feed, read):
    # three cables of a 10.00 line refunded at 3.33 each: the shop's order keeps 0.01, and
    # so does the invoice (the kit credits what the shop refunded, not its own unit value)
    lines = [("L", "product", "Cable", 3, "10.00", "0"), ("M", "product", "Plug", 1,
                                                            "50.00", "0")]
    placed = order_data(lines=lines, discounts=[], status="completed")
    feed(load_snapshot(placed))
    refunds = []
    for n in range(1, 4):
        refunds.insert(0, {"refund_id": f"r{n}", "amount": "3.33", "lines": [
            {"line_id": "L", "quantity": 1, "amount": "3.33"}]})
        feed(load_snapshot(changed(placed, refunds=list(refunds),
                                   ordering_key=f"2026-11-0{n + 3}T10:00:00+00:00")))
    view = read(order_view)
    assert view["open"] == 60_00 - 3 * 3_33
    assert [d[2] for d in view["documents"][1:]] == [3_33, 3_33, 3_33]


def test_a_return_of_many_lines_fits_every_database(feed, read):
    lines = [(f"line-{i:02d}-with-a-long-identifier", "product", f"Article {i}", 2, "20.00",
              "19") for i in range(20)]
    placed = order_data(lines=lines, discounts=[], status="completed")
    feed(load_snapshot(placed))
    back = {"refund_id": "r1", "amount": "238.00", "lines": [
        {"line_id": spec[0], "quantity": 1, "amount": "11.90"} for spec in lines]}
    outcome = feed(load_snapshot(changed(placed, refunds=[back],
                                          ordering_key="2026-11-03T10:00:00+00:00")))
    assert outcome.failure is None and outcome.executed[0].kind is OperationKind.RETURN


def shipped(data, ordering_key, units, **changes):
    """``data`` at ``ordering_key`` with ``units`` shipped per line so far."""
    result = changed(data, ordering_key=ordering_key, **changes)
    for line in result["lines"]:
        line["shipped"] = units.get(line["line_id"])
    return result


def test_partial_shipments_get_invoices_of_their_own(feed, read):
    placed = order_data(status="processing")
    feed(load_snapshot(placed))
    chairs = shipped(placed, "2026-11-03T10:00:00+00:00", {"1": 2})
    (op,) = feed(load_snapshot(chairs)).executed
    assert op.kind is OperationKind.ACTIVATION and op.amount.gross == 371_28  # shipping, fee
    lamps = shipped(placed, "2026-11-04T10:00:00+00:00", {"1": 2, "3": 3})
    (op,) = feed(load_snapshot(lamps)).executed
    assert op.amount.gross == 124_95
    view = read(order_view)
    assert view["status"] is Status.ACTIVE and view["open"] == 549_73
    assert read(lambda ledger: ledger.state_of(ledger.find_order("acme", "1001")).unbilled) \
        == 53_50
    assert [d[:3] for d in view["documents"]] == [("invoice", "INV-000001", 371_28),
                                                  ("invoice", "INV-000002", 124_95)]

    paper = {"refund_id": "r1", "amount": "21.40",
             "lines": [{"line_id": "2", "quantity": 4, "amount": "21.40"}]}
    chair = {"refund_id": "r2", "amount": "178.50",
             "lines": [{"line_id": "1", "quantity": 1, "amount": "178.50"}]}
    (op,) = feed(load_snapshot(shipped(lamps, "2026-11-05T10:00:00+00:00", {"1": 2, "3": 3},
                                       refunds=[paper]))).executed
    assert op.kind is OperationKind.PARTIAL_CREDIT and not op.after_activation
    (op,) = feed(load_snapshot(shipped(lamps, "2026-11-06T10:00:00+00:00", {"1": 2, "3": 3},
                                       refunds=[paper, chair]))).executed
    assert op.kind is OperationKind.RETURN and op.after_activation
    cancelled = shipped(lamps, "2026-11-07T10:00:00+00:00", {"1": 2, "3": 3},
                        refunds=[paper, chair], status="cancelled")
    rest, invoices = feed(load_snapshot(cancelled)).executed
    assert (rest.source, rest.amount.gross) == ("full_credit:unbilled", 32_10)
    assert (invoices.source, invoices.amount.gross) == ("full_credit", 317_73)

    view = read(order_view)
    assert view["status"] is Status.CREDITED and view["open"] == 0
    assert view["journal"] == [
        ("authorisation", 549_73, None), ("invoice", 371_28, "INV-000001"),
        ("invoice", 124_95, "INV-000002"), ("authorisation_reduced", -21_40, None),
        ("credit_note", -178_50, "CN-000001"), ("void", -32_10, None),
        ("credit_note", -124_95, "CN-000002"), ("credit_note", -192_78, "CN-000003")]
    # a credit note goes against the newest invoice that covers it; a credit no invoice
    # covers alone is split, newest invoice first, each note within its invoice
    numbers = read(lambda ledger: {
        i.id: i.number for i in ledger.session.scalars(select(Invoice))})
    against = read(lambda ledger: [
        (n.number, numbers[n.invoice_id]) for n in ledger.session.scalars(
            select(Invoice).where(Invoice.kind == "credit_note").order_by(Invoice.id))])
    assert against == [("CN-000001", "INV-000001"), ("CN-000002", "INV-000002"),
                       ("CN-000003", "INV-000001")]


def test_orders_stored_before_the_unbilled_column_read_as_before(feed, read):
    feed(load_snapshot(order_data("1", status="processing")))
    feed(load_snapshot(order_data("2", status="completed")))

    def forget_unbilled(ledger):
        for order_id in ("1", "2"):
            ledger.find_order("acme", order_id).unbilled_by_rate = None

    read(forget_unbilled)
    authorised, active = read(lambda ledger: [
        ledger.state_of(ledger.find_order("acme", order_id)) for order_id in ("1", "2")])
    assert authorised.unbilled_by_rate == authorised.open_by_rate
    assert authorised.unbilled == authorised.open_amount == 549_73
    assert active.unbilled_by_rate == () and active.open_amount == 549_73
