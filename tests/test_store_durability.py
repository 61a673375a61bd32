"""Which commits survive a power loss: a claim (made before its post is sent) and anything
a person does are synced; only the publisher's record of an outcome on its claim is
written lazily. Checked in the real databases: SQLite's ``PRAGMA synchronous`` as each
write transaction begins (from SQLite's own statement trace) and PostgreSQL's
``synchronous_commit`` inside the transaction."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_store_support import DB_PARAMS, make_db_url, snap

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DUE = NOW + timedelta(minutes=5)
FULL, NORMAL = 2, 1  # PRAGMA synchronous values


@pytest.fixture(params=DB_PARAMS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    s = Store(make_db_url(request.param, tmp_path), tmp_path / "media",
              clock=FixedClock(NOW), user="alice", pooled=True)
    yield s
    s.close()


def _synchronous(store: Store, *, lazy: bool) -> Any:
    with store._write(lazy=lazy) as conn:
        if conn.dialect.name == "postgresql":
            return conn.execute(text("SHOW synchronous_commit")).scalar()
        return conn.exec_driver_sql("PRAGMA synchronous").scalar()


def test_writes_are_synced_unless_lazy_and_lazy_lasts_one_transaction(store: Store) -> None:
    pg = store.engine.dialect.name == "postgresql"
    durable, lazy = ("on", "off") if pg else (FULL, NORMAL)
    # Over and over on the same pooled connection: a lazy commit never leaks into the next.
    for _ in range(2):
        assert _synchronous(store, lazy=False) == durable
        assert _synchronous(store, lazy=True) == lazy
        assert _synchronous(store, lazy=False) == durable


class _Trace:
    """The level each write transaction began at, in the order they began."""

    def __init__(self, store: Store) -> None:
        self.begins: list[Any] = []
        self._levels: dict[int, int] = {}
        self._lock = threading.Lock()
        if store.engine.dialect.name == "postgresql":
            event.listen(store.engine, "before_cursor_execute", self._pg)
        else:
            event.listen(store.engine, "connect", self._sqlite)
        store.engine.dispose()  # every connection from here on is a traced one

    def _pg(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if "pg_advisory_xact_lock" in statement:
            with self._lock:
                self.begins.append("off" if "synchronous_commit" in statement else "on")

    def _sqlite(self, dbapi_conn: Any, _record: Any) -> None:
        key = id(dbapi_conn)
        # The level the connection was opened with, as SQLite reports it.
        self._levels[key] = dbapi_conn.execute("PRAGMA synchronous").fetchone()[0]

        def seen(statement: str) -> None:
            with self._lock:
                if statement.startswith("PRAGMA synchronous ="):
                    self._levels[key] = {"FULL": FULL, "NORMAL": NORMAL}[statement.split()[-1]]
                elif statement == "BEGIN IMMEDIATE":
                    self.begins.append(self._levels[key])

        dbapi_conn.set_trace_callback(seen)

    def take(self) -> list[Any]:
        got, self.begins = self.begins, []
        return got


def test_claims_and_peoples_writes_are_synced_outcomes_on_claims_are_lazy(store: Store) -> None:
    pg = store.engine.dialect.name == "postgresql"
    durable, lazy = ("on", "off") if pg else (FULL, NORMAL)
    for n in range(3):
        store.add(snap(f"p{n}", ("outbox",)), due_at=DUE, require_approval=False)
    trace = _Trace(store)

    claimed = store.claim_due(DUE, worker="w1", limit=3)
    assert len(claimed) == 3 and trace.take() == [durable]

    first, second, third = claimed
    store.mark_published(first.id, "r1", token=first.claim_token)
    store.mark_retry(second.id, "busy", DUE + timedelta(minutes=1), token=second.claim_token)
    store.mark_needs_check(third.id, "no answer", token=third.claim_token)
    assert trace.take() == [lazy, lazy, lazy]

    # A person settling the unknown one, and cancelling the retrying one: synced.
    store.settle_published(third.id, "r3")
    store.cancel(second.post_id, reason="withdrawn")
    begins = trace.take()
    assert begins and set(begins) == {durable}

    # And a claim after lazy outcomes on the same connections is synced again.
    store.add(snap("p9", ("outbox",)), due_at=DUE, require_approval=False)
    trace.take()
    assert [c.post_id for c in store.claim_due(DUE, worker="w1", limit=3)] == ["p9"]
    assert trace.take() == [durable]
