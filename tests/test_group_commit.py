"""Group commit (core/ledger/group_commit.py): concurrent writes share transactions, each
caller learns of its write only once it is committed, and one bad write fails alone."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.ledger.group_commit import GroupCommit

ROWS = Table("group_commit_rows", MetaData(), Column("id", Integer, primary_key=True),
             Column("name", String(20)))


@pytest.fixture
def rows(engine):
    ROWS.create(engine)
    yield engine
    ROWS.drop(engine)


def count(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(ROWS))


def test_concurrent_writes_share_transactions_and_each_gets_its_own_result(rows):
    commits: list[int] = []
    event.listen(rows, "commit", lambda connection: commits.append(1))
    first = threading.Event()
    gate = threading.Event()

    def write_one(session: Session, name: str) -> tuple[str, int]:
        if name == "w0":  # the first batch waits until every other write is waiting
            first.set()
            gate.wait(10)
        new_id = session.execute(ROWS.insert().values(name=name).returning(ROWS.c.id)).scalar()
        return name, new_id

    group = GroupCommit(rows, write_one)
    with ThreadPoolExecutor(16) as pool:
        leader = pool.submit(group.write, "w0")
        assert first.wait(10)
        others = [pool.submit(group.write, f"w{n}") for n in range(1, 16)]
        while len(group._waiting) < 15:  # all queued behind the open batch
            threading.Event().wait(0.01)
        gate.set()
        results = [leader.result(10)] + [future.result(10) for future in others]

    assert [name for name, _ in results] == [f"w{n}" for n in range(16)]
    assert len({new_id for _, new_id in results}) == 16
    assert count(rows) == 16
    assert len(commits) == 2  # the first write's batch, then the fifteen that waited


def test_a_write_is_answered_only_after_its_commit(rows):
    seen: list[int] = []
    # the commit takes its time: a write answered before it would find its row missing
    event.listen(rows, "commit", lambda connection: threading.Event().wait(0.2))

    def write_one(session: Session, name: str) -> str:
        session.execute(ROWS.insert().values(name=name))
        return name

    group = GroupCommit(rows, write_one)
    for n in range(3):
        group.write(f"r{n}")
        seen.append(count(rows))  # read on another connection: already durable
    assert seen == [1, 2, 3]


def test_one_bad_write_fails_alone(rows):
    gate = threading.Event()

    def write_one(session: Session, name: str) -> str:
        if name == "first":
            gate.wait(10)
        if name == "bad":
            raise ValueError("a bug in this write")
        session.execute(ROWS.insert().values(name=name))
        return name

    group = GroupCommit(rows, write_one)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(group.write, "first")
        while not group._leading:
            threading.Event().wait(0.01)
        futures = {name: pool.submit(group.write, name) for name in ("a", "bad", "b")}
        while len(group._waiting) < 3:
            threading.Event().wait(0.01)
        gate.set()
        assert first.result(10) == "first"
        assert futures["a"].result(10) == "a" and futures["b"].result(10) == "b"
        with pytest.raises(ValueError, match="a bug"):
            futures["bad"].result(10)
    with rows.connect() as connection:
        assert sorted(connection.scalars(select(ROWS.c.name))) == ["a", "b", "first"]


def test_an_outage_fails_the_whole_batch_and_the_next_write_goes_through(rows):
    down = {"on": True}

    def write_one(session: Session, name: str) -> str:
        if down["on"]:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        session.execute(ROWS.insert().values(name=name))
        return name

    group = GroupCommit(rows, write_one)
    with pytest.raises(OperationalError):
        group.write("lost")
    down["on"] = False
    assert group.write("after") == "after"
    assert count(rows) == 1 and not group._leading


def test_on_sqlite_a_batch_goes_before_other_waiting_writers(tmp_path):
    from core.ledger.db import WriterLock

    lock, order, started = WriterLock(), [], threading.Barrier(3)

    def writer(name: str, first: bool) -> None:
        started.wait(10)
        with lock.held(first):
            order.append(name)

    with lock.held():  # a consumer's long transaction
        with lock.held():  # re-entrant for its holder
            pass
        threads = [threading.Thread(target=writer, args=("consumer", False)),
                   threading.Thread(target=writer, args=("receivers", True))]
        for thread in threads:
            thread.start()
        started.wait(10)
        while lock._first_waiting == 0:
            threading.Event().wait(0.01)
        threading.Event().wait(0.1)  # the consumer's writer waits too
    for thread in threads:
        thread.join(10)
    assert order == ["receivers", "consumer"]


def test_an_outage_during_the_redo_fails_the_rest_without_trying_each(rows):
    gate, state = threading.Event(), {"down": False, "calls_while_down": 0}

    def write_one(session: Session, name: str) -> str:
        if name == "first":
            gate.wait(10)
        if state["down"]:
            state["calls_while_down"] += 1
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        if name == "bad":
            state["down"] = True  # the database goes away right after this bug
            raise ValueError("a bug in this write")
        session.execute(ROWS.insert().values(name=name))
        return name

    group = GroupCommit(rows, write_one)
    names = ["bad", "x0", "x1", "x2", "x3"]
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(group.write, "first")
        while not group._leading:
            threading.Event().wait(0.01)
        futures = [pool.submit(group.write, name) for name in names]
        while len(group._waiting) < len(names):
            threading.Event().wait(0.01)
        gate.set()
        assert first.result(10) == "first"
        errors = [type(future.exception(10)).__name__ for future in futures]
    assert errors == ["OperationalError"] * 5  # redone alone, "bad" met the outage first
    assert state["calls_while_down"] == 1  # and the others were not tried one by one


def test_a_write_inside_a_write_transaction_is_refused_on_sqlite(rows):
    from core.ledger.db import session_scope

    if rows.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no writer turn in the process")
    group = GroupCommit(rows, lambda session, name: name)
    with session_scope(rows), pytest.raises(RuntimeError, match="inside a write"):
        group.write("nested")
    assert group.write("after") == "after"
