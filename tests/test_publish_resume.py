"""A publisher that stops between two steps resumes from the ids kept in the store.

The publisher wires each adapter's ``save_progress`` to the store, so an Instagram
container id is in ``remote_state`` before the next call. Here a container is still
being processed when the attempt ends; the next pass — a new publisher, as the next
``run --once`` from cron would be — finishes that container instead of building a second
one. Real store (SQLite, and PostgreSQL when ``POSTQ_TEST_DATABASE_URLS`` names one),
real HTTP to the Instagram stand-in.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.instagram import InstagramAdapter
from scheduler.config import settings_from_dict
from scheduler.content.snapshot import ImageSnapshot
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.fakes import FakeGraphContainers
from tests.peers import jpeg_bytes
from tests.test_store_support import DB_PARAMS, make_db_url, snap

TOKEN = "tok-Resume-Recognisable-77aa11"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class QuickInstagram(InstagramAdapter):
    """Instagram that polls twice without sleeping, as a plug-in subclass would."""

    poll_attempts = 2

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, sleep=lambda seconds: None, **kwargs)


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


def test_next_pass_finishes_the_recorded_container(db_url: str, tmp_path: Path,
                                                   local_server) -> None:
    fake = FakeGraphContainers(local_server, TOKEN, tmp_path / "www", now=T0)
    fake.processing_polls = 10_000  # still processing when the first attempt gives up
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "database": db_url, "require_approval": False,
                  "retry_base": "30s", "max_attempts": 3, "late_grace": "30m"},
        "channels": {"ig": {
            "adapter": "instagram", "base_url": local_server.base_url, "user_id": fake.user,
            "token_env": "IG_TOKEN",
            "media_host": {"kind": "directory", "path": str(tmp_path / "www"),
                           "public_base_url": fake.media_url}}},
    }, tmp_path / "postq.toml")
    clock = FixedClock(T0 - timedelta(hours=1))
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock, user="author")
    photo = ImageSnapshot(data=jpeg_bytes(), mime="image/jpeg", alt="A desk.", width=64,
                          height=48, source="desk.jpg", focus=None)
    store.add(snap("io", ("ig",), images=(photo,)), due_at=T0, require_approval=False)
    clock.at = T0

    def publisher() -> Publisher:
        return Publisher(settings, store, registry=AdapterRegistry({"instagram": QuickInstagram}),
                         clock=clock, worker="w1", env={"IG_TOKEN": TOKEN},
                         rng=random.Random(3))

    first = publisher()
    [outcome] = first.run_once()
    first.close()
    assert outcome.state == "retry_wait"
    assert "still being processed" in outcome.detail
    [row] = store.list_deliveries()
    [container_id] = fake.containers
    assert row.remote_state["container_id"] == container_id
    assert TOKEN not in repr(row.remote_state)

    fake.processing_polls = 0  # Meta finishes it meanwhile
    clock.advance(timedelta(minutes=5))
    second = publisher()
    [outcome] = second.run_once()
    second.close()
    assert outcome.state == "published"
    assert list(fake.containers) == [container_id], "no second container"
    assert len(fake.posts) == 1
    [row] = store.list_deliveries()
    assert row.state == "published" and row.remote_id == fake.posts[0]["id"]
