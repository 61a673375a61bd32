"""``postq run --once`` from a shell loop, as cron runs it, against platforms that misbehave.

Each run is a real ``python -m scheduler`` process against a real project and a platform
stand-in (:mod:`tests.fakes`) on 127.0.0.1:

* X answers 503 *after* creating the post, and its timeline lags behind: the runs ask
  before sending again, and the delivery ends ``published`` with one post;
* LinkedIn refuses the configured version (426 ``NONEXISTENT_VERSION``): the run says so in
  one sentence, with no traceback, and the delivery fails without a second call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.fakes import FakeLinkedIn, FakeX
from tests.project import Project

TOKEN = "tok-Cron-Recognisable-91b2c3"


def run_once(project: Project, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", "--config", str(project.config), "run", "--once"],
        cwd=project.root, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def queue_and_approve(project: Project, env: dict[str, str]) -> None:
    added = project.run("queue", "add", "posts/io.md", "--at", "+1s",
                        env={**env, "POSTQ_USER": "alice"})
    assert added.exit_code == 0, added.output
    approved = project.run("approve", "io", env={**env, "POSTQ_USER": "bob"})
    assert approved.exit_code == 0, approved.output
    time.sleep(1.2)


def states(project: Project) -> dict[str, str]:
    listing = project.run("queue", "list", "--json")
    return {f"{d['post_id']}@{d['channel']}": d["state"]
            for d in json.loads(listing.stdout)["deliveries"]}


def test_503_after_the_post_was_created_ends_published_once(project: Project, local_server,
                                                           ) -> None:
    fake = FakeX(local_server, TOKEN, now=datetime.now(UTC))
    fake.listing_lag = 1.5
    project.write_config(f'''
        [channels.xx]
        adapter = "x"
        token_env = "POSTQ_X_TOKEN"
        base_url = "{local_server.base_url}"
    ''')
    project.careers(**{"publish_at: 2026-12-01 09:00\n": "", "channels: [outbox]":
                       "channels: [xx]"})
    env = {"POSTQ_X_TOKEN": TOKEN}
    queue_and_approve(project, env)
    fake.fail_next("gateway")
    outputs = []
    for _ in range(8):
        done = run_once(project, env)
        outputs.append(done.stdout + done.stderr)
        if states(project) == {"io@xx": "published"}:
            break
        time.sleep(0.5)
    shown = "\n---\n".join(outputs)
    assert states(project) == {"io@xx": "published"}, shown
    assert len(fake.tweets) == 1
    assert fake.publish_calls == 1, "asked, never sent again"
    assert "Traceback" not in shown and TOKEN not in shown
    assert "io@xx: needs_check" in outputs[0]
    assert "answered 503" in outputs[0]
    assert len(outputs) >= 2  # settled by a later run, after the listing caught up


def test_a_refused_linkedin_version_is_one_sentence(project: Project, local_server,
                                                    tmp_path: Path) -> None:
    fake = FakeLinkedIn(local_server, TOKEN)
    fake.now = datetime(2027, 8, 2, tzinfo=UTC)  # the server no longer serves 202607
    project.write_config(f'''
        [channels.li]
        adapter = "linkedin"
        token_env = "POSTQ_LI_TOKEN"
        organization = "2414183"
        base_url = "{local_server.base_url}"
    ''')
    project.careers(**{"publish_at: 2026-12-01 09:00\n": "", "channels: [outbox]":
                       "channels: [li]"})
    env = {"POSTQ_LI_TOKEN": TOKEN}
    queue_and_approve(project, env)
    first = run_once(project, env)
    second = run_once(project, env)
    sentence = ("LinkedIn-Version 202607 is no longer served; set `version` in "
                "[channels.li] to a current YYYYMM, as listed at "
                "https://learn.microsoft.com/en-us/linkedin/marketing/versioning")
    assert "Traceback" not in first.stderr + second.stdout + second.stderr
    assert first.stdout == f"io@li: failed ({sentence})\n"
    # The publisher's log (stderr) has the same sentence once, as the 'failed' event.
    events = [line.split(" ", 2)[2] for line in first.stderr.splitlines()]
    assert f"io@li failed: {sentence}" in events
    assert sum(sentence in e for e in events) == 1
    assert first.returncode == 1
    assert states(project) == {"io@li": "failed"}
    assert not fake.posts and fake.publish_calls == 0
