"""Read-only queries on a SQLite queue with the standard library alone.

``queue list`` and ``status`` are what staff run all day, often on a queue of thousands of
deliveries; importing SQLAlchemy alone costs several times what ``postq --help`` does.
For a SQLite database already at the current schema these reads go straight through
``sqlite3``; anything else (another database, an older schema that must first be
upgraded, a missing file) falls back to the full :class:`~scheduler.store.Store`, which
answers the same methods. ``tests/test_store_fastread.py`` holds the two to the same
results.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from scheduler.blackouts import Blackout
from scheduler.errors import StoreError, UsageError
from scheduler.store.states import (
    GLOBAL_PAUSE,
    SCHEMA_VERSION,
    STATES,
    WAITING_STATES,
    check_state,
)
from scheduler.timeutil import Clock, utc_iso

if TYPE_CHECKING:
    from scheduler.config import ReadSettings, Settings
    from scheduler.store.calendar import GridEntry, GridPost
    from scheduler.store.report import Listed
    from scheduler.store.rows import DeliveryRow, EventRow, Heartbeat, PauseRow

_COLUMNS = ("id", "post_id", "channel", "adapter", "revision", "state", "due_at", "wake_at",
            "attempts", "caption", "claimed_by", "claimed_at", "remote_id", "remote_url",
            "last_error", "published_at", "updated_at", "remote_state", "reminder",
            "claim_token")
_SELECT = f"SELECT {', '.join('d.' + c for c in _COLUMNS)} FROM deliveries d"


def _stored(moment: datetime) -> str:
    """A time as SQLAlchemy stores it in SQLite (naive UTC text), for comparisons."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _time(value: str | None) -> datetime | None:
    # SQLAlchemy keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS.ffffff' in naive UTC.
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


