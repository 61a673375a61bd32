"""Claims sized by the channels' pace: a fast channel's backlog is claimed in large
batches, a slow or untimed one in the publisher's plain batch, and every delivery still
goes out once. Real SQLite file, real outbox folders."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import OutgoingPost, Published
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.config import settings_from_dict
from scheduler.publish.pace import HORIZON_S, MOST, ClaimPacer
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_store_support import snap

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Unhurried(OutboxAdapter):
    """The outbox taking 60 ms a call, as a platform across a network might."""

    settings_model = OutboxAdapter.settings_model

    def publish(self, post: OutgoingPost) -> Published:
        time.sleep(0.06)
        return super().publish(post)


def test_each_channel_gets_what_it_publishes_in_the_horizon() -> None:
    pacer = ClaimPacer(10)
    assert pacer.claim_sizes([]) == {}
    assert pacer.claim_sizes(["a"]) == {"a": 10}  # never timed: may be a slow platform
    pacer.timed("a", 0.002)
    pacer.timed("mid", 0.02)
    pacer.timed("slow", 1.5)
    assert pacer.claim_sizes(["a", "b", "mid", "slow"]) == {
        "a": MOST, "b": 10, "mid": int(HORIZON_S / 0.02), "slow": 10}


def test_pace_follows_recent_calls_without_jumping() -> None:
    pacer = ClaimPacer(10)
    for _ in range(20):
        pacer.timed("a", 0.002)
    pacer.timed("a", 0.05)  # one call 25x slower moves the pace a fifth of the way
    assert pacer.claim_sizes(["a"]) == {"a": int(HORIZON_S / (0.002 + 0.2 * 0.048))}  # 43
    for _ in range(40):
        pacer.timed("a", 0.01)
    assert int(HORIZON_S / 0.0101) <= pacer.claim_sizes(["a"])["a"] <= int(HORIZON_S / 0.01)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Any]:
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "late_grace": "30m",
                  "stale_after": "30s", "require_approval": False},
        "channels": {"fast": {"adapter": "outbox", "path": str(tmp_path / "fast")},
                     "slow": {"adapter": "unhurried", "path": str(tmp_path / "slow")}},
    }, tmp_path / "postq.toml")
    clock = FixedClock(T0 - timedelta(hours=1))
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock,
                  user="author", claim_clock=clock)
    registry = AdapterRegistry({"outbox": OutboxAdapter, "unhurried": Unhurried})
    publisher = Publisher(settings, store, registry=registry, clock=clock, worker="w1",
                          rng=random.Random(7))
    limits: list[tuple[dict[str, int], int]] = []
    claim = store.claim_due

    def counted(now: datetime, **kw: Any) -> Any:
        got = claim(now, **kw)
        limits.append((kw["per_channel"], len(got)))
        return got

    store.claim_due = counted
    return {"store": store, "publisher": publisher, "clock": clock, "limits": limits,
            "tmp": tmp_path}


def _queue(env: dict[str, Any], n: int, channels: tuple[str, ...]) -> None:
    env["store"].add_many([(snap(f"p{i:03d}", channels), T0) for i in range(n)],
                          require_approval=False)
    env["clock"].at = T0


def test_a_fast_channels_backlog_is_claimed_in_large_batches(env: dict[str, Any]) -> None:
    _queue(env, 160, ("fast",))
    out = env["publisher"].run_once()
    assert len(out) == 160 and {o.state for o in out} == {"published"}
    assert len(list((env["tmp"] / "fast").iterdir())) == 160  # each once
    limits = [sizes["fast"] for sizes, got in env["limits"] if got]
    assert limits[0] == 10  # nothing timed yet
    assert max(limits) > 10 and len(limits) < 16
    states = {r.state for r in env["store"].list_deliveries()}
    assert states == {"published"}


def test_a_slow_channel_keeps_the_plain_batch(env: dict[str, Any]) -> None:
    _queue(env, 12, ("fast", "slow"))
    out = env["publisher"].run_once()
    assert sorted(o.ref for o in out) == sorted(
        f"p{i:03d}@{ch}" for i in range(12) for ch in ("fast", "slow"))
    assert {sizes.get("slow") for sizes, _ in env["limits"]} <= {10, None}
    assert any(sizes.get("fast", 0) > 10 for sizes, _ in env["limits"])


def test_a_claim_takes_at_most_each_channels_count_in_due_order(env: dict[str, Any]) -> None:
    _queue(env, 6, ("fast", "slow"))
    got = env["store"].claim_due(T0, worker="w1", limit=20, per_channel={"slow": 2})
    assert [r.ref for r in got] == [
        "p000@fast", "p000@slow", "p001@fast", "p001@slow", "p002@fast", "p003@fast",
        "p004@fast", "p005@fast"]
    left = sorted(r.ref for r in env["store"].list_deliveries(state="scheduled"))
    assert left == [f"p{i:03d}@slow" for i in range(2, 6)]


def test_one_slow_call_brings_a_fast_channel_back_to_the_plain_batch() -> None:
    pacer = ClaimPacer(10)
    for _ in range(20):
        pacer.timed("a", 0.002)
    assert pacer.claim_sizes(["a"]) == {"a": MOST}
    pacer.timed("a", 30.0)  # a platform timing out
    assert pacer.claim_sizes(["a"]) == {"a": 10}
