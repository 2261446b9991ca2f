"""A consumer that starts again after a crash takes back the provider calls its own earlier
run left in flight, through the provider's state, at once; leases of other live processes
are left alone."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update
from test_outbound import AT_ONCE, Remote

from core.execute import lease_owner, process_snapshot, set_lease_owner
from core.ledger.db import session_scope
from core.ledger.models import OperationRecord
from core.ledger.store import Ledger
from core.queue import Slot
from orders import snapshot


class Crash(BaseException):
    """The process dies during the provider call (nothing of ours catches it)."""


@pytest.fixture(autouse=True)
def owner():
    before = lease_owner()
    yield
    set_lease_owner(before)


@pytest.fixture
def remote(kit, shop):
    provider = Remote(kit.engine)
    kit.hooks.pm.register(provider, name="remote")
    with session_scope(kit.engine) as session:
        Ledger(session).add_connection(name="remote-shop", merchant_id=3333,
                                       platform="generic", provider="remote",
                                       status_map={"completed": "activate"})
    return provider


def records(kit):
    with session_scope(kit.engine) as session:
        return list(session.scalars(select(OperationRecord).order_by(OperationRecord.id)))


def crashed_run(kit, remote, home) -> Slot:
    """A run of ``serve`` that dies while Remote carries out the placement (the effect
    happens, the answer never arrives); its slot is let go as the kernel would."""
    slot = Slot.take(home, "serve")
    set_lease_owner(slot.lease_owner)
    original = remote._effect

    def effect_then_crash(order, operation, ledger):
        original(order, operation, ledger)
        raise Crash

    remote._effect = effect_then_crash
    with pytest.raises(Crash):
        process_snapshot(kit.engine, kit.hooks, snapshot(shop="remote-shop"), AT_ONCE)
    remote._effect = original
    slot.handle.close()
    return slot


def test_a_restart_takes_back_its_predecessors_call_through_read_back(kit, remote, tmp_path):
    crashed = crashed_run(kit, remote, tmp_path)
    [record] = records(kit)
    assert record.status == "in_flight" and record.marks["lease"] == f"{crashed.owner}#1"
    started = time.monotonic()
    taken_back = kit.queue.start(tmp_path, "serve")  # the new run: same slot, generation 2
    assert time.monotonic() - started < 5
    assert kit.queue.slot.owner == crashed.owner and kit.queue.slot.generation == 2
    assert taken_back == [record.order_id]
    [record] = records(kit)
    assert (record.status, record.uncertain, record.provider_reference) == (
        "succeeded", False, "R-1")
    assert len(remote.effects) == 1 and remote.lookups == 1  # read back, not repeated


def test_a_call_that_never_reached_the_provider_is_made_once_after_the_read(kit, remote,
                                                                          tmp_path):
    crashed_run(kit, remote, tmp_path)
    remote.effects.clear()  # the request never got there
    kit.queue.start(tmp_path, "serve")
    [record] = records(kit)
    assert record.status == "succeeded"
    assert len(remote.effects) == 1 and remote.lookups == 1


def test_leases_of_other_live_processes_are_left_alone(kit, remote, tmp_path):
    crashed = crashed_run(kit, remote, tmp_path)
    instance = crashed.owner.split("/")[0]
    others = [f"{instance}/worker-1#1", "gunicorn-host:4242", "elsewhere/serve-1#1"]
    for n in range(len(others)):
        process_snapshot(kit.engine, kit.hooks, snapshot(f"20{n}", shop="remote-shop"),
                         AT_ONCE)
    with session_scope(kit.engine) as session:
        for record, other in zip(session.scalars(select(OperationRecord).where(
                OperationRecord.id > 1).order_by(OperationRecord.id)), others, strict=True):
            record.status, record.marks = "in_flight", {**record.marks, "lease": other}
            record.claimed_at = record.updated_at
    kit.queue.start(tmp_path, "serve")
    statuses = [(r.status, (r.marks or {}).get("lease")) for r in records(kit)]
    assert statuses[0][0] == "succeeded"
    assert statuses[1:] == [("in_flight", other) for other in others]
    assert remote.lookups == 1


def test_a_live_run_keeps_its_slot_and_its_leases(kit, remote, tmp_path):
    live = Slot.take(tmp_path, "serve")  # another serve on the same folder, still running
    set_lease_owner(live.lease_owner)
    process_snapshot(kit.engine, kit.hooks, snapshot(shop="remote-shop"), AT_ONCE)
    with session_scope(kit.engine) as session:
        session.execute(update(OperationRecord).values(status="in_flight"))
    assert kit.queue.start(tmp_path, "serve") == []
    assert kit.queue.slot.owner.endswith("/serve-2") and kit.queue.slot.generation == 1
    assert [r.status for r in records(kit)] == ["in_flight"]
    live.handle.close()


def test_generations_count_up_per_slot(tmp_path):
    first = Slot.take(tmp_path, "worker")
    first.handle.close()
    second = Slot.take(tmp_path, "worker")
    other = Slot.take(tmp_path, "worker")
    assert (first.generation, second.generation, other.generation) == (1, 2, 1)
    assert first.owner == second.owner != other.owner
    assert second.lease_owner == f"{second.owner}#2"
    second.handle.close()
    other.handle.close()
