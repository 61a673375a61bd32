"""The queue commands as staff use them: exact messages, exit codes, JSON shapes.

Posts are seeded through the store (the snapshot a real ``queue add`` makes), then the
commands run against the same project folder and database.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from scheduler.config import load_settings
from scheduler.store import Store
from scheduler.timeutil import get_zone, localize
from tests.test_store_support import snap

LONDON = get_zone("Europe/London")


def local(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def nine_am(days: int) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date()
    return localize(datetime.combine(day, time(9, 0)), LONDON)


DUE = nine_am(3)
CLOSES = nine_am(10).replace(hour=0)


def store_as(project: object, user: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setenv("POSTQ_USER", user)
    return Store.open(load_settings(project.config))  # type: ignore[attr-defined]


@pytest.fixture
def seeded(project: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """'io' queued by alice on outbox and x, closing in ten days."""
    store = store_as(project, "alice", monkeypatch)
    store.add(snap("io", ("outbox", "x"), publish_before=CLOSES), due_at=DUE)
    monkeypatch.delenv("POSTQ_USER")
    return project


def fails_with(result: object, message: str) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (  # type: ignore[attr-defined]
        1, "", f"error: {message}\n")


def test_every_bad_input_is_one_clear_sentence(seeded: object) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    fails_with(run("queue", "show", "nope"), "no queued post has the id 'nope'")
    fails_with(run("approve", "nope"), "no queued post has the id 'nope'")
    fails_with(run("queue", "cancel", "io@bluesky"),
               "post 'io' is not queued on channel 'bluesky' (it is on outbox, x)")
    fails_with(run("queue", "reschedule", "io", "--at", "2027-02-30 09:00"),
               "2027-02-30 is not a date on the calendar")
    fails_with(run("queue", "reschedule", "io", "--at", "next week"),
               "'next week' is not a time; write '2026-12-01 09:00', an ISO-8601 time with "
               "an offset, '+2h' or 'tomorrow 09:00'")
    fails_with(run("queue", "reschedule", "io", "--at", "2020-01-06 09:00"),
               "cannot move 'io' to 2020-01-06 09:00 GMT: that time is in the past")
    late = CLOSES + timedelta(hours=9)
    fails_with(run("queue", "reschedule", "io@x", "--at", late.isoformat()),
               f"cannot move 'io@x' to {local(late)}: it must be out before "
               f"{local(CLOSES)} (closing date)")
    fails_with(run("queue", "list", "--state", "done"),
               "'done' is not a delivery state (states: awaiting_approval, scheduled, "
               "publishing, published, retry_wait, failed, needs_check, cancelled, missed, "
               "retracting, retracted, retract_failed, retract_manual)")
    fails_with(run("resume"), "publishing is not paused everywhere; name a channel with "
                              "--channel to lift a channel's pause")
    fails_with(run("queue", "retry", "io"),
               "'io' cannot be retried: only failed or needs_check deliveries can")


def test_a_time_in_the_spring_gap_is_refused(seeded: object) -> None:
    fails_with(seeded.run("queue", "reschedule", "io", "--at", "2027-03-28 01:30"),  # type: ignore[attr-defined]
               "2027-03-28 01:30 does not exist in Europe/London (the clocks go forward); "
               "use 00:30 or 02:30")


def test_cancelling_a_published_delivery(seeded: object, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_as(seeded, "bob", monkeypatch)
    store.approve("io")
    (a, b) = store.claim_due(DUE, worker="w1")
    store.mark_published(a.id, "1", "https://example.org/1")
    store.mark_retry(b.id, "503 from the platform", DUE + timedelta(minutes=5))
    fails_with(seeded.run("queue", "cancel", "io@outbox"),  # type: ignore[attr-defined]
               "io@outbox cannot be cancelled: it is already published")
    ok = seeded.run("queue", "cancel", "io")  # type: ignore[attr-defined]
    assert (ok.exit_code, ok.stdout) == (0, "cancelled io@x\n")


def test_the_author_cannot_approve_but_a_colleague_can(seeded: object) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    fails_with(run("approve", "io", env={"POSTQ_USER": "alice"}),
               "you queued 'io' yourself; someone else must approve it")
    ok = run("approve", "io", env={"POSTQ_USER": "bob"})
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout == f"approved io@outbox, due {local(DUE)}\napproved io@x, due {local(DUE)}\n"
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    assert shown["approval"] == {"required": True, "approved": True, "by": "bob",
                                 "at": shown["approval"]["at"],
                                 "content_hash": shown["content_hash"]}
    fails_with(run("reject", "nope", "--reason", "x"), "no queued post has the id 'nope'")
    rej = run("reject", "io", "--reason", "salary is wrong", env={"POSTQ_USER": "carol"})
    assert rej.stdout == "rejected io@outbox\nrejected io@x\n"


def test_list_and_show(seeded: object) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    table = run("queue", "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["DUE", "POST", "CHANNEL", "STATE", "TRIES", "NOTE"]
    assert lines[1].split()[:6] == [*local(DUE).split(), "io", "outbox", "awaiting"]
    data = json.loads(run("queue", "list", "--json", "--channel", "x").stdout)
    assert data["pauses"] == []
    (d,) = data["deliveries"]
    assert set(d) == {"delivery_id", "post_id", "channel", "adapter", "revision", "state",
                      "due_at", "next_attempt_at", "attempts", "remote_id", "remote_url",
                      "last_error", "published_at", "reminder"}
    assert (d["delivery_id"], d["state"], datetime.fromisoformat(d["due_at"])) == (
        "io@x#r1", "awaiting_approval", DUE)
    assert len(json.loads(run("queue", "list", "--json", "--limit", "1").stdout)
               ["deliveries"]) == 1
    shown = run("queue", "show", "io")
    assert "[outbox] awaiting approval" in shown.stdout
    assert "    Join us. (x)" in shown.stdout
    assert "history:" in shown.stdout
    full = json.loads(run("queue", "show", "io", "--json").stdout)
    media = full["deliveries"][0]["media"][0]
    assert Path(media["path"]).is_file() and media["alt"] == "A desk with case notes."
    assert [e["action"] for e in full["events"]] == ["queue", "queue"]


def test_pause_shows_in_status_and_list(seeded: object, monkeypatch: pytest.MonkeyPatch) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    fails_with(run("pause", "--channel", "nope", "--reason", "x"),
               f"{seeded.config}: channels.nope: no channel 'nope' is configured")  # type: ignore[attr-defined]
    p = run("pause", "--channel", "x", "--reason", "account locked", env={"POSTQ_USER": "bob"})
    assert (p.exit_code, p.stdout) == (0, "paused channel x: account locked\n")
    listing = run("queue", "list").stdout
    assert listing.startswith("channel x paused by bob at ")
    assert listing.rstrip().endswith("paused")
    store_as(seeded, "w", monkeypatch).heartbeat("publisher@host", {"pid": 1})
    status = run("status").stdout
    assert "channel x paused by bob" in status and "account locked" in status
    assert "  awaiting_approval  2" in status
    assert "publisher@host: alive" in status
    js = json.loads(run("status", "--json").stdout)
    assert js["counts"]["awaiting_approval"] == 2 and js["publishers"][0]["alive"] is True
    r = run("resume", "--channel", "x")
    assert r.stdout == "resumed channel x\n"
    assert "not paused" in run("status").stdout


def test_retry_asks_before_resending_an_unknown_outcome(
    seeded: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = store_as(seeded, "bob", monkeypatch)
    store.approve("io")
    a, b = store.claim_due(DUE, worker="w1")
    store.mark_needs_check(a.id, "connection cut")
    store.mark_failed(b.id, "rejected")
    run = seeded.run  # type: ignore[attr-defined]
    fails_with(run("queue", "retry", "io@outbox"),
               "io@outbox needs a check: it may already be on outbox; look there first, "
               "then retry with --yes")
    assert run("queue", "retry", "io@x").stdout == "io@x will be retried\n"
    assert run("queue", "retry", "io@outbox", "--yes").stdout == "io@outbox will be retried\n"


def test_log_and_csv(seeded: object) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    run("approve", "io", env={"POSTQ_USER": "bob"})
    rows = list(csv.DictReader(io.StringIO(run("log", "io", "--csv").stdout)))
    assert [(r["who"], r["action"], r["channel"], r["state_before"], r["state_after"])
            for r in rows] == [
        ("alice", "queue", "outbox", "", "awaiting_approval"),
        ("alice", "queue", "x", "", "awaiting_approval"),
        ("bob", "approve", "outbox", "awaiting_approval", "scheduled"),
        ("bob", "approve", "x", "awaiting_approval", "scheduled"),
    ]
    assert datetime.fromisoformat(rows[0]["at"]).utcoffset() == timedelta(0)
    text = run("log").stdout.splitlines()
    assert text[0].split() == ["WHEN", "WHO", "WHAT", "WHICH", "STATE", "WHY"]
    fails_with(run("log", "nope"), "no queued post has the id 'nope'")


def test_calendar_grid_and_html(seeded: object, tmp_path: Path) -> None:
    run = seeded.run  # type: ignore[attr-defined]
    out = tmp_path / "cal" / "calendar.html"
    out.parent.mkdir()
    r = run("calendar", "--weeks", "2", env={"COLUMNS": "120"})
    assert r.exit_code == 0, r.stderr
    assert f"?{DUE.astimezone(LONDON):%H:%M} outbox" in r.stdout
    r = run("calendar", "--weeks", "2", "--html", str(out))
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out} (")  # the page only, not the grid as well
    page = out.read_text(encoding="utf-8")
    src = page.split("<img src='", 1)[1].split("'", 1)[0]
    assert src.startswith("data:image/jpeg;base64,")


def test_slots_lists_free_slots(seeded: object) -> None:
    r = seeded.run("slots", "--next", "3", "--channel", "outbox")  # type: ignore[attr-defined]
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and all(line.endswith("free: outbox") for line in lines)
    assert local(DUE) not in r.stdout  # taken by io, and min_gap keeps 09:00 +- 2h free
