"""postq retract through the outbox, the webhook and the pause switch: on the record."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.test_queue_cli_add import careers


def _no_approval(project: object) -> None:
    project.write_config("", base=project.config.read_text().replace(  # type: ignore[attr-defined]
        'data_dir = ".postq"', 'data_dir = ".postq"\nrequire_approval = false'))


def _publish(project: object, *paths: Path) -> None:
    run = project.run  # type: ignore[attr-defined]
    for path in paths:
        r = run("queue", "add", "--at", "+1s", str(path))
        assert r.exit_code == 0, r.stderr
    time.sleep(1.5)
    ran = run("run", "--once")
    assert ran.exit_code == 0, ran.stderr


def test_retract_moves_the_outbox_folder_with_the_reason_and_records_it(
        project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    _no_approval(project)
    _publish(project, careers(project))
    outbox = project.root / ".postq" / "outbox"  # type: ignore[attr-defined]
    (folder,) = [p for p in outbox.iterdir() if p.is_dir()]
    r = run("retract", "io", "--reason", "wrong closing date")
    assert r.exit_code == 0, r.stderr
    moved = outbox / "retracted" / folder.name
    assert r.stdout == f"retracted io@outbox: {folder.resolve().as_uri()}\n"
    assert not folder.exists() and (moved / "caption.txt").is_file()
    note = json.loads((moved / "retraction.json").read_text())
    assert note["reason"] == "wrong closing date"
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    assert [d["state"] for d in shown["deliveries"]] == ["retracted"]
    actions = [(e["action"], e["state_after"], e["reason"]) for e in shown["events"]]
    assert ("retract", "retracting", "wrong closing date") in actions
    assert actions[-1][:2] == ("retracted", "retracted")
    again = run("retract", "io", "--reason", "again")
    assert (again.exit_code, again.stderr) == (
        1, "error: nothing of 'io' is published, so nothing to retract (io@outbox "
           "retracted)\n")
