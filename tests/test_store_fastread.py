"""The stdlib read path answers exactly what the Store answers, and steps aside when it
cannot (no database yet, an older schema to upgrade, another database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine

from scheduler.config import settings_from_dict
from scheduler.errors import UsageError
from scheduler.store import Store
from scheduler.store.calendar import calendar_text
from scheduler.store.fastread import SqliteReader, open_reader, sqlite_path
from scheduler.store.schema import create_schema
from scheduler.timeutil import FixedClock
from tests.test_store_support import snap

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
DUE = NOW + timedelta(days=2)


def settings_for(tmp_path: Path) -> object:
    return settings_from_dict({"postq": {"data_dir": str(tmp_path / "data")},
                               "channels": {"outbox": {"adapter": "outbox"}}})


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Store, SqliteReader]:
    settings = settings_for(tmp_path)
    alice = Store.open(settings, clock=FixedClock(NOW))  # type: ignore[arg-type]
    alice.user = "alice"
    bob = Store.open(settings, clock=FixedClock(NOW))  # type: ignore[arg-type]
    bob.user = "bob"
    for i in range(6):
        alice.add(snap(f"p{i}", ("outbox", "x")), due_at=DUE + timedelta(hours=i))
    for i in range(4):
        bob.approve(f"p{i}")
    a, b, *_ = bob.claim_due(DUE + timedelta(minutes=1), worker="w1")
    bob.mark_published(a.id, "1", "https://example.org/1")
    bob.mark_retry(b.id, "503", DUE + timedelta(minutes=9))
    bob.save_remote_state(b.id, {"container": "c1"})
    alice.add(snap("p5", ("outbox",), caption="v2"), due_at=DUE, replace=True)
    alice.pause("x", "locked")
    alice.pause(None, "incident")
    bob.heartbeat("w1", {"pid": 7})
    reader = open_reader(settings, clock=FixedClock(NOW))  # type: ignore[arg-type]
    assert isinstance(reader, SqliteReader)
    return alice, reader


def test_reader_matches_the_store(seeded: tuple[Store, SqliteReader]) -> None:
    store, reader = seeded
    for kw in ({}, {"state": "scheduled"}, {"channel": "x"}, {"limit": 3},
               {"state": "awaiting_approval", "channel": "outbox", "limit": 1}):
        assert reader.list_deliveries(**kw) == store.list_deliveries(**kw), kw  # type: ignore[arg-type]
    assert reader.next_due(4) == store.next_due(4)
    # The calendar's grid: the same rows, to the microsecond at the window's edges.
    for start, end in ((DUE, DUE + timedelta(hours=3)), (DUE + timedelta(hours=1),
                                                        DUE + timedelta(days=7))):
        found = list(reader.grid(start, end))
        assert found != [] and len(found) == len(list(store.grid(start, end)))
        # Text as stored against the Store's datetimes: the same grid.
        grids = [calendar_text(source.grid(start, end), DUE.date(), 2, LONDON, 120)  # type: ignore[attr-defined]
                 for source in (reader, store)]
        assert grids[0] == grids[1]
        assert " 11:00 outbox" in grids[0] and "  p2" in grids[0]
    assert [r.id for r in reader.stream_deliveries(limit=2)] == [
        r.id for r in store.stream_deliveries(limit=2)]
    assert reader.counts() == store.counts()
    # queue list's lines: SQLite's stored text and the Store's datetimes print the same,
    # paused channels, retries and seconds within the hour included.
    from scheduler.store.report import delivery_lines

    for now in (NOW, DUE, DUE + timedelta(minutes=5)):
        for kw in ({}, {"channel": "x"}, {"limit": 3}):
            lines = [list(delivery_lines(source.stream_listing(**kw), UTC,  # type: ignore[attr-defined]
                                         store.pauses(), now=now, width=80))
                     for source in (reader, store)]
            assert lines[0] == lines[1], (now, kw)
    soon = list(delivery_lines(reader.stream_listing(), UTC, (), now=DUE, width=200))
    assert any(":09:00 UTC" in line and "retry wait" in line for line in soon), soon
    assert reader.pauses() == store.pauses()
    assert reader.heartbeats() == store.heartbeats()
    assert any(r.remote_state for r in reader.list_deliveries())
    with pytest.raises(UsageError, match="'nope' is not a delivery state"):
        reader.list_deliveries(state="nope")


def test_reader_steps_aside(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    # no database yet: the Store creates it
    assert isinstance(open_reader(settings), Store)  # type: ignore[arg-type]
    # an older schema: the Store upgrades it first
    other = tmp_path / "other"
    other.mkdir()
    old = settings_from_dict({"postq": {"data_dir": str(other)}})
    engine = create_engine(old.database_url)
    with engine.begin() as conn:
        create_schema(conn, version=1)
    engine.dispose()
    assert isinstance(open_reader(old), Store)
    assert isinstance(open_reader(old), SqliteReader)
    assert sqlite_path("postgresql://db/postq") is None
    assert sqlite_path("sqlite://") is None
    assert sqlite_path("sqlite:////var/q.db") == Path("/var/q.db")


#: Cells a spreadsheet or a terminal would misread, and cells CSV must quote.
AWKWARD = ['=HYPERLINK("https://evil.example","x")', 'a,"=b"', '-1 day', "+44 7700",
           "@channel", "\ttabbed", "\rreturn", 'two\nlines, "quoted"', '"=quoted start',
           "Gwneud cais ŵ ŷ", "hidden\x1b[8m", "rtl\u202eoverride", ""]


def test_csv_matches_the_store(seeded: tuple[Store, SqliteReader]) -> None:
    """The audit trail as CSV: SQLite's printf lines and the csv module's, byte for byte,
    once made safe; and what a CSV reader reads back is the stored text, formula cells
    prefixed with an apostrophe, controls escaped."""
    import csv
    import io

    from scheduler.store.report import safe_csv

    store, reader = seeded
    for i, reason in enumerate(AWKWARD):
        post = f"odd{i}"
        store.add(snap(post, ("outbox",)), due_at=DUE + timedelta(days=3, minutes=i))
        store.user = reason if reason.startswith(("=", "@", "+")) else "alice"
        store.cancel(post, reason or None)
    store.user = "alice"
    fast = "".join(map(safe_csv, reader.event_csv()))
    full = "".join(map(safe_csv, store.event_csv()))
    assert fast == full
    rows = list(csv.DictReader(io.StringIO(fast)))
    assert [r["id"] for r in rows] == [str(e.id) for e in store.events()]
    cancelled = {r["post_id"]: r["reason"] for r in rows if r["action"] == "cancel"}
    assert cancelled["odd0"] == "'" + AWKWARD[0]
    assert cancelled["odd1"] == AWKWARD[1]
    assert cancelled["odd4"] == "'@channel"
    assert cancelled["odd5"] == "'\ttabbed"
    assert cancelled["odd6"] == "'\\x0dreturn"
    assert cancelled["odd7"] == AWKWARD[7]
    assert cancelled["odd8"] == AWKWARD[8]
    assert cancelled["odd9"] == AWKWARD[9]
    assert cancelled["odd10"] == "hidden\\x1b[8m"
    assert cancelled["odd11"] == "rtl\\u202eoverride"
    assert {r["who"] for r in rows if r["action"] == "cancel"} >= {
        "'=HYPERLINK(\"https://evil.example\",\"x\")", "'@channel", "'+44 7700"}
    assert all(datetime.fromisoformat(r["at"]).utcoffset() == timedelta(0) for r in rows)
    # One post's trail; an unknown id fails before the header, on both paths.
    assert "".join(reader.event_csv("odd3")) == "".join(store.event_csv("odd3"))
    for source in (reader, store):
        with pytest.raises(UsageError, match="no queued post has the id 'nope'"):
            next(source.event_csv("nope"))  # type: ignore[attr-defined]


def test_counts_take_the_history_from_the_whole_index(
        seeded: tuple[Store, SqliteReader]) -> None:
    """``published`` is the whole index's count less every other state's range: a row
    in a state postq does not know is not taken for a published one."""
    import sqlite3

    store, reader = seeded
    before = reader.counts()
    assert before == store.counts() and before["published"] == 1
    for i in range(3):
        store.add(snap(f"h{i}", ("outbox",)), due_at=DUE + timedelta(days=9, hours=i))
    with sqlite3.connect(reader.path) as conn:
        conn.execute("UPDATE deliveries SET state = 'published' WHERE post_id IN ('h0', 'h1')")
        conn.execute("UPDATE deliveries SET state = 'pending' WHERE post_id = 'h2'")
    after = reader.counts()
    assert after == store.counts()
    assert after["published"] == 3 and "pending" not in after
    assert [d.id for d in reader.next_due(3)] == [d.id for d in store.next_due(3)]


@pytest.mark.parametrize("zone", ["Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu",
                                  "America/St_Johns", "UTC"])
def test_local_times_print_what_when_prints(zone: str) -> None:
    """The listing's cached, isoformat-based local times are :func:`when`'s, across
    daylight-saving changes (half-hour ones too) and with seconds within the hour."""
    from scheduler.store.report import local_times, when

    tz = ZoneInfo(zone)
    now = datetime(2026, 3, 29, 0, 30, 7, 250000, tzinfo=UTC)
    moments = [now + timedelta(minutes=7 * i, seconds=i % 60, microseconds=i)
               for i in range(-300, 8000)]
    moments += [datetime(2026, 10, 3, 15, 0, tzinfo=UTC) + timedelta(minutes=m)
                for m in range(-90, 90)]  # Lord Howe's half-hour change
    for current in (now, None):
        listed_as_text = local_times(tz, current)
        listed_as_time = local_times(tz, current)
        grid = local_times(tz, current, zone_name=False)
        for m in moments:
            expected = when(m, tz, "%Y-%m-%d %H:%M %Z", current)
            stored = m.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            assert listed_as_text(stored, "d") == expected, (m, current)
            assert listed_as_time(m, "d") == expected, (m, current)
            assert grid(stored, "d") == when(m, tz, "%Y-%m-%d %H:%M", current)


def test_csv_of_what_printf_cannot_write(seeded: tuple[Store, SqliteReader]) -> None:
    """A NUL in a reason (platforms' answers are recorded) or a name, and a time in
    another layout, are written by the csv module as the Store writes them; a damaged
    time is one sentence naming the event, not a cell that breaks the quoting."""
    import sqlite3

    from scheduler.errors import StoreError
    from scheduler.store.report import safe_csv

    store, reader = seeded
    store.add(snap("nul", ("outbox",)), due_at=DUE + timedelta(days=4))
    store.user = "bob\x00tail"
    store.cancel("nul", 'ok\x00=HYPERLINK("http://evil")')
    store.user = "alice"
    with sqlite3.connect(reader.path) as conn:
        conn.execute("UPDATE events SET at = '2026-11-02 10:00:00' WHERE id = 1")
    fast = "".join(map(safe_csv, reader.event_csv()))
    assert fast == "".join(map(safe_csv, store.event_csv()))
    assert '"bob\\x00tail","cancel"' in fast
    assert '"ok\\x00=HYPERLINK(""http://evil"")"' in fast
    assert fast.splitlines()[1].startswith('1,"2026-11-02T10:00:00+00:00",')
    with sqlite3.connect(reader.path) as conn:
        conn.execute("""UPDATE events SET at = '",=1+1,"xx' WHERE id = 2""")
    with pytest.raises(StoreError, match=r"^event 2 in the queue database is damaged: at "
                                         r"holds '\",=1\+1,\"xx', not a time"):
        "".join(reader.event_csv())


def test_listing_names_a_damaged_time(seeded: tuple[Store, SqliteReader]) -> None:
    """Each distinct stored time is read, so a damaged one is never printed as its
    neighbour's minute; the sentence names the column the listing shows."""
    import sqlite3

    from scheduler.errors import StoreError
    from scheduler.store.report import delivery_lines

    store, reader = seeded
    with sqlite3.connect(reader.path) as conn:
        conn.execute("UPDATE deliveries SET due_at = '2026-11-04 10:00:garbage!' "
                     "WHERE id = 'p1@outbox#r1'")
    with pytest.raises(StoreError, match="delivery p1@outbox#r1 .* due_at holds "
                                         "'2026-11-04 10:00:garbage!', not a time"):
        list(delivery_lines(reader.stream_listing(), UTC))
    with sqlite3.connect(reader.path) as conn:
        conn.execute("UPDATE deliveries SET due_at = '2026-11-04 11:00:00.000000' "
                     "WHERE id = 'p1@outbox#r1'")
        conn.execute("UPDATE deliveries SET wake_at = 'garbage' WHERE state = 'retry_wait'")
    with pytest.raises(StoreError, match=r"delivery p0@\w+#r1 .* wake_at holds 'garbage'"):
        list(delivery_lines(reader.stream_listing(), UTC))
