"""Queueing a post that is already published: say so, and only --republish sends it again."""

from __future__ import annotations

import json
import time
from datetime import datetime

from tests.test_queue_cli_add import LONDON, careers


def test_a_published_post_is_not_queued_again_without_republish(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    project.write_config("", base=project.config.read_text().replace(  # type: ignore[attr-defined]
        'data_dir = ".postq"', 'data_dir = ".postq"\nrequire_approval = false'))
    path = careers(project)
    assert run("queue", "add", "--at", "+1s", str(path)).exit_code == 0
    time.sleep(1.5)
    ran = run("run", "--once")
    assert ran.exit_code == 0, ran.stderr
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    (delivery,) = shown["deliveries"]
    assert delivery["state"] == "published"
    url = delivery["remote_url"]
    assert url.startswith("file://")
    at = datetime.fromisoformat(delivery["published_at"]).astimezone(LONDON)

    for extra in ((), ("--replace",)):
        r = run("queue", "add", *extra, str(path))
        assert (r.exit_code, r.stderr) == (1, (
            f"error: post 'io' was already published on outbox on "
            f"{at:%Y-%m-%d %H:%M %Z} at {url}; use --republish to publish it again\n"))

    r = run("queue", "add", "--republish", "--at", "+2h", str(path))
    assert r.exit_code == 0, r.stderr
    # The published revision stays visible next to the new one.
    listed = json.loads(run("queue", "list", "--json").stdout)["deliveries"]
    assert [(d["revision"], d["state"]) for d in listed] == [(1, "published"), (2, "scheduled")]
    published = json.loads(run("queue", "list", "--state", "published", "--json").stdout)
    assert [d["remote_url"] for d in published["deliveries"]] == [url]
    text = run("queue", "show", "io").stdout
    assert "[outbox] (revision 1) published, due" in text
    assert f"  published on {at:%a %d %b %Y %H:%M %Z} at {url}" in text
