"""Attacks on the queue database: damaged rows and files, races between commands, and
clocks that disagree. Each test is named after the attack it withstands.

Store tests run against SQLite and every database in ``POSTQ_TEST_DATABASE_URLS`` (as
``tests/test_store.py`` does); command tests run ``postq`` itself, in-process or as real
processes where the attack is a race between processes.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from scheduler.errors import StoreError, UsageError
from scheduler.store import Store
from scheduler.timeutil import FixedClock, get_zone
from tests.project import Project
from tests.test_store_support import DB_PARAMS, make_db_url, snap

LONDON = get_zone("Europe/London")
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store(db_url: str, tmp_path: Path, clock: FixedClock) -> Store:
    s = Store(db_url, tmp_path / "media", clock=clock, user="alice", zone=LONDON)
    yield s
    s.close()


def _sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


# -- 9.13 damaged rows ------------------------------------------------------------------
def test_damaged_schema_version_is_one_sentence(store: Store, db_url: str,
                                                tmp_path: Path) -> None:
    _sql(store, "UPDATE meta SET value = 'two' WHERE key = 'schema_version'")
    with pytest.raises(StoreError) as exc:
        Store(db_url, tmp_path / "media")
    assert str(exc.value) == ("the queue database is damaged: its meta row 'schema_version' "
                              "holds 'two', not a version number; restore the database from a "
                              "backup")


def test_damaged_remote_state_names_the_row(store: Store) -> None:
    store.add(snap("io", ("outbox",)), due_at=DUE, require_approval=False)
    _sql(store, "UPDATE deliveries SET remote_state = '{not json' WHERE post_id = 'io'")
    with pytest.raises(StoreError) as exc:
        store.list_deliveries()
    assert str(exc.value) == (
        "delivery io@outbox#r1 in the queue database is damaged: remote_state holds "
        "'{not json', not a JSON object; correct it in the database or restore a backup")


def test_damaged_due_row_is_set_aside_and_the_others_still_go_out(store: Store,
                                                                   db_url: str) -> None:
    store.add(snap("bad", ("outbox",)), due_at=DUE, require_approval=False)
    store.add(snap("good", ("outbox",)), due_at=DUE + timedelta(minutes=1),
              require_approval=False)
    if db_url.startswith("sqlite"):  # SQLite keeps whatever text it is given
        _sql(store, "UPDATE deliveries SET due_at = 'next tuesday' WHERE post_id = 'bad'")
        column, value, expected = "due_at", "'next tuesday'", "a time"
    else:  # a typed column cannot hold that; the JSON document can
        _sql(store, "UPDATE deliveries SET remote_state = '[1, 2' WHERE post_id = 'bad'")
        column, value, expected = "remote_state", "'[1, 2'", "a JSON object"
    sentence = (f"delivery bad@outbox#r1 in the queue database is damaged: {column} holds "
                f"{value}, not {expected}; correct it in the database or restore a backup")
    assert store.has_due(DUE + timedelta(minutes=1))
    claimed = store.claim_due(DUE + timedelta(minutes=1), worker="w1")
    assert [r.ref for r in claimed] == ["good@outbox"]
    assert store.take_held(worker="w1") == [("bad@outbox#r1", sentence)]
    with store.engine.begin() as conn:
        state, error = conn.execute(text(
            "SELECT state, last_error FROM deliveries WHERE post_id = 'bad'")).one()
        (action, reason), = conn.execute(text(
            "SELECT action, reason FROM events WHERE post_id = 'bad' AND action = 'hold'"))
    assert (state, error, action, reason) == ("failed", sentence, "hold", sentence)


def test_damaged_due_at_in_queue_list_is_one_sentence(project: Project) -> None:
    careers = project.careers("io.md")
    day = (datetime.now(UTC) + timedelta(days=5)).astimezone(LONDON).date().isoformat()
    careers.write_text(careers.read_text(encoding="utf-8")
                       .replace("2026-12-01", day)
                       .replace("2026-12-14", (datetime.fromisoformat(day) + timedelta(days=7))
                                .date().isoformat()), encoding="utf-8")
    assert project.run("queue", "add", str(careers)).exit_code == 0
    db = project.root / ".postq" / "queue.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET due_at = 'garbage'")
    for command in (("queue", "list"), ("status",)):
        result = project.run(*command)
        assert (result.exit_code, result.stderr) == (1, (
            "error: delivery io@outbox#r1 in the queue database is damaged: due_at holds "
            "'garbage', not a time; correct it in the database or restore a backup\n"))


# -- 9.14 silent drop-outs ----------------------------------------------------------------
def test_zero_byte_database_file_is_refused(tmp_path: Path) -> None:
    """An old empty file is refused at once; one that has only just appeared is given two
    seconds, since another process may be creating the queue in it, then refused too."""
    db = tmp_path / "queue.sqlite3"
    db.write_bytes(b"")
    for age_s in (3600, 0):
        os.utime(db, (time.time() - age_s, time.time() - age_s))
        start = time.monotonic()
        with pytest.raises(StoreError) as exc:
            Store(f"sqlite:///{db}", tmp_path / "media")
        waited = time.monotonic() - start
        assert str(exc.value) == (
            f"the queue database {db} is an empty file (0 bytes), not a queue; restore it "
            "from a backup, or remove it to start a new, empty queue")
        assert db.stat().st_size == 0
        assert (waited < 1.0) if age_s else (1.5 < waited < 10)


def test_an_empty_file_another_process_is_creating_the_queue_in_is_waited_for(
        tmp_path: Path) -> None:
    """The creator's file is empty until its first write: a second process opening the
    queue at that instant waits for it instead of calling it damage."""
    import threading

    made = tmp_path / "made.sqlite3"
    maker = Store(f"sqlite:///{made}", tmp_path / "media", clock=FixedClock(NOW))
    maker.add(snap("io", ("outbox", "x")), due_at=DUE)
    maker.close()
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{made}{suffix}").exists()  # all in the file itself
    db = tmp_path / "queue.sqlite3"
    db.write_bytes(b"")
    filler = threading.Timer(0.3, lambda: db.write_bytes(made.read_bytes()))
    filler.start()
    try:
        store = Store(f"sqlite:///{db}", tmp_path / "media", clock=FixedClock(NOW))
    finally:
        filler.join()
    assert sorted(r.post_id for r in store.list_deliveries()) == ["io", "io"]
    store.close()


def test_replace_while_old_revision_needs_check_is_refused(store: Store) -> None:
    store.add(snap("io", ("outbox", "x")), due_at=DUE, require_approval=False)
    store.clock.at = DUE  # type: ignore[attr-defined]
    claimed = {r.channel: r for r in store.claim_due(DUE, worker="w1")}
    store.mark_published(claimed["outbox"].id, "o-1", token=claimed["outbox"].claim_token)
    store.mark_needs_check(claimed["x"].id, "read timed out", token=claimed["x"].claim_token)
    store.clock.at = NOW  # type: ignore[attr-defined]
    with pytest.raises(UsageError) as exc:
        store.add(snap("io", ("outbox", "x"), caption="Join us today."),
                  due_at=DUE + timedelta(days=1), replace=True)
    assert str(exc.value) == (
        "post 'io' needs a check on x (it may already be published); settle it first "
        "(`postq run --once` asks the platform, or `postq queue retry --yes`), then "
        "replace it")
    assert {r.channel: r.state for r in store.list_deliveries()} == {
        "outbox": "published", "x": "needs_check"}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_all_idle(pids: list[int], quiet: float = 1.0, limit: float = 20.0) -> None:
    """Until no process has used CPU for ``quiet`` seconds: all wait for the lock."""
    deadline = time.monotonic() + limit
    last = {p: -1.0 for p in pids}
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        now = {p: _cpu_seconds(p) for p in pids}
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet:
            return
        time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_two_next_slot_adds_at_the_same_moment_take_different_slots(project: Project) -> None:
    """Three ``queue add --next-slot`` processes held at the database's write lock, then
    let go together: each must see the slots the others took."""
    posts = []
    for n in range(3):
        path = project.careers(f"p{n}.md", f"p{n}")
        path.write_text(path.read_text(encoding="utf-8").replace(
            "publish_at: 2026-12-01 09:00\n", "").replace(
            "2026-12-14", (datetime.now(UTC) + timedelta(days=60)).date().isoformat()),
            encoding="utf-8")
        posts.append(path)
    assert project.run("queue", "list").exit_code == 0  # the database exists
    env = {**os.environ, "POSTQ_USER": "alice"}
    lock = sqlite3.connect(project.root / ".postq" / "queue.sqlite3", isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # every writer now waits here, whatever it read
    try:
        procs = [subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(project.config), "queue",
             "add", str(p), "--next-slot"], cwd=project.root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for p in posts]
        _wait_until_all_idle([p.pid for p in procs])
    finally:
        lock.execute("COMMIT")
        lock.close()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e.decode() for _o, e in outs]
    listed = project.run("queue", "list", "--json")
    due = sorted(datetime.fromisoformat(d["due_at"])
                 for d in json.loads(listed.stdout)["deliveries"])
    assert len(due) == 3
    assert all(b - a >= timedelta(hours=2) for a, b in zip(due, due[1:], strict=False)), due


# -- 9.4 the database's clock ---------------------------------------------------------------
def test_claims_and_heartbeats_take_the_database_time_not_the_process_clock(
    store: Store,
) -> None:
    store.add(snap("io", ("outbox",)), due_at=DUE, require_approval=False)
    store.clock.at = DUE  # type: ignore[attr-defined]  # this process thinks it is 2026-11-10
    before = datetime.now(UTC) - timedelta(seconds=5)
    (row,) = store.claim_due(DUE, worker="w1")
    store.heartbeat("w1", {})
    after = datetime.now(UTC) + timedelta(seconds=5)
    (hb,) = store.heartbeats()
    assert row.claimed_at is not None and before <= row.claimed_at <= after
    assert before <= hb.seen_at <= after
    assert row.claim_token == 1
    # judged on that same clock, a fresh claim is not abandoned, whatever this process says
    assert store.abandoned_claims(timedelta(seconds=30)) == []
    _sql(store, "UPDATE heartbeats SET seen_at = :t", t=(before - timedelta(minutes=5))
         .replace(tzinfo=None))
    _sql(store, "UPDATE deliveries SET claimed_at = :t", t=(before - timedelta(minutes=5))
         .replace(tzinfo=None))
    assert [r.ref for r in store.abandoned_claims(timedelta(seconds=30))] == ["io@outbox"]


# -- 9.15 a read-only data_dir ------------------------------------------------------------
def _read_only(folder: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``postq`` with ``folder`` read-only: a read-only bind mount when running as
    root (which permissions do not stop), else the folder's permission bits."""
    cmd = [sys.executable, "-m", "scheduler", *args]
    if os.geteuid() == 0:
        inner = f"mount --bind -o ro {shlex.quote(str(folder))} {shlex.quote(str(folder))} " \
                f"&& exec {shlex.join(cmd)}"
        cmd = ["unshare", "-m", "sh", "-c", inner]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "POSTQ_USER": "reader"})


def _can_make_read_only() -> bool:
    if os.geteuid() != 0:
        return True
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_make_read_only(), reason="cannot make a folder read-only here")
def test_read_only_data_dir_still_answers_read_only_commands(project: Project) -> None:
    path = project.careers("io.md")
    day = (datetime.now(UTC) + timedelta(days=5)).astimezone(LONDON).date()
    path.write_text(path.read_text(encoding="utf-8").replace("2026-12-01", day.isoformat())
                    .replace("2026-12-14", (day + timedelta(days=7)).isoformat()),
                    encoding="utf-8")
    assert project.run("queue", "add", str(path)).exit_code == 0
    data = project.root / ".postq"
    if os.geteuid() != 0:
        data.chmod(0o555)
    try:
        conf = ["--config", str(project.config)]
        for command in (["queue", "list"], ["queue", "show", "io"], ["status"], ["log"]):
            done = _read_only(data, conf + command, project.root)
            assert (done.returncode, done.stderr) == (0, ""), command
            assert "io" in done.stdout and "awaiting" in done.stdout, command
        refused = _read_only(data, conf + ["queue", "cancel", "io"], project.root)
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"error: cannot write {data}: ")
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    finally:
        data.chmod(0o755)
