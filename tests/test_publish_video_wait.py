"""The publisher and a platform that takes long to process a video: attempts that end
"still processing" are not failures, and the same upload is asked about each time.

The adapter is a real :class:`Adapter` subclass whose "platform" keeps an upload in
processing for a set number of status asks; the publisher, its store (SQLite) and the
shared wait (:meth:`Adapter.await_processing`) are the real ones.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import VIDEO_WAIT_BUDGET, Adapter, OutgoingPost, Processing, Published
from scheduler.config import settings_from_dict
from scheduler.errors import TransientPublishError
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_publisher import T0, ScriptSettings, at, queue


class SlowPlatform(Adapter):
    """Uploads once, then needs ``asks_needed`` status asks before the video is ready."""

    platform = "mastodon"
    settings_model = ScriptSettings
    asks_needed: ClassVar[int] = 0
    asks: ClassVar[int] = 0
    uploads: ClassVar[int] = 0
    posts: ClassVar[int] = 0
    fail_once_after_ready: ClassVar[bool] = False

    def publish(self, post: OutgoingPost) -> Published:
        cls = type(self)
        if not self.progress(post).get("upload"):
            cls.uploads += 1
            self.remember(post, upload=f"u{cls.uploads}")

        def poll() -> Processing:
            cls.asks += 1
            return Processing("done") if cls.asks > cls.asks_needed else Processing("pending",
                                                                                    wait=10.0)

        self.await_processing(post, "video", poll, sleep=lambda s: None)
        if cls.fail_once_after_ready:
            cls.fail_once_after_ready = False
            raise TransientPublishError("502 from the platform")
        cls.posts += 1
        return Published(f"post-{cls.posts}")

    def check(self, post: OutgoingPost) -> Published | None:
        return None


def publisher(tmp_path: Path) -> tuple[Publisher, Store, FixedClock]:
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "retry_base": "30s", "max_attempts": 3,
                  "late_grace": "2h", "stale_after": "30s", "require_approval": False},
        "channels": {"social": {"adapter": "slow"}},
    }, tmp_path / "postq.toml")
    clock = FixedClock(T0 - timedelta(hours=1))
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock, user="author",
                  claim_clock=clock)
    registry = AdapterRegistry({"slow": SlowPlatform})
    return (Publisher(settings, store, registry=registry, clock=clock, worker="w1",
                      rng=random.Random(3)), store, clock)


def test_a_long_processing_outlasts_max_attempts_without_failing(tmp_path: Path) -> None:
    SlowPlatform.uploads = SlowPlatform.asks = SlowPlatform.posts = 0
    asks_per_call = int(VIDEO_WAIT_BUDGET // 10) + 1
    SlowPlatform.asks_needed = asks_per_call * 5  # five attempts end "still processing"
    pub, store, clock = publisher(tmp_path)
    env = {"store": store, "clock": clock}
    queue(env)
    moment, waits = T0, []
    for _ in range(6):
        at(env, moment)
        pub.tick(wait=True)
        (row,) = store.list_deliveries()
        if row.state != "retry_wait":
            break
        assert "still being processed" in (row.last_error or "")
        waits.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at
    assert row.state == "published" and row.attempts == 6
    assert SlowPlatform.uploads == 1 and SlowPlatform.posts == 1
    # Waiting is not failing: the back-off does not grow with each processing wait.
    assert max(waits) <= timedelta(seconds=30)


def test_other_failures_still_count(tmp_path: Path) -> None:
    """A processing wait does not hide real failures: three transient errors still end it."""
    SlowPlatform.uploads = SlowPlatform.asks = SlowPlatform.posts = 0
    SlowPlatform.asks_needed = int(VIDEO_WAIT_BUDGET // 10) + 1  # one wait, then ready
    pub, store, clock = publisher(tmp_path)
    env: dict[str, Any] = {"store": store, "clock": clock}
    queue(env)
    moment = T0
    outcomes = []
    for step in range(5):
        SlowPlatform.fail_once_after_ready = step > 0
        at(env, moment)
        pub.tick(wait=True)
        (row,) = store.list_deliveries()
        outcomes.append(row.state)
        if row.state != "retry_wait":
            break
        moment = row.next_attempt_at
    assert outcomes == ["retry_wait", "retry_wait", "retry_wait", "failed"]
    assert row.last_error == "gave up after 4 attempts: 502 from the platform"
    assert SlowPlatform.posts == 0