class SqliteReader:
    """The read methods of the store that ``queue list`` and ``status`` need."""

    def __init__(self, path: Path, *, clock: Clock | None = None, zone: tzinfo = UTC) -> None:
        self.path = path
        self.clock = clock or Clock()
        self.zone = zone

    def local(self, moment: datetime | None) -> str:
        # Seconds when it is due within the hour: "in 40 seconds" must not read as "now".
        from scheduler.store.report import when

        return when(moment, self.zone, "%Y-%m-%d %H:%M %Z", now=self.clock.now())

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = connect_sqlite(self.path, timeout=30)
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the queue database ({exc})") from None
        try:
            yield conn
        except sqlite3.Error as exc:
            raise StoreError(f"the queue database refused the operation: {exc}") from None
        finally:
            conn.close()

    def schema_version(self) -> int | None:
        with self._conn() as conn:
            try:
                row = conn.execute(
                    "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            except sqlite3.OperationalError:
                return None
        if not row:
            return None
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise StoreError("the queue database's schema_version is damaged") from None

    def _rows(self, sql: str, params: Sequence[Any]) -> list[DeliveryRow]:
        return list(self._stream(sql, params))

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[DeliveryRow]:
        """Rows as SQLite steps to them: the connection stays open until the last one."""
        from scheduler.store.rows import DeliveryRow
        from scheduler.store.stored import read_state, read_time

        with self._conn() as conn:
            for (did, post_id, channel, adapter, revision, state, due_at, wake_at, attempts,
                 caption, claimed_by, claimed_at, remote_id, remote_url, last_error,
                 published_at, updated_at, remote_state, reminder,
                 claim_token) in conn.execute(sql, params):
                yield DeliveryRow(
                    did, post_id, channel, adapter, revision, state,
                    read_time(did, "due_at", due_at), read_time(did, "wake_at", wake_at),  # type: ignore[arg-type]
                    attempts, caption, claimed_by, read_time(did, "claimed_at", claimed_at),
                    remote_id, remote_url, last_error,
                    read_time(did, "published_at", published_at),
                    read_time(did, "updated_at", updated_at),
                    read_state(did, remote_state), (), reminder, claim_token)

    def list_deliveries(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> list[DeliveryRow]:
        return list(self.stream_deliveries(state, channel, limit))

    def stream_deliveries(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> Iterator[DeliveryRow]:
        """:meth:`list_deliveries` row by row, in flat memory whatever the queue's size."""
        sql, params = _listing(_SELECT, state, channel, limit)
        return self._stream(sql, params)

    def stream_listing(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> Iterator[Listed]:
        """The rows of :meth:`stream_deliveries` as ``queue list`` prints them
        (:data:`~scheduler.store.report.Listed`): seven values chosen in the query
        instead of twenty made into a record, the times left as stored."""
        sql, params = _listing(_LISTED, state, channel, limit)
        return self._tuples(sql, params)

    def _tuples(self, sql: str, params: Sequence[Any]) -> Iterator[Any]:
        """Rows as SQLite steps to them, as they come."""
        with self._conn() as conn:
            yield from conn.execute(sql, params)

    def grid(self, start: datetime, end: datetime) -> Iterator[GridEntry]:
        """Current deliveries due in ``[start, end)`` as the calendar's grid shows them
        (:data:`~scheduler.store.calendar.GridEntry`), read along the list index."""
        return self._tuples(
            "SELECT d.due_at, d.post_id, d.channel, d.reminder, d.state, d.id FROM "
            "deliveries d WHERE d.due_at >= ? AND d.due_at < ? AND EXISTS (SELECT 1 FROM "
            "posts p WHERE p.id = d.post_row AND p.current = 1) "
            "ORDER BY d.due_at, d.post_id, d.channel", [_stored(start), _stored(end)])

    def grid_posts(self, start: datetime, end: datetime) -> Iterator[GridPost]:
        """:meth:`grid` with one row per post and due time
        (:data:`~scheduler.store.calendar.GridPost`), cancelled deliveries left out.

        Grouped along the list index, so each post's deliveries are joined in the
        order :meth:`grid` reads them (``tests/test_read_plans.py`` checks that no
        sorting comes between). A delivery whose channel, state or reminder is not text
        makes its post's entries None: a Python row would show it otherwise. These
        columns have TEXT affinity, so only a blob or NULL is not text, and SQLite orders
        every text before every blob (``< x''`` costs next to nothing, ``typeof`` a
        function call per value)."""
        from scheduler.store.calendar import ENTRY, FIELD

        return self._tuples(
            "SELECT d.due_at, d.post_id, group_concat(iif(d.channel < x'' AND d.state < x'' "
            "AND d.reminder < x'', d.channel || ? || d.state || ? || d.reminder, NULL), ?), "
            "count(*) FROM deliveries d "
            "WHERE d.due_at >= ? AND d.due_at < ? AND d.state IS NOT 'cancelled' AND "
            "EXISTS (SELECT 1 FROM posts p WHERE p.id = d.post_row AND p.current = 1) "
            "GROUP BY d.due_at, d.post_id ORDER BY d.due_at, d.post_id",
            [FIELD, FIELD, ENTRY, _stored(start), _stored(end)])

    def next_due(self, n: int = 5) -> list[DeliveryRow]:
        # One limited read per waiting state, merged: each walks its state's part of
        # the (state, wake_at) index and stops after n, where "state IN (...)" would
        # sort every waiting delivery (10 ms at fifty thousand scheduled).
        part = f"SELECT * FROM ({_SELECT} WHERE d.state = ? ORDER BY d.wake_at, d.id LIMIT ?)"
        return self._rows(" UNION ALL ".join(part for _ in WAITING_STATES)
                          + " ORDER BY wake_at, id LIMIT ?",
                          [*(v for s in WAITING_STATES for v in (s, n)), n])

    def counts(self) -> dict[str, int]:
        """Deliveries per state without reading every one: SQLite counts a whole index
        from its pages alone (``count(*)`` with no condition, 24 ms at a million rows
        where ``GROUP BY state`` steps through every entry, 116 ms), and each other
        state is a range of the (state, wake_at) index. The history, nearly all
        ``published``, is what is left. A state postq does not know (a damaged row)
        lies in a gap between known ones: counted too, so it is never taken for
        published, and left out of the answer as before."""
        others = [st for st in STATES if st != "published"]
        known = sorted(STATES)
        gaps = (["state < ?"] + ["state > ? AND state < ?"] * (len(known) - 1)
                + ["state > ?"])
        gap_params = [known[0], *(v for pair in pairwise(known) for v in pair),
                      known[-1]]
        sql = ("SELECT (SELECT count(*) FROM deliveries), "
               + ", ".join("(SELECT count(*) FROM deliveries WHERE state = ?)"
                           for _ in others) + ", "
               + " + ".join(f"(SELECT count(*) FROM deliveries WHERE {g})" for g in gaps))
        with self._conn() as conn:
            total, *found, unknown = conn.execute(sql, [*others, *gap_params]).fetchone()
        out = dict(zip(others, found, strict=True))
        out["published"] = total - sum(found) - unknown
        return {st: int(out[st]) for st in STATES}

    def pauses(self) -> list[PauseRow]:
        from scheduler.store.rows import PauseRow

        with self._conn() as conn:
            found = conn.execute("SELECT channel, reason, paused_by, paused_at FROM pauses "
                                 "WHERE channel NOT LIKE 'blackout:%' ORDER BY channel"
                                 ).fetchall()
        out = [PauseRow(None if c == GLOBAL_PAUSE else c, reason, by, _time(at))  # type: ignore[arg-type]
               for c, reason, by, at in found]
        return sorted(out, key=lambda p: (p.channel is not None, p.channel or ""))

    def stored_blackouts(self) -> list[Blackout]:
        """Blackout periods added by ``postq blackout add`` (see scheduler.store.blackouts)."""
        with self._conn() as conn:
            found = conn.execute("SELECT channel, reason, paused_by, paused_at FROM pauses "
                                 "WHERE channel LIKE 'blackout:%' ORDER BY channel").fetchall()
        return [Blackout.from_stored(c[len("blackout:"):], reason, by, _time(at))  # type: ignore[arg-type]
                for c, reason, by, at in found]

    def heartbeats(self) -> list[Heartbeat]:
        from scheduler.store.rows import Heartbeat

        with self._conn() as conn:
            found = conn.execute("SELECT worker, seen_at, info FROM heartbeats "
                                 "ORDER BY seen_at DESC").fetchall()
        return [Heartbeat(w, _time(at), json.loads(info or "{}"))  # type: ignore[arg-type]
                for w, at, info in found]

    def events(self, post_id: str | None = None, limit: int | None = None, *,
               newest: int | None = None) -> list[EventRow]:
        """The audit trail, oldest first, chain fields included (for ``status``);
        ``newest`` keeps only the last so many."""
        from scheduler.store.rows import EventRow

        sql, params = _events_query(post_id)
        sql += " ORDER BY id DESC" if newest is not None else " ORDER BY id"
        if newest is not None or limit is not None:
            sql += " LIMIT ?"
            params.append(int(newest if newest is not None else limit))  # type: ignore[arg-type]
        with self._conn() as conn:
            found = conn.execute(sql, params).fetchall()
        if newest is not None:
            found.reverse()
        return [EventRow(r[0], _time(r[1]), *r[2:]) for r in found]  # type: ignore[arg-type]

    def stream_events(self, post_id: str | None = None) -> Iterator[EventRow]:
        """The whole trail (or one post's), oldest first, event by event as SQLite steps
        to them (``postq log``); an unknown post id raises at the first step, before
        anything is printed, as :meth:`Store.stream_events` does."""
        from scheduler.store.rows import EventRow

        sql, params = _events_query(post_id)
        with self._conn() as conn:
            found = conn.execute(sql + " ORDER BY id", params)
            first = found.fetchone()
            if first is None:
                if post_id is not None and conn.execute(
                        "SELECT 1 FROM posts WHERE post_id = ? AND current = 1",
                        [post_id]).fetchone() is None:
                    raise UsageError(f"no queued post has the id '{post_id}'")
                return
            yield EventRow(first[0], _time(first[1]), *first[2:])  # type: ignore[arg-type]
            for r in found:
                yield EventRow(r[0], _time(r[1]), *r[2:])  # type: ignore[arg-type]

    def event_csv(self, post_id: str | None = None) -> Iterator[str]:
        """:func:`~scheduler.store.report.event_csv_text` made by SQLite: each event's
        line is written by ``printf`` in the query (``%w`` doubles quotes, as CSV does),
        so Python handles one string per event instead of ten values. At a million
        events that is what keeps ``log --csv`` near the ``sqlite3`` shell. An unknown
        post id raises before the header, as :meth:`stream_events` does."""
        from scheduler.store.report import CSV_FIELDS, CSV_ROWS, csv_text

        sql, params = _CSV_QUERY, []
        if post_id is not None:
            sql, params = sql + " WHERE post_id = ?", [post_id]
        with self._conn() as conn:
            found = conn.execute(sql + " ORDER BY id", params)
            rows = found.fetchmany(CSV_ROWS)
            if not rows and post_id is not None and conn.execute(
                    "SELECT 1 FROM posts WHERE post_id = ? AND current = 1",
                    [post_id]).fetchone() is None:
                raise UsageError(f"no queued post has the id '{post_id}'")
            yield csv_text([CSV_FIELDS])
            while rows:
                lines = [r[0] for r in rows]
                try:
                    piece = "\n".join(lines) + "\n"
                except TypeError:  # an event printf cannot write comes as its id
                    piece = "".join(_csv_line(conn, x) if isinstance(x, int) else x + "\n"
                                    for x in lines)
                yield piece
                rows = found.fetchmany(CSV_ROWS)


def _listing(select: str, state: str | None, channel: str | None,
             limit: int | None) -> tuple[str, list[Any]]:
    """The query of ``queue list``: current deliveries and everything that went out, in
    the order of the list index, stopping at ``limit``."""
    # EXISTS, not IN (SELECT ...): the rows are read in the order of the list index,
    # each checked against its own post, and reading stops at the limit; IN would
    # first collect every current post of the history.
    sql = (f"{select} WHERE (d.state IN ('published', 'retracting', 'retracted', "
           "'retract_failed', 'retract_manual') OR EXISTS (SELECT 1 FROM posts p "
           "WHERE p.id = d.post_row AND p.current = 1))")
    params: list[Any] = []
    if state is not None:
        sql += " AND d.state = ?"
        params.append(check_state(state))
    if channel is not None:
        sql += " AND d.channel = ?"
        params.append(channel)
    sql += " ORDER BY d.due_at, d.post_id, d.channel"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, params


# What report.listed() takes from a DeliveryRow, in SQL.
_LISTED = ("SELECT coalesce(iif(d.state = 'retry_wait', d.wake_at, NULL), d.due_at), "
           "d.post_id, d.channel, d.reminder, d.state, d.attempts, "
           "coalesce(nullif(d.remote_url, ''), nullif(d.last_error, ''), ''), d.id "
           "FROM deliveries d")


# One audit event as a CSV line (csv.QUOTE_NONNUMERIC): the id bare, every other cell
# quoted with its quotes doubled (printf's %w, the time's too), NULL as "". The time is
# stored as SQLAlchemy writes it ('YYYY-MM-DD HH:MM:SS.ffffff', 26 characters, naive UTC)
# and printed as utc_iso() does. An event printf cannot write faithfully comes as its
# bare id instead, for _csv_line(): a time of another length (another layout, or a
# damaged row), or a NUL in who or why (printf stops at a NUL; names come from people
# and reasons from platforms' answers, while ids, channels, actions and states are
# written by postq from checked names). Each check costs every row, so there are few.
_CSV_TEXTS = ("who", "action", "post_id", "delivery_id", "channel", "state_before",
              "state_after", "reason")
_CSV_QUERY = (
    "SELECT iif(length(at) = 26 AND NOT (instr(who, char(0)) OR instr(reason, char(0))), "
    "printf('%d,\"%.10wT%.8w+00:00\"" + ',"%w"' * 8 + "', id, at, substr(at, 12), "
    + ", ".join(f"coalesce({c}, '')" for c in _CSV_TEXTS) + "), id) FROM events")


def _csv_line(conn: sqlite3.Connection, event_id: int) -> str:
    """One event's CSV line written as the Store's path writes it, for what SQLite's
    printf cannot write; a damaged time is an error naming it."""
    from scheduler.store.report import csv_text
    from scheduler.store.stored import damaged

    row = conn.execute("SELECT id, at, " + ", ".join(_CSV_TEXTS) + " FROM events "
                       "WHERE id = ?", [event_id]).fetchone()
    try:
        at = datetime.fromisoformat(row[1]).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        raise StoreError(damaged(event_id, "at", row[1], "a time", record="event")) from None
    return csv_text([[row[0], utc_iso(at), *row[2:]]])


def _events_query(post_id: str | None) -> tuple[str, list[Any]]:
    """The audit trail's SELECT, of one post or of everything, without its order."""
    sql = ("SELECT id, at, who, action, post_id, delivery_id, channel, state_before, "
           "state_after, reason, prev_chain, chain, signed FROM events")
    if post_id is None:
        return sql, []
    return sql + " WHERE post_id = ?", [post_id]


def connect_sqlite(path: Path, *, timeout: float) -> sqlite3.Connection:
    """A connection to the queue file, read-only when its folder cannot be written.

    A WAL database needs its ``-shm`` index beside it; in a folder this user may only
    read (staff looking at the publisher's queue) SQLite cannot make one, and even a
    read fails. Then the file is opened read-only, as immutable if no index exists, so
    ``queue list``, ``show``, ``status`` and ``log`` still answer; writes are refused.
    """
    conn = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        if os.access(path.parent, os.W_OK):
            raise
        conn.close()
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    for extra in ("", "&immutable=1"):
        conn = sqlite3.connect(uri + extra, uri=True, timeout=timeout, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
    raise sqlite3.OperationalError(f"unable to open database file in the read-only folder "
                                   f"{path.parent}")


def sqlite_path(url: str) -> Path | None:
    """The file of a plain ``sqlite:///path`` URL; None for anything fancier."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    rest = url[len(prefix):]
    return Path(rest) if rest and rest != ":memory:" else None


def open_reader(settings: Settings | ReadSettings, clock: Clock | None = None) -> Any:
    """A reader for ``settings``' queue: the stdlib one when it can serve, else the Store.

    ``settings`` may be the light :class:`~scheduler.config.ReadSettings`; the Store is
    then given the fully validated settings of the same file, so falling back also means
    the whole configuration is checked, as every other Store command does.
    """
    from scheduler.config import ReadSettings

    path = sqlite_path(settings.database_url)
    if path is not None and path.is_file():
        reader = SqliteReader(path, clock=clock, zone=settings.zone)
        try:
            if reader.schema_version() == SCHEMA_VERSION:
                return reader
        except StoreError:
            pass  # the Store reports the problem properly, or upgrades the schema
    from scheduler.store import Store

    full = settings.full() if isinstance(settings, ReadSettings) else settings
    return Store.open(full, clock=clock)
