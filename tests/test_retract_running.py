"""A retraction while ``postq run`` is running: the publisher carries out what is asked,
and a ``postq retract`` beside it never makes the delete happen twice."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tests.publish_support import PublisherProcess, make_rig, queue_posts, wait_until


def _states(rig) -> dict[str, str]:
    store = rig.store()
    try:
        return {r.post_id: r.state for r in store.list_deliveries()}
    finally:
        store.close()


def test_retract_while_the_publisher_is_running(tmp_path) -> None:
    rig = make_rig(tmp_path / "rig", channels=("out",), adapter="outbox")
    queue_posts(rig, [datetime.now(UTC) + timedelta(seconds=2)] * 2)
    publisher = PublisherProcess(rig).start()
    try:
        assert wait_until(lambda: set(_states(rig).values()) == {"published"}, 30), \
            publisher.stderr()
        # Asked in the store only: the running publisher takes it down on its next tick.
        store = rig.store()
        store.request_retract("p0000", "wrong date")
        store.close()
        assert wait_until(lambda: _states(rig)["p0000"] == "retracted", 30), publisher.stderr()
        # Asked on the command line while the publisher runs: one of the two does it, once.
        done = subprocess.run(
            [sys.executable, "-m", "scheduler", "--config", str(rig.config), "retract",
             "p0001", "--reason", "wrong date"], cwd=rig.root, env=rig.env(),
            capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert wait_until(lambda: _states(rig)["p0001"] == "retracted", 30), publisher.stderr()
    finally:
        publisher.stop()
    retracted = sorted(p.name.split("_", 1)[1] for p in (rig.outbox / "retracted").iterdir())
    assert retracted == ["p0000@out", "p0001@out"]
    assert [p.name for p in rig.outbox.iterdir()] == ["retracted"]
    store = rig.store()
    for post_id in ("p0000", "p0001"):
        actions = [e.action for e in store.events(post_id)]
        assert actions.count("claim_retract") == 1, actions
        assert actions[-1] == "retracted"
    store.close()
