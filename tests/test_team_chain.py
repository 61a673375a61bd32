"""The audit chain stays one unbroken line when several processes write at once, on
SQLite and on every database in ``POSTQ_TEST_DATABASE_URLS``."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Any

import pytest

from scheduler.store import Store
from scheduler.store.chain import verify_trail
from tests.test_store_support import DB_PARAMS, make_db_url


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


def _pauser(url: str, media: str, n: int, barrier: Any, out: Any) -> None:
    try:
        store = Store(url, Path(media), user=f"user{n}")
        barrier.wait(timeout=60)
        for i in range(10):
            store.pause(f"ch{n}", f"drill {i}")
            store.resume(f"ch{n}")
        out.put((n, "ok"))
    except BaseException as exc:  # report anything, including a deadlock
        out.put((n, f"{type(exc).__name__}: {exc}"))


def test_four_processes_appending_at_once_keep_one_chain(tmp_path: Path, db_url: str) -> None:
    ctx = mp.get_context("spawn")
    media = str(tmp_path / "media")
    Store(db_url, Path(media)).close()  # the schema exists before the race
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_pauser, args=(db_url, media, n, barrier, out))
             for n in range(4)]
    for p in procs:
        p.start()
    results = sorted(out.get(timeout=180) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    assert results == [(n, "ok") for n in range(4)]
    events = Store(db_url, Path(media)).events()
    assert len(events) == 4 * 10 * 2
    check = verify_trail(events)
    assert check.ok and check.events == 80, check.problem
    assert len({e.prev_chain for e in events}) == 80  # no two events link to one predecessor
