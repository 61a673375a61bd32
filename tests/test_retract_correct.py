"""``queue add --correct``: the published version comes down at once, the corrected one
waits for a second person's approval, and both are linked in ``queue show`` and the trail."""

from __future__ import annotations

import json
import time

from tests.test_queue_cli_add import careers

WRITER = {"POSTQ_USER": "writer"}
CHECKER = {"POSTQ_USER": "checker"}


def test_a_corrected_post_goes_through_approval(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = careers(project, body="Apply by 14 November.")
    assert run("queue", "add", "--at", "+1s", str(path), env=WRITER).exit_code == 0
    assert run("approve", "io", env=CHECKER).exit_code == 0
    time.sleep(1.5)
    assert run("run", "--once", env=CHECKER).exit_code == 0
    first = json.loads(run("queue", "show", "io", "--json").stdout)["deliveries"][0]
    assert first["state"] == "published"

    careers(project, body="Apply by 14 December.")
    r = run("queue", "add", "--correct", "--at", "+1s", str(path), env=WRITER)
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("queued io@outbox for ")
    assert lines[0].endswith(" (revision 2, awaiting approval)")
    assert lines[1:] == [f"retracted io@outbox: {first['remote_url']} (revision 1)"]

    time.sleep(1.5)
    held = run("run", "--once", env=CHECKER)
    assert "Nothing was due." in held.stdout  # not approved yet: nothing goes out
    assert run("approve", "io", env=WRITER).exit_code == 1  # not your own
    assert run("approve", "io", env=CHECKER).exit_code == 0
    ran = run("run", "--once", env=CHECKER)
    assert ran.exit_code == 0, ran.stderr
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    assert [(d["revision"], d["state"]) for d in shown["deliveries"]] == [
        (1, "retracted"), (2, "published")]
    second = shown["deliveries"][1]
    assert second["caption"].startswith("Apply by 14 December.")
    outbox = project.root / ".postq" / "outbox"  # type: ignore[attr-defined]
    live = [p for p in outbox.iterdir() if p.name != "retracted"]
    assert [(p / "caption.txt").read_text() for p in live] == [second["caption"]]
    events = [(e["action"], e["reason"]) for e in shown["events"]]
    assert ("retract", "corrected by revision 2") in events
    assert (f"revision 2 corrects io@outbox (revision 1, {first['remote_url']}); it needs "
            "approval") in [reason for action, reason in events if action == "correct"]
    text = run("queue", "show", "io").stdout
    assert "[outbox] (revision 1) retracted" in text
    assert "corrected by revision 2" in text


def test_correct_needs_something_published(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = careers(project)
    assert run("queue", "add", str(path), env=WRITER).exit_code == 0
    r = run("queue", "add", "--correct", str(path), env=WRITER)
    assert (r.exit_code, r.stderr) == (1, "error: post 'io' has nothing published to "
                                          "correct; queue it with --replace instead\n")
