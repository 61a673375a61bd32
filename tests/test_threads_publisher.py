"""A thread through the real publisher and store on a real Bluesky PDS: the attempt that
fails after part two leaves parts one and two in the delivery's remote_state; the next
pass (a new process, as cron's next run --once) publishes part three only; retracting the
delivery deletes all three records."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import OutgoingPost
from scheduler.adapters.bluesky import BlueskyAdapter, record_key
from scheduler.config import settings_from_dict
from scheduler.errors import TransientPublishError
from scheduler.platforms import THREAD_SEPARATOR
from scheduler.publish.retract import retract_now
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_adapter_bluesky import get_record, list_rkeys
from tests.test_store_support import snap

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PARTS = ["First of three: life as an officer #SecurityCareers",
         "Second: training at https://www.example.gov.uk/careers/training",
         "Third: apply at https://www.example.gov.uk/careers"]


class FlakyBluesky(BlueskyAdapter):
    """Bluesky whose connection drops before part three, on the first pass only."""

    fail_part_three = True

    def _publish_one(self, post: OutgoingPost) -> Any:
        if post.part == 3 and FlakyBluesky.fail_part_three:
            raise TransientPublishError("connection reset before part three")
        return super()._publish_one(post)


def test_resume_at_part_three_then_retract_every_part(bsky_peer: Any, tmp_path: Path) -> None:
    FlakyBluesky.fail_part_three = True
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "require_approval": False,
                  "retry_base": "30s", "max_attempts": 5, "late_grace": "30m"},
        "policy": {"link_hosts": ["www.example.gov.uk"]},
        "channels": {"bsky": {"adapter": "bluesky", "service": bsky_peer.base_url,
                              "handle": bsky_peer.info["BSKY_HANDLE"],
                              "password_env": "BSKY_PW"}},
    }, tmp_path / "postq.toml")
    clock = FixedClock(T0 - timedelta(hours=1))
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock,
                  user="author", claim_clock=clock)
    store.add(snap("thread", ("bsky",), caption=THREAD_SEPARATOR.join(PARTS), images=()),
              due_at=T0, require_approval=False)
    clock.at = T0
    env = {"BSKY_PW": bsky_peer.info["BSKY_PASSWORD"]}

    def publisher() -> Publisher:
        return Publisher(settings, store, registry=AdapterRegistry({"bluesky": FlakyBluesky}),
                         clock=clock, worker="w1", env=env, rng=random.Random(5))

    before = set(list_rkeys(bsky_peer))
    first = publisher()
    [outcome] = first.run_once()
    first.close()
    assert outcome.state == "retry_wait", outcome.detail
    [row] = store.list_deliveries()
    assert len(row.remote_state["thread"]) == 2
    FlakyBluesky.fail_part_three = False
    clock.advance(timedelta(minutes=5))
    second = publisher()
    [outcome] = second.run_once()
    second.close()
    assert outcome.state == "published"
    [row] = store.list_deliveries()
    keys = [record_key(k) for k in (row.id, f"{row.id}+2", f"{row.id}+3")]
    assert set(list_rkeys(bsky_peer)) - before == set(keys)  # each part exactly once
    assert row.remote_id == row.remote_state["thread"][0]["id"]
    three = get_record(bsky_peer, keys[2]).json()["value"]
    assert three["text"] == f"{PARTS[2]} (bsky)"  # snap() names the channel at the end
    assert three["reply"]["parent"]["uri"] == row.remote_state["thread"][1]["id"]

    asked = store.request_retract("thread@bsky", "withdrawn", cancel_open=False)
    retract_now(settings, store, [r.id for r in asked],
                registry=AdapterRegistry({"bluesky": FlakyBluesky}), clock=clock, env=env)
    [row] = store.list_deliveries()
    assert row.state == "retracted"
    assert [get_record(bsky_peer, k).status_code for k in keys] == [400, 400, 400]
