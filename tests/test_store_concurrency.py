"""Several processes on one SQLite file: adds never fail with "database is locked", and a
delivery is claimed by exactly one publisher."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.test_store_support import DB_PARAMS, image, make_db_url, snap

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DUE = NOW + timedelta(days=1)
SHARED = image("#123456")


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


def _adder(url: str, media: str, n: int, barrier: Any, out: Any) -> None:
    try:
        store = Store(url, Path(media), clock=FixedClock(NOW), user=f"user{n}")
        barrier.wait(timeout=60)
        for i in range(5):
            own = image(f"#{n:02d}{i:02d}00")
            store.add(snap(f"p{n}-{i}", ("outbox", "x"), images=(SHARED, own)), due_at=DUE)
        out.put((n, "ok"))
    except BaseException as exc:  # report anything, including a locked database
        out.put((n, f"{type(exc).__name__}: {exc}"))


def _claimer(url: str, media: str, name: str, barrier: Any, out: Any) -> None:
    try:
        store = Store(url, Path(media), clock=FixedClock(NOW), user=name)
        barrier.wait(timeout=60)
        mine: list[str] = []
        while True:
            got = store.claim_due(DUE, worker=name, limit=3)
            if not got:
                break
            mine += [c.id for c in got]
        out.put((name, mine))
    except BaseException as exc:
        out.put((name, f"{type(exc).__name__}: {exc}"))


def _run(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(len(args)), ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, out)) for a in args]
    for p in procs:
        p.start()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return results


def test_four_processes_adding_at_once_all_succeed(tmp_path: Path, db_url: str) -> None:
    url, media = db_url, str(tmp_path / "media")
    # the first open of the database races too: nobody creates it beforehand
    results = _run(_adder, [(url, media, n) for n in range(4)])
    assert sorted(results) == [(n, "ok") for n in range(4)]
    store = Store(url, Path(media))
    rows = store.list_deliveries()
    assert len(rows) == 4 * 5 * 2
    assert all(len(r.media) == 0 for r in rows)  # lists do not load media
    files = [p for p in Path(media).rglob("*") if p.is_file()]
    assert len(files) == 1 + 4 * 5 and not any(p.name.startswith(".tmp") for p in files)
    for r in rows[:3]:
        assert len(store.get_delivery(r.id).media) == 2


def test_claiming_is_exclusive_across_processes(tmp_path: Path, db_url: str) -> None:
    url, media = db_url, tmp_path / "media"
    store = Store(url, media, clock=FixedClock(NOW), user="alice")
    for i in range(20):
        store.add(snap(f"p{i}", ("outbox", "x", "bluesky")), due_at=DUE,
                  require_approval=False)
    results = dict(_run(_claimer, [(url, str(media), "w1"), (url, str(media), "w2")]))
    assert all(isinstance(v, list) for v in results.values()), results
    w1, w2 = set(results["w1"]), set(results["w2"])
    assert not (w1 & w2)
    assert len(w1 | w2) == 60
    assert store.counts()["publishing"] == 60
    claims = [e for e in store.events() if e.action == "claim"]
    assert len(claims) == 60 and {e.who for e in claims} <= {"w1", "w2"}
