"""The calendar's terminal grid: one text whichever way its rows are read.

``postq calendar`` on SQLite reads one row per post and due time
(:meth:`SqliteReader.grid_posts`) and draws each cell once; the Store (and any row the
grouped read cannot carry) gives one row per delivery. Both are held here to a plain
row-by-row drawing written from the grid's rules (local time by :func:`when`, every
long cell cut by :func:`elide_middle`), across daylight-saving changes, half-hour zones,
every cell width, reminders, states, cancelled deliveries and names a terminal would
misread; and the command itself is checked for what it loads and prints.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from scheduler.blackouts import Blackout
from scheduler.config import load, settings_from_dict
from scheduler.content.snapshot import PostSnapshot
from scheduler.errors import StoreError
from scheduler.store import Store
from scheduler.store.calendar import (
    SIGNS,
    GridEntry,
    _Grid,
    calendar_text,
    calendar_text_by_post,
    window,
)
from scheduler.store.fastread import SqliteReader, open_reader
from scheduler.store.report import elide_middle, terminal_width, when
from scheduler.store.stored import read_time
from scheduler.textsafety import show
from scheduler.timeutil import FixedClock
from tests.project import Project
from tests.test_store_support import snap

# London's clocks go back at 01:00 UTC on Sunday 25 October 2026: the two weeks from
# Monday 19 October hold both offsets.
MONDAY = date(2026, 10, 19)
NOW = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
CHANNELS = ("outbox", "x", "bluesky-rehearsal", "mastodon\x1b[8m")
ZONES = ("Europe/London", "Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns", "UTC")
WIDTHS = (80, 90, 100, 111, 200, 320)


def reference(entries: Iterable[GridEntry], monday: date, weeks: int, zone: ZoneInfo,
              width: int, blackouts: Sequence[Blackout] = ()) -> str:
    """The grid drawn row by row from its rules, nothing cached or shared."""
    grid = _Grid(zone, width)
    cell = grid.cell
    days: dict[str, list[str]] = {}
    for due, post_id, channel, reminder, state, delivery_id in entries:
        if state == "cancelled":
            continue
        moment = when(read_time(delivery_id, "due_at", due), zone, "%Y-%m-%d %H:%M")
        head = f"{SIGNS.get(state, ' ')}{moment[11:]} {channel}"
        if reminder:
            head += f" ~{reminder}"
        days.setdefault(moment[:10], []).extend(
            elide_middle(text, cell).ljust(cell) for text in (head, f"  {post_id}"))
    return grid.text(days, monday, weeks, blackouts)


@pytest.fixture
def queue(tmp_path: Path) -> tuple[Store, SqliteReader, Path]:
    """Posts every 50 minutes over two weeks, on one to four channels, some with long
    ids, reminders, another state or cancelled; a few due at the same minute."""
    settings = settings_from_dict({"postq": {"data_dir": str(tmp_path / "data")},
                                   "channels": {"outbox": {"adapter": "outbox"}}})
    start = datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    store = Store.open(settings, clock=FixedClock(start - timedelta(days=1)))  # type: ignore[arg-type]
    posts: dict[bool, list[tuple[PostSnapshot, datetime]]] = {True: [], False: []}
    for i in range(400):
        post_id = (f"a-very-long-recruitment-post-id-{i:04d}" if i % 3 == 0
                   else f"p{i}\u202e" if i % 17 == 0 else f"p{i}")
        due = start + timedelta(minutes=50 * i, seconds=i % 60, microseconds=i * 7)
        if i % 11 == 10:  # the same minute as the post before
            due = start + timedelta(minutes=50 * (i - 1))
        posts[i % 2 == 0].append((snap(post_id, CHANNELS[:1 + i % 4]), due))
    for approval, items in posts.items():
        store.add_many(items, require_approval=approval)  # type: ignore[arg-type]
    store.add(snap("p0", ("outbox",), caption="v2"), due_at=start, replace=True)
    path = tmp_path / "data" / "queue.sqlite3"
    reader = open_reader(settings, clock=FixedClock(NOW))  # type: ignore[arg-type]
    assert isinstance(reader, SqliteReader)
    conn = sqlite3.connect(reader.path)
    with conn:
        for state, every in (("published", 5), ("retry_wait", 7), ("cancelled", 9),
                             ("failed", 13), ("publishing", 19), ("missed", 23)):
            conn.execute("UPDATE deliveries SET state = ? WHERE rowid % ? = 0",
                         [state, every])
        conn.execute("UPDATE deliveries SET reminder = '-1h' WHERE rowid % 6 = 1")
        conn.execute("UPDATE deliveries SET reminder = '-1d' WHERE rowid % 8 = 3")
    conn.close()
    return store, reader, path


def test_every_way_of_reading_draws_the_same_grid(
        queue: tuple[Store, SqliteReader, Path]) -> None:
    store, reader, _path = queue
    periods = [Blackout.from_stored(
        "autumn", '{"start": "2026-10-24T10:00:00+00:00", "end": "2026-10-26T12:00:00+00:00"}',
        "alice", NOW)]
    for name in ZONES:
        zone = ZoneInfo(name)
        monday, start, end = window(MONDAY, 2, zone)
        rows = list(reader.grid(start, end))
        assert len(rows) > 900 and rows == [
            (r[0].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[1:])  # type: ignore[union-attr]
            for r in store.grid(start, end)]
        for width in WIDTHS:
            expected = reference(rows, monday, 2, zone, width, periods)
            by_post = calendar_text_by_post(reader.grid_posts(start, end), monday, 2, zone,
                                            width, periods)
            assert by_post == expected, (name, width)
            assert calendar_text(rows, monday, 2, zone, width, periods) == expected
            assert calendar_text(store.grid(start, end), monday, 2, zone, width,
                                 periods) == expected
    london = calendar_text_by_post(reader.grid_posts(*window(MONDAY, 2, ZoneInfo(
        "Europe/London"))[1:]), MONDAY, 2, ZoneInfo("Europe/London"), 100, periods)
    assert london is not None
    # Cut in the middle, a cell keeps the mark, the time and the end of the channel,
    # reminder or id; short ones are padded.
    assert re.search(r"(^| )[ ?+!~x>]\d\d:\d\d…earsal ", london, re.M)
    assert re.search(r"(^| )[ ?+!~x>]\d\d:\d\d…l ~-1[hd] ", london, re.M)
    assert re.search(r"(^| )[ ?+!~x>]\d\d:\d\d outbox ", london, re.M)
    assert re.search(r"(^| )  a-ve…d-\d{4} ", london, re.M)
    assert "\x1b" in london and "\\x1b" in show(london) and "\x1b" not in show(london)


@pytest.mark.parametrize("damage", [
    "UPDATE deliveries SET channel = CAST(channel AS BLOB) WHERE rowid = 40",
    "UPDATE deliveries SET channel = 'x' || char(31) || 'y' WHERE rowid = 41",
    "UPDATE deliveries SET state = 'scheduled' || char(30) WHERE rowid = 42",
    "UPDATE deliveries SET reminder = x'2d3168' WHERE rowid = 43",
    "UPDATE deliveries SET due_at = '2026-10-21 09:00:00+01:00' WHERE rowid = 44",
])
def test_rows_a_post_row_cannot_carry_are_drawn_from_the_deliveries(
        queue: tuple[Store, SqliteReader, Path], damage: str) -> None:
    """A name or state that is not text or holds a separator, or a time in another
    layout: the grouped read gives up and the per-delivery rows draw the grid, as
    before."""
    _store, reader, path = queue
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(damage)
    conn.close()
    zone = ZoneInfo("Europe/London")
    monday, start, end = window(MONDAY, 2, zone)
    drawn = calendar_text(reader.grid(start, end), monday, 2, zone, 100)
    assert drawn == reference(reader.grid(start, end), monday, 2, zone, 100)
    assert calendar_text_by_post(reader.grid_posts(start, end), monday, 2, zone,
                                 100) in (None, drawn)
    if "due_at" not in damage:
        assert calendar_text_by_post(reader.grid_posts(start, end), monday, 2, zone,
                                     100) is None


def test_a_damaged_due_time_is_named_whichever_way_it_is_read(
        queue: tuple[Store, SqliteReader, Path]) -> None:
    _store, reader, path = queue
    conn = sqlite3.connect(path)
    with conn:
        did = conn.execute("SELECT id FROM deliveries WHERE rowid = 50").fetchone()[0]
        conn.execute("UPDATE deliveries SET due_at = '2026-10-21 9 o''clock' "
                     "WHERE rowid = 50")
    conn.close()
    zone = ZoneInfo("Europe/London")
    monday, start, end = window(MONDAY, 2, zone)
    assert calendar_text_by_post(reader.grid_posts(start, end), monday, 2, zone) is None
    with pytest.raises(StoreError, match=f"delivery {did} in the queue database is "
                                         "damaged: due_at holds"):
        calendar_text(reader.grid(start, end), monday, 2, zone)


def test_the_command_prints_the_grid_and_loads_little(project: Project) -> None:
    """``postq calendar`` prints the grid of the Store's rows, and stays out of what the
    grid does not need: the row records, the regex module, csv, shutil, the HTML
    page's modules, SQLAlchemy and pydantic."""
    settings = load(project.config)
    store = Store.open(settings)
    soon = datetime.now(UTC) + timedelta(hours=2)
    for i in range(30):
        store.add(snap(f"careers-{i:02d}", ("outbox", "x")), due_at=soon + timedelta(
            hours=5 * i), require_approval=i % 2 == 0)
    zone = settings.zone
    today = store.clock.now().astimezone(zone).date()
    monday, start, end = window(today, 4, zone)
    expected = show(calendar_text(store.grid(start, end), monday, 4, zone, 100))
    r = project.run("calendar", env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.stderr
    assert r.stdout == expected + "\n"
    # A row the grouped read cannot carry: the command draws from the delivery rows.
    reader = open_reader(settings)
    assert isinstance(reader, SqliteReader)
    conn = sqlite3.connect(reader.path)
    with conn:
        conn.execute("UPDATE deliveries SET channel = CAST('x' AS BLOB) WHERE rowid = 3")
    conn.close()
    assert calendar_text_by_post(reader.grid_posts(start, end), monday, 4, zone) is None
    r = project.run("calendar", env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.stderr
    assert r.stdout == show(calendar_text(reader.grid(start, end), monday, 4, zone)) + "\n"
    assert "b'x'" in r.stdout
    assert "careers-29" in r.stdout or (soon + timedelta(hours=145)).date() >= end.date()
    probe = ("import sys\nfrom scheduler.cli import main\ntry:\n    main(sys.argv[1:])\n"
             "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('regex', 'csv', "
             "'shutil', 'html', 'sqlalchemy', 'pydantic') or m == 'scheduler.store.rows'))")
    done = subprocess.run([sys.executable, "-c", probe, "--config", str(project.config),
                           "calendar"], capture_output=True, text=True, check=True,
                          cwd=project.root)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout[-300:]


@pytest.mark.parametrize("columns", [None, "80", "0", "-3", "wide", "250"])
def test_terminal_width_answers_what_shutil_answers(
        monkeypatch: pytest.MonkeyPatch, columns: str | None) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_width() == shutil.get_terminal_size((100, 24)).columns


@pytest.mark.parametrize("text", [
    "plain\n  cut …middle\n", "cut … then an escape \x1b[8m", "cut … then \u202eoverride",
    "tab\tand … and \r", "…", "Gwneud cais ŵ … ŷ",
])
def test_show_of_a_cut_cell_escapes_what_it_did_before(text: str) -> None:
    """Text plain apart from the ellipsis of a cut cell is passed as it is; anything
    else still goes through the character search."""
    from scheduler.textsafety import hidden_characters

    marks = {i for i, _ in hidden_characters(text)}
    expected = "".join(f"\\x{ord(c):02x}" if i in marks and ord(c) <= 0xFF
                       else f"\\u{ord(c):04x}" if i in marks else c
                       for i, c in enumerate(text))
    assert show(text) == expected
    if not marks:
        assert show(text) is text
