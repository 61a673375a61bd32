"""The publisher's decisions with an injected clock: retries, backoff, pauses, missed
deliveries, unknown outcomes, dry runs and failure notices.

The platform side is a scripted adapter (a real Adapter subclass passed in through the
registry object, as a plug-in would be), so every outcome can be chosen; the store is a
real SQLite file and the outbox writes real folders.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import Adapter, AdapterSettings, OutgoingPost, PlannedRequest, Published
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.config import settings_from_dict
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)
from scheduler.publish.backoff import retry_delay
from scheduler.publish.notify import attach
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_store_support import snap

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class ScriptSettings(AdapterSettings):
    token_env: str | None = None


class ScriptedAdapter(Adapter):
    """Answers each publish with the next scripted outcome; remembers what it was sent."""

    platform = "mastodon"
    settings_model = ScriptSettings
    script: ClassVar[list[Any]] = []
    sent: ClassVar[list[str]] = []
    remote: ClassVar[dict[str, Published]] = {}

    def publish(self, post: OutgoingPost) -> Published:
        type(self).sent.append(post.delivery_id)
        step = type(self).script.pop(0) if type(self).script else "ok"
        if step == "ok" or step == "ok-but-lost":
            result = Published(f"id-{len(type(self).sent)}", f"https://social.example/{post.post_id}")
            type(self).remote[post.delivery_id] = result
            if step == "ok-but-lost":
                raise OutcomeUnknown("connection reset after the request was sent")
            return result
        raise step

    def check(self, post: OutgoingPost) -> Published | None:
        return type(self).remote.get(post.delivery_id)

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        token = self.secret("token_env")
        return [PlannedRequest("POST", "https://social.example/api/statuses",
                               {"Authorization": f"Bearer {token}".replace(token, "***")},
                               {"status": post.caption})]


@pytest.fixture(autouse=True)
def _fresh_script() -> Iterator[None]:
    ScriptedAdapter.script = []
    ScriptedAdapter.sent = []
    ScriptedAdapter.remote = {}
    yield


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    settings = settings_from_dict({
        # These posts are queued without approval; the publisher applies its own
        # configuration at claim time, so it must waive approval too.
        "postq": {"data_dir": str(tmp_path / "data"), "retry_base": "30s", "max_attempts": 3,
                  "late_grace": "30m", "stale_after": "30s", "require_approval": False},
        "channels": {
            "outbox": {"adapter": "outbox", "path": str(tmp_path / "outbox")},
            "social": {"adapter": "scripted", "token_env": "POSTQ_TEST_TOKEN"},
            "other": {"adapter": "scripted"},
        },
    }, tmp_path / "postq.toml")
    clock = FixedClock(T0 - timedelta(hours=1))
    # One fake clock for the process and, standing in for it, the database.
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock, user="author",
                  claim_clock=clock)
    registry = AdapterRegistry({"outbox": OutboxAdapter, "scripted": ScriptedAdapter})
    publisher = Publisher(settings, store, registry=registry, clock=clock, worker="w1",
                          env={"POSTQ_TEST_TOKEN": "s3cr3t-token-value"}, rng=random.Random(7))
    return {"settings": settings, "clock": clock, "store": store, "publisher": publisher}


def queue(env: dict[str, Any], post_id: str = "io", channels: tuple[str, ...] = ("social",),
          due: datetime = T0, **kw: Any) -> None:
    env["store"].add(snap(post_id, channels, **kw), due_at=due, require_approval=False)


def states(env: dict[str, Any]) -> dict[str, str]:
    return {r.ref: r.state for r in env["store"].list_deliveries()}


def at(env: dict[str, Any], moment: datetime) -> None:
    env["clock"].at = moment
    env["store"].clock.at = moment


def test_nothing_goes_out_before_its_time(env: dict[str, Any]) -> None:
    queue(env)
    at(env, T0 - timedelta(seconds=1))
    assert env["publisher"].tick(wait=True) == 0
    at(env, T0)
    assert env["publisher"].tick(wait=True) == 1
    assert states(env) == {"io@social": "published"}


def test_transient_errors_retry_with_exponential_backoff(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [TransientPublishError("502 from the platform"),
                              TransientPublishError("502 again"), "ok"]
    queue(env)
    at(env, T0)
    env["publisher"].tick(wait=True)
    row = env["store"].list_deliveries()[0]
    assert row.state == "retry_wait" and row.attempts == 1
    first_wait = row.next_attempt_at - T0
    assert timedelta(seconds=15) <= first_wait <= timedelta(seconds=30)
    at(env, row.next_attempt_at - timedelta(seconds=1))
    assert env["publisher"].tick(wait=True) == 0
    at(env, row.next_attempt_at)
    env["publisher"].tick(wait=True)
    row2 = env["store"].list_deliveries()[0]
    second_wait = row2.next_attempt_at - row.next_attempt_at
    assert timedelta(seconds=30) <= second_wait <= timedelta(seconds=60)
    at(env, row2.next_attempt_at)
    env["publisher"].tick(wait=True)
    final = env["store"].list_deliveries()[0]
    assert final.state == "published" and final.attempts == 3
    assert len(ScriptedAdapter.sent) == 3


def test_retry_after_is_honoured(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [RateLimited("429 Too Many Requests", retry_after=900)]
    queue(env)
    at(env, T0)
    env["publisher"].tick(wait=True)
    row = env["store"].list_deliveries()[0]
    assert row.state == "retry_wait"
    assert row.next_attempt_at >= T0 + timedelta(seconds=900)


def test_attempts_used_up_means_failed(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [TransientPublishError("timeout")] * 3
    queue(env)
    moment = T0
    for _ in range(3):
        at(env, moment)
        env["publisher"].tick(wait=True)
        row = env["store"].list_deliveries()[0]
        moment = row.next_attempt_at or moment
    assert row.state == "failed"
    assert row.last_error == "gave up after 3 attempts: timeout"


def test_permanent_error_fails_at_once_and_other_channels_go_out(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [PermanentPublishError("duplicate status (506)")]
    queue(env, channels=("social", "outbox"))
    at(env, T0)
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "failed", "io@outbox": "published"}
    row = [r for r in env["store"].list_deliveries() if r.channel == "social"][0]
    assert row.last_error == "duplicate status (506)" and row.attempts == 1


def test_expired_token_fails_with_the_platform_message_and_no_secret(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [AuthError("token expired for s3cr3t-token-value")]
    queue(env)
    at(env, T0)
    env["publisher"].tick(wait=True)
    row = env["store"].list_deliveries()[0]
    assert row.state == "failed"
    assert row.last_error == "token expired for ***"


def test_paused_then_resumed_within_grace_goes_out(env: dict[str, Any]) -> None:
    queue(env)
    env["store"].pause(None, "incident")
    at(env, T0 + timedelta(minutes=5))
    assert env["publisher"].tick(wait=True) == 0
    assert states(env) == {"io@social": "scheduled"}
    env["store"].resume(None)
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "published"}


def test_paused_past_grace_is_missed_not_sent(env: dict[str, Any]) -> None:
    queue(env)
    env["store"].pause("social", "incident")
    at(env, T0 + timedelta(minutes=45))
    env["publisher"].tick(wait=True)
    env["store"].resume("social")
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "missed"}
    assert ScriptedAdapter.sent == []
    assert [o.state for o in env["publisher"].outcomes] == ["missed"]


def test_closing_date_passing_while_queued_means_missed(env: dict[str, Any]) -> None:
    closing = T0 + timedelta(minutes=10)
    queue(env, publish_before=closing)
    env["store"].pause(None, "hold")
    at(env, closing + timedelta(minutes=1))
    env["publisher"].tick(wait=True)
    env["store"].resume(None)
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "missed"}
    assert ScriptedAdapter.sent == []


def test_unknown_outcome_is_settled_by_asking_never_by_resending(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = ["ok-but-lost"]
    queue(env)
    at(env, T0)
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "needs_check"}
    env["publisher"].reconcile()
    row = env["store"].list_deliveries()[0]
    assert row.state == "published" and row.remote_url == "https://social.example/io"
    assert len(ScriptedAdapter.sent) == 1


def test_unknown_outcome_not_on_platform_is_queued_again(env: dict[str, Any]) -> None:
    ScriptedAdapter.script = [OutcomeUnknown("read timed out")]
    queue(env)
    at(env, T0)
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "needs_check"}
    env["publisher"].reconcile()  # check() says: not there -> scheduled again, now
    env["publisher"].tick(wait=True)
    assert states(env) == {"io@social": "published"}
    assert len(ScriptedAdapter.sent) == 2


def test_crashed_publisher_delivery_is_settled_after_stale_after(env: dict[str, Any]) -> None:
    queue(env)
    at(env, T0)
    store = env["store"]
    claimed = store.claim_due(T0, worker="dead-worker")
    ScriptedAdapter.remote[claimed[0].id] = Published("id-x", "https://social.example/io")
    store.heartbeat("dead-worker", {})
    at(env, T0 + timedelta(seconds=10))
    env["publisher"].reconcile()
    assert states(env) == {"io@social": "publishing"}  # its publisher may still be alive
    at(env, T0 + timedelta(seconds=45))
    env["publisher"].reconcile()
    assert states(env) == {"io@social": "published"}
    assert ScriptedAdapter.sent == []
    trail = [(e.who, e.state_before, e.state_after) for e in store.events("io")][-2:]
    assert trail == [("w1", "publishing", "needs_check"), ("w1", "needs_check", "published")]


def test_dry_run_plans_without_changing_anything(env: dict[str, Any]) -> None:
    queue(env, channels=("social", "outbox"))
    at(env, T0)
    before = states(env)
    plans = env["publisher"].plan_due()
    assert states(env) == before
    assert {row.ref for row, _post, _reqs in plans} == {"io@social", "io@outbox"}
    social = [reqs for row, _p, reqs in plans if row.channel == "social"][0]
    dumped = json.dumps([r.as_dict() for r in social])
    assert "s3cr3t-token-value" not in dumped and "Bearer ***" in dumped
    assert ScriptedAdapter.sent == []
    assert not (Path(env["settings"].channels["outbox"].extras()["path"])).exists()


def test_failure_notice_goes_to_the_notify_channel(env: dict[str, Any], tmp_path: Path) -> None:
    settings = settings_from_dict({
        **{k: v for k, v in env["settings"].model_dump().items() if k not in ("path",)},
        "notify": {"channel": "outbox"},
    }, tmp_path / "postq.toml")
    publisher = Publisher(settings, env["store"], registry=env["publisher"].registry,
                          clock=env["clock"], worker="w2", env={"POSTQ_TEST_TOKEN": "x" * 8})
    attach(publisher)
    ScriptedAdapter.script = [PermanentPublishError("image rejected: aspect ratio")]
    queue(env)
    at(env, T0)
    publisher.tick(wait=True)
    notices = [p for p in (tmp_path / "outbox").iterdir()]
    assert len(notices) == 1
    text = (notices[0] / "caption.txt").read_text(encoding="utf-8")
    assert text == "postq: delivery io@social FAILED: image rejected: aspect ratio"


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 20])
def test_backoff_bounds(attempt: int) -> None:
    base = timedelta(seconds=30)
    rng = random.Random(attempt)
    for _ in range(50):
        delay = retry_delay(attempt, base, None, rng)
        full = min(base * 2 ** (attempt - 1), timedelta(hours=1))
        assert full / 2 <= delay <= full


def test_a_claim_taken_over_meanwhile_is_never_sent(env: dict[str, Any]) -> None:
    queue(env)
    at(env, T0)
    store, publisher = env["store"], env["publisher"]
    [row] = store.claim_due(T0, worker="w1")
    # Another publisher judged w1 dead, found nothing on the platform and queued it again.
    store.mark_needs_check(row.id, "publisher w1 stopped mid-call", who="w2")
    store.settle_not_published(row.id, T0, who="w2")
    [again] = store.claim_due(T0, worker="w2")
    outcome = publisher.publish_one(row)
    assert outcome.state == "taken_over"
    assert ScriptedAdapter.sent == []
    assert store.get_delivery(again.id).state == "publishing"


def test_idle_tick_takes_no_write_lock(env: dict[str, Any]) -> None:
    import sqlite3

    queue(env, due=T0 + timedelta(hours=1))
    at(env, T0)
    path = env["settings"].database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, timeout=0.1)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        assert env["publisher"].tick(wait=True) == 0  # a read only: not blocked
    finally:
        blocker.rollback()
        blocker.close()
