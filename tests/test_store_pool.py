"""The publisher's store keeps its connections; one-shot commands keep none.

Opening a SQLite connection costs a file open and four PRAGMAs, and closing the last one
checkpoints and deletes the WAL: a publisher that did that per transaction spent most of
its time there (issue 17). A one-shot command must still leave nothing open behind it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event

from scheduler.store import Store
from scheduler.store.chain import verify_trail
from scheduler.timeutil import FixedClock
from tests.test_store_support import DB_PARAMS, make_db_url, snap

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _opened(store: Store) -> list[int]:
    count = [0]

    @event.listens_for(store.engine, "connect")
    def _connect(*_args: object) -> None:
        count[0] += 1

    return count


def test_pooled_store_reuses_one_connection_and_keeps_the_wal(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    store = Store(f"sqlite:///{db}", tmp_path / "media", pooled=True)
    opened = _opened(store)
    for n in range(20):
        store.heartbeat("w1", {"n": n})
        assert store.has_due(store.clock.now()) is False
    assert opened[0] == 0  # the schema check's connection served them all
    # The WAL is still there between transactions: nothing checkpointed it away.
    assert (tmp_path / "queue.db-wal").exists()
    store.close()
    assert not (tmp_path / "queue.db-wal").exists()


def test_one_shot_store_leaves_no_connection_open(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    store = Store(f"sqlite:///{db}", tmp_path / "media")
    opened = _opened(store)
    store.heartbeat("w1", {"n": 1})
    store.heartbeat("w1", {"n": 2})
    assert opened[0] == 2
    assert not (tmp_path / "queue.db-wal").exists()
    assert [h.info for h in store.heartbeats()] == [{"n": 2}]


@pytest.fixture(params=DB_PARAMS)
def pooled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = make_db_url(request.param, tmp_path)
    store = Store(url, tmp_path / "media", pooled=True, clock=FixedClock(T0))
    yield store
    store.close()


def test_an_outcome_is_one_update_and_one_event(pooled: Store) -> None:
    """Recording a publication reads nothing before or after its UPDATE ... RETURNING
    (which returns the audit chain's last link too), and on PostgreSQL takes the audit
    chain's lock once, before the update; the event still links to the one before it."""
    due = T0 + timedelta(hours=1)
    pooled.add(snap("io", ("outbox",)), due_at=due, require_approval=False)
    (claimed,) = pooled.claim_due(due, worker="w1")
    sent: list[str] = []

    @event.listens_for(pooled.engine, "before_cursor_execute")
    def _seen(_conn: object, _cur: object, statement: str, *_rest: object) -> None:
        sent.append(" ".join(statement.split()).upper())

    row = pooled.mark_published(claimed.id, "r1", "https://example.org/r1",
                                token=claimed.claim_token)
    assert (row.state, row.remote_id) == ("published", "r1")
    verbs = [s.split()[0] for s in sent if not s.startswith(("BEGIN", "COMMIT"))]
    locks = [s for s in sent if "PG_ADVISORY_XACT_LOCK" in s]
    if pooled.engine.dialect.name == "postgresql":
        assert len(locks) == 1 and "PG_ADVISORY_XACT_LOCK" in sent[0]  # before the update
        verbs.remove("SELECT")
    assert verbs == ["UPDATE", "INSERT"]  # the update (with the last link), the event
    update = next(s for s in sent if s.startswith("UPDATE"))
    assert "RETURNING" in update and "FROM EVENTS" in update
    events = pooled.events()
    assert [e.action for e in events[-2:]] == ["claim", "publish"]
    assert events[-1].prev_chain == events[-2].chain
    assert verify_trail(events).ok


def test_a_claim_reads_each_table_once(pooled: Store) -> None:
    """A claim reads the posts once and the audit chain's last link only inside its own
    UPDATE ... RETURNING, which also returns the evidence's delivery columns; the chain
    still links every event, and the evidence names the approved content."""
    due = T0 + timedelta(hours=1)
    pooled.add(snap("io", ("outbox",)), due_at=due, require_approval=False)
    pooled.add(snap("qa", ("outbox",)), due_at=due, require_approval=False)
    sent: list[str] = []

    @event.listens_for(pooled.engine, "before_cursor_execute")
    def _seen(_conn: object, _cur: object, statement: str, *_rest: object) -> None:
        sent.append(" ".join(statement.split()).upper())

    claimed = pooled.claim_due(due, worker="w1")
    assert sorted(c.post_id for c in claimed) == ["io", "qa"]
    selects = [s for s in sent if s.startswith("SELECT")]
    assert not [s for s in selects if "FROM EVENTS" in s]
    assert len([s for s in selects if "FROM POSTS" in s]) == 1
    update = next(s for s in sent if s.startswith("UPDATE DELIVERIES"))
    assert "RETURNING" in update and "FROM EVENTS" in update
    for c in claimed:
        assert c.evidence.delivery.id == c.id and c.evidence.post_id == c.post_id
        assert c.evidence.content_hash and c.evidence.due_at == due
    events = pooled.events()
    assert [e.action for e in events[-2:]] == ["claim", "claim"]
    assert events[-2].prev_chain == events[-3].chain
    assert verify_trail(events).ok
