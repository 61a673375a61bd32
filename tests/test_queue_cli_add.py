"""``postq queue add`` end to end: real post files, real renders, one transaction."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from scheduler.timeutil import get_zone, localize

LONDON = get_zone("Europe/London")


def _pipeline_ready() -> bool:
    if importlib.util.find_spec("scheduler.content.pipeline") is None:
        return False
    import scheduler.media

    return hasattr(scheduler.media, "render_image")


pytestmark = pytest.mark.skipif(not _pipeline_ready(), reason="content pipeline not available")


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


PUBLISH = f"{day(5)} 09:00"
CLOSING = day(12)


def local(moment: datetime) -> str:
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def careers(project: object, post_id: str = "io", channels: str = "[outbox]",
            body: str = "Join us.") -> Path:
    return project.careers(  # type: ignore[attr-defined]
        f"{post_id}.md", post_id, **{
            "2026-12-01 09:00": PUBLISH, "2026-12-14": CLOSING, "[outbox]": channels,
            "Join us.": body,
        })


def media_files(project: object) -> list[Path]:
    root = project.root / ".postq" / "media"  # type: ignore[attr-defined]
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def fails_with(result: object, message: str) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (  # type: ignore[attr-defined]
        1, "", f"error: {message}\n")


def test_queue_approve_edit_and_replace(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = careers(project, channels="[outbox, bluesky]")
    due = local(localize(datetime.fromisoformat(PUBLISH), LONDON))
    r = run("queue", "add", str(path), env={"POSTQ_USER": "alice"})
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (f"queued io@bluesky for {due} (awaiting approval)\n"
                        f"queued io@outbox for {due} (awaiting approval)\n")
    assert "warning: channel 'bluesky' is not ready" in r.stderr
    assert len(media_files(project)) == 2  # one render per platform size
    before = json.loads(run("queue", "show", "io", "--json").stdout)
    assert run("approve", "io", env={"POSTQ_USER": "bob"}).exit_code == 0

    # Editing the file after approval changes nothing that is queued.
    careers(project, channels="[outbox, bluesky]", body="Join us. Edited after approval.")
    after = json.loads(run("queue", "show", "io", "--json").stdout)
    assert after["content_hash"] == before["content_hash"]
    assert [d["caption"] for d in after["deliveries"]] == [
        d["caption"] for d in before["deliveries"]]
    assert {d["state"] for d in after["deliveries"]} == {"scheduled"}
    fails_with(run("queue", "add", str(path)),
               "post 'io' is already queued; use --replace to queue this version instead")

    # --replace queues the new version and voids the approval.
    r = run("queue", "add", str(path), "--replace", env={"POSTQ_USER": "alice"})
    assert r.exit_code == 0, r.stderr
    new = json.loads(run("queue", "show", "io", "--json").stdout)
    assert new["revision"] == 2 and new["approval"]["approved"] is False
    assert new["content_hash"] != before["content_hash"]
    assert all("Edited after approval." in d["caption"] for d in new["deliveries"])
    assert {d["state"] for d in new["deliveries"]} == {"awaiting_approval"}
    actions = [e["action"] for e in new["events"]]
    assert actions.count("replace") == 2 and actions[-2:] == ["queue", "queue"]


def test_at_next_slot_and_time_errors(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = careers(project)
    fails_with(run("queue", "add", str(path), "--at", "2020-01-06 09:00"),
               "cannot queue 'io' for 2020-01-06 09:00 GMT: that time is in the past")
    late = localize(datetime.combine(datetime.fromisoformat(CLOSING), time(9, 0)), LONDON)
    closes = localize(datetime.fromisoformat(CLOSING), LONDON)
    fails_with(run("queue", "add", str(path), "--at", f"{CLOSING} 09:00"),
               f"cannot queue 'io' for {local(late)}: it must be out before {local(closes)} "
               f"(closing date {CLOSING})")
    both = run("queue", "add", str(path), "--at", "+2h", "--next-slot")
    assert both.exit_code == 2 and "give either --at or --next-slot" in both.stderr
    assert run("queue", "list", "--json").stdout.count("delivery_id") == 0
    r = run("queue", "add", str(path), "--next-slot")
    assert r.exit_code == 0, r.stderr
    (d,) = json.loads(run("queue", "list", "--json").stdout)["deliveries"]
    due = datetime.fromisoformat(d["due_at"]).astimezone(LONDON)
    assert due.strftime("%H:%M") in ("09:00", "12:30", "17:00") and due.weekday() < 5


def test_one_bad_file_queues_nothing(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    good = careers(project, "good")
    bad = careers(project, "bad", body="Join us. TOP SECRET.")
    r = run("queue", "add", str(good), str(bad))
    assert r.exit_code == 1 and r.stdout == ""
    assert "TOP SECRET" in r.stderr or "deny" in r.stderr.lower()
    assert "Traceback" not in r.stderr
    assert json.loads(run("queue", "list", "--json").stdout)["deliveries"] == []
    assert media_files(project) == []
