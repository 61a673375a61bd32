"""Every read staff run all day is served by an index, whatever the history's size.

Issue 17 measured ``queue list --limit 50`` sorting every current delivery before its
limit (``USE TEMP B-TREE FOR ORDER BY``) and the calendar scanning everything for a
window. Here each query the readers actually send, captured from SQLite's own trace, is
given to ``EXPLAIN QUERY PLAN`` on a queue of 20,000 deliveries, and the plan must
neither scan a big table (``SCAN deliveries`` without an index) nor sort what an index
already orders.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from scheduler.store import Store
from scheduler.store.fastread import SqliteReader
from tests.bulk_queue import fill, template

NOW = datetime.now(UTC)
BIG = ("deliveries", "d", "posts", "p", "events")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("plans")
    path = root / "queue.db"
    template(root, f"sqlite:///{path}")
    fill(path, 20_000, now=NOW)
    return path


class TracedReader(SqliteReader):
    """The fast read path with every statement it sends kept in ``sent``."""

    sent: list[str]

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        with super()._conn() as conn:
            conn.set_trace_callback(self.sent.append)
            yield conn


def traced_store(path: Path, sent: list[str]) -> Store:
    store = Store(f"sqlite:///{path}", path.parent / "media")

    @event.listens_for(store.engine, "connect")
    def _trace(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.set_trace_callback(sent.append)

    return store


def plans(path: Path, sent: list[str]) -> list[tuple[str, list[str]]]:
    """``(statement, plan lines)`` of each SELECT on the big tables."""
    conn = sqlite3.connect(path)
    try:
        out = []
        for sql in sent:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            if not re.search(r"\b(deliveries|posts|events)\b", sql):
                continue
            lines = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            out.append((sql, lines))
        return out
    finally:
        conn.close()


def full_scans(lines: list[str]) -> list[str]:
    return [ln for ln in lines
            if re.fullmatch(rf"SCAN ({'|'.join(BIG)})", ln.strip())]


def sorts(lines: list[str]) -> list[str]:
    return [ln for ln in lines if "TEMP B-TREE FOR ORDER BY" in ln
            and "RIGHT PART" not in ln]


def check(path: Path, run: Callable[[list[str]], Any], *, scan_ok: bool = False,
          sort_ok: bool = False) -> list[tuple[str, list[str]]]:
    sent: list[str] = []
    run(sent)
    found = plans(path, sent)
    assert found, "no query on the big tables was captured"
    for sql, lines in found:
        # Walking the table in rowid order up to a limit reads only that many rows, but
        # SQLite's plan calls that a SCAN too.
        rowid_walk = re.search(r"ORDER BY (events\.)?id( DESC)?\s+LIMIT", sql)
        if not scan_ok and not rowid_walk:
            assert full_scans(lines) == [], f"{sql}\n{lines}"
        if not sort_ok:
            assert sorts(lines) == [], f"{sql}\n{lines}"
    return found


def reader(path: Path, sent: list[str]) -> TracedReader:
    r = TracedReader(path)
    r.sent = sent
    return r


def test_queue_list_with_a_limit_walks_the_list_index(db: Path) -> None:
    for kw in ({}, {"channel": "x"}):
        found = check(db, lambda sent, kw=kw: reader(db, sent).list_deliveries(limit=50,
                                                                                **kw))
        assert any("ix_deliveries_list" in ln for _, lines in found for ln in lines)
        check(db, lambda sent, kw=kw: traced_store(db, sent).list_deliveries(limit=50,
                                                                              **kw))


def test_queue_list_without_a_limit_reads_in_order_without_sorting(db: Path) -> None:
    # Everything is shown, so every row is read, but in the index's order: nothing is
    # held back for sorting, which is what lets the rows stream out as they are read.
    check(db, lambda sent: reader(db, sent).list_deliveries())
    check(db, lambda sent: list(reader(db, sent).stream_listing()))
    check(db, lambda sent: traced_store(db, sent).list_deliveries())


def test_calendar_reads_only_its_window(db: Path) -> None:
    start, end = NOW + timedelta(days=1), NOW + timedelta(days=29)
    found = check(db, lambda sent: traced_store(db, sent).upcoming(start, end))
    assert any("ix_deliveries_list (due_at>? AND due_at<?)" in ln
               for _, lines in found for ln in lines)
    found = check(db, lambda sent: list(reader(db, sent).grid(start, end)))
    assert any("ix_deliveries_list (due_at>? AND due_at<?)" in ln
               for _, lines in found for ln in lines)
    # One row per post and due time: grouped along the same index, with no sorting in
    # between, so each post's deliveries are joined in the order grid() reads them.
    found = check(db, lambda sent: list(reader(db, sent).grid_posts(start, end)))
    assert any("ix_deliveries_list (due_at>? AND due_at<?)" in ln
               for _, lines in found for ln in lines)
    assert not any("TEMP B-TREE" in ln for _, lines in found for ln in lines), found
    found = check(db, lambda sent: traced_store(db, sent).milestones(start, end))
    assert any("ix_posts_deadline" in ln for _, lines in found for ln in lines)


def test_status_reads_through_indexes(db: Path) -> None:
    # Counting reads the state index only, never the table's rows; what is next due
    # is found through (state, wake_at) and sorted among the open deliveries alone.
    for make in (reader, traced_store):
        check(db, lambda sent, make=make: make(db, sent).counts())
        check(db, lambda sent, make=make: make(db, sent).next_due(5), sort_ok=True)
        check(db, lambda sent, make=make: make(db, sent).events(newest=50))


def test_log_of_one_post_and_the_publishers_claim_use_indexes(db: Path) -> None:
    check(db, lambda sent: traced_store(db, sent).events("bulk-0000042"))
    check(db, lambda sent: traced_store(db, sent).has_due(NOW), sort_ok=True)
