"""``postq status --check`` and ``postq watch`` as a monitor runs them: exit codes, one line
per problem, JSON, the notice through ``[notify]``, and ``run --once``'s own heartbeat.

The queue is a real SQLite file in a real project folder; deliveries are put into each
state through the Store's own operations, with a clock set in the past where a delivery
must be overdue.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.config import load
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.project import Project
from tests.test_store_support import snap

NOTIFY = """
[notify]
channel = "alerts"

[channels.alerts]
adapter = "outbox"
path = ".postq/alerts"
"""


def _store(project: Project, at: datetime | None = None, user: str = "alice") -> Any:
    settings = load(project.config)
    clock = FixedClock(at) if at else None
    # The clock stands in for the database's too: heartbeats are timed by the database.
    return Store(settings.database_url, settings.data_dir / "media", clock=clock,
                 claim_clock=clock, user=user)


def _queue(project: Project, post_id: str, due: datetime, *, approval: bool = False,
           approved: bool = False) -> None:
    store = _store(project, due - timedelta(minutes=1))
    try:
        store.add(snap(post_id, ("outbox",)), due_at=due,
                  require_approval=approval or approved)
    finally:
        store.close()
    if approved:  # by a colleague, as the publisher's own configuration requires
        bob = _store(project, due - timedelta(minutes=1), user="bob")
        try:
            bob.approve(post_id)
        finally:
            bob.close()


def _publishers(status: str) -> list[str]:
    """The lines of the Publishers section of ``postq status``."""
    return status.split("Publishers:\n", 1)[1].split("\n\n", 1)[0].strip().splitlines()


def test_check_is_ok_on_an_empty_queue(project: Project) -> None:
    result = project.run("status", "--check")
    assert (result.exit_code, result.output) == (0, "OK: publishing is on track\n")
    as_json = project.run("status", "--check", "--json")
    assert json.loads(as_json.output) == {"status": "ok", "exit_code": 0, "problems": []}


def test_check_is_critical_when_due_and_no_publisher_alive(project: Project) -> None:
    due = datetime.now(UTC) - timedelta(minutes=5)
    _queue(project, "io", due)
    result = project.run("status", "--check")
    assert result.exit_code == 2
    local = due.astimezone(load(project.config).zone).strftime("%a %d %b %Y %H:%M %Z")
    assert result.output == (f"CRITICAL: 1 delivery is due and no publisher is alive (oldest: "
                             f"io@outbox due {local}); start `postq run`\n")
    problems = json.loads(project.run("status", "--check", "--json").output)["problems"]
    assert [(p["level"], p["code"], p["count"]) for p in problems] == [
        ("CRITICAL", "due_no_publisher", 1)]
    # a live publisher's heartbeat makes it someone's work again, not an outage
    store = _store(project)
    store.heartbeat("host:1", {"pid": 1})
    store.close()
    assert project.run("status", "--check").exit_code == 0


def test_a_paused_channel_is_not_an_outage(project: Project) -> None:
    _queue(project, "io", datetime.now(UTC) - timedelta(minutes=5))
    store = _store(project)
    store.pause("outbox", "wording under review")
    store.close()
    assert project.run("status", "--check").output == "OK: publishing is on track\n"


def test_check_warns_on_failed_needs_check_unapproved_and_silent_publishers(project: Project) -> None:
    now = datetime.now(UTC)
    for post_id in ("bad", "odd"):
        _queue(project, post_id, now - timedelta(seconds=10))
    _queue(project, "wait", now - timedelta(seconds=5), approval=True)
    store = _store(project)
    claimed = {r.post_id: r for r in store.claim_due(now, worker="host:7", limit=10)}
    store.mark_failed(claimed["bad"].id, "422: too long")
    store.mark_needs_check(claimed["odd"].id, "connection reset")
    store.heartbeat("host:8", {"pid": 8})  # alive: nothing due is left unattended
    store.close()
    earlier = _store(project, now - timedelta(seconds=60))
    earlier.heartbeat("host:7", {"pid": 7})  # silent for a minute, never said it stopped
    earlier.close()
    result = project.run("status", "--check")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:3] == [
        "WARNING: 1 delivery failed; see `postq queue list --state failed`",
        "WARNING: 1 delivery needs a person's check; see `postq queue list --state needs_check`",
        "WARNING: 1 delivery is due but not approved (first: wait@outbox)",
    ]
    assert len(lines) == 4 and lines[3].startswith("WARNING: publisher host:7 has not reported for ")
    assert lines[3].endswith(" s and did not stop cleanly")


def test_run_once_leaves_its_own_heartbeat_with_its_result(project: Project) -> None:
    _queue(project, "io", datetime.now(UTC) - timedelta(seconds=1), approved=True)
    result = project.run("run", "--once")
    assert result.exit_code == 0, result.output
    status = project.run("status").output
    publishers = _publishers(status)
    assert len(publishers) == 1
    assert " last run --once " in publishers[0]
    assert publishers[0].endswith(": run --once finished; 1 published")
    again = project.run("run", "--once")
    assert again.stdout == "Nothing was due.\n"
    publishers = _publishers(project.run("status").output)
    assert len(publishers) == 1  # the host keeps its latest run, not one row per run
    assert publishers[0].endswith(": run --once finished; nothing was due")
    beats = json.loads(project.run("status", "--json").output)["publishers"]
    assert [(b["alive"], b["stopped"], b["info"]["result"]) for b in beats] == [(False, True, {})]
    assert project.run("status", "--check").exit_code == 0


def test_watch_tells_people_once_when_a_delivery_goes_overdue(project: Project) -> None:
    project.write_config(NOTIFY)
    store = _store(project, datetime.now(UTC) - timedelta(hours=1))
    store.retire_heartbeat("host:3", {"pid": 3, "stopped_at": "-", "reason": "SIGTERM received"})
    store.close()  # the publisher was stopped an hour ago
    _queue(project, "io", datetime.now(UTC) - timedelta(minutes=2))
    quiet = project.run("watch")  # late_grace is 30m: not overdue yet
    assert (quiet.exit_code, quiet.output) == (0, "Nothing is overdue.\n")
    _queue(project, "old", datetime.now(UTC) - timedelta(minutes=45))
    result = project.run("watch")
    assert result.exit_code == 2
    notices = list((project.root / ".postq" / "alerts").iterdir())
    assert len(notices) == 1
    text = (notices[0] / "caption.txt").read_text(encoding="utf-8")
    assert text.startswith("postq: 1 delivery is overdue and nothing has published them "
                           "(oldest: old@outbox, due ")
    assert text.endswith(", 45 min ago). Is `postq run` running? See `postq status`.")
    assert result.output == f"Sent: {text}\n"
    again = project.run("watch")
    assert (again.exit_code, again.output) == (2, "1 overdue; people were already told.\n")
    assert len(list((project.root / ".postq" / "alerts").iterdir())) == 1


def test_watch_without_a_notify_channel_is_one_clear_sentence(project: Project) -> None:
    result = project.run("watch")
    assert result.exit_code == 1
    assert result.output == (f"error: {project.config}: notify.channel: is not set, so "
                             "`postq watch` has nobody to tell\n")


def test_check_help_names_the_exit_codes(project: Project) -> None:
    out = project.run("status", "--help").output
    assert "exit 0 (all well), 1" in out and "2 (deliveries due and no publisher alive)" in out


def test_stopped_publisher_is_shown_stopped_not_vanished(project: Project, tmp_path: Path) -> None:
    store = _store(project)
    store.retire_heartbeat("host:5", {"pid": 5, "stopped_at": "2026-12-01T09:00:00+00:00",
                                      "reason": "SIGTERM received"})
    store.close()
    (line,) = _publishers(project.run("status").output)
    assert line.startswith("host:5: stopped ") and line.endswith(": SIGTERM received")


def test_check_warns_about_tokens_running_out(project: Project) -> None:
    from tests.project import BASE_CONFIG

    today = datetime.now(load(project.config).zone).date()
    soon, gone = today + timedelta(days=5), today - timedelta(days=1)
    project.write_config(base=BASE_CONFIG.replace(
        '[channels.threads]\nadapter = "threads"',
        f'[channels.threads]\nadapter = "threads"\ntoken_expires = "{soon.isoformat()}"\n'
        f'[channels.linkedin]\nadapter = "linkedin"\ntoken_expires = {gone.isoformat()}\n'
        '[channels.far]\nadapter = "threads"\ntoken_expires = "2099-01-01"'))
    result = project.run("status", "--check")
    assert result.exit_code == 1
    assert result.output == (
        f"WARNING: channel linkedin: the access token expired on {gone.isoformat()}; renew it\n"
        f"WARNING: channel threads: the access token expires in 5 days ({soon.isoformat()}); "
        "renew it\n")
    from scheduler.ops.metrics import Metrics

    store = _store(project)
    metrics = Metrics(store, load(project.config))
    far = datetime(2099, 1, 1, tzinfo=UTC).timestamp()
    assert metrics.registry.get_sample_value(
        "postq_credential_expiry_timestamp_seconds", {"channel": "far"}) == far
    store.close()
