"""The publisher's store keeps its connections; one-shot commands keep none.

Opening a SQLite connection costs a file open and four PRAGMAs, and closing the last one
checkpoints and deletes the WAL: a publisher that did that per transaction spent most of
its time there (issue 17). A one-shot command must still leave nothing open behind it.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from scheduler.store import Store


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
