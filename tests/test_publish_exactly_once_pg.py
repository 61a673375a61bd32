"""Exactly once across machines: three publishers sharing one PostgreSQL queue, each with
its own empty ``data_dir`` (as on three machines), one killed with SIGKILL mid-call.

The approach of ``tests/test_publish_exactly_once.py`` with what several machines add:
the posts are queued from a fourth folder (the office), so no publisher has the rendered
media on its disk and each must read them from the shared store (the database) and check
them against their hash; the platform (the outbox) and the call logs are shared, as a
real platform is. 300 deliveries are due at the same instant. Runs only when
``POSTQ_TEST_DATABASE_URLS`` names a PostgreSQL database (CI starts one).
"""

from __future__ import annotations

import hashlib
import signal
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.publish_support import (
    PublisherProcess,
    Rig,
    make_rig,
    open_calls,
    outbox_count,
    outbox_folders,
    queue_posts,
    read_calls,
    state_counts,
    wait_until,
)
from tests.test_store_support import extra_db_urls, make_db_url

PG = [u for u in extra_db_urls() if u.startswith("postgresql")]
pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals"),
    pytest.mark.skipif(not PG, reason="POSTQ_TEST_DATABASE_URLS names no PostgreSQL database"),
]
POSTS = 100
CHANNELS = ("c1", "c2", "c3")


def worker_name(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def live_workers(rig: Rig) -> set[str]:
    store = rig.store()
    try:
        return {h.worker for h in store.heartbeats() if not h.stopped}
    finally:
        store.close()


def test_three_machines_on_postgresql_one_killed_publish_each_delivery_exactly_once(
        tmp_path: Path) -> None:
    url = make_db_url(PG[0], tmp_path)
    shared = {"database": url, "outbox": tmp_path / "platform", "logs": tmp_path / "calls",
              "before": (0.05, 0.15), "after": (0.05, 0.2), "stale_after": "2s"}
    office = make_rig(tmp_path / "office", channels=CHANNELS, **shared)  # type: ignore[arg-type]
    machines = [make_rig(tmp_path / f"machine-{n}", channels=CHANNELS, **shared)  # type: ignore[arg-type]
                for n in range(3)]
    args = ("--tick", "0.2", "--reconcile-every", "1")
    procs = [PublisherProcess(m, args, name=f"publisher-{n}") for n, m in enumerate(machines)]
    rig = office
    try:
        for p in procs:
            p.start()
        names = {worker_name(p.pid) for p in procs}
        assert wait_until(lambda: names <= live_workers(rig), 30), _diag(rig, procs)

        due = datetime.now(UTC) + timedelta(seconds=2)
        ids = set(queue_posts(office, [due] * POSTS))
        assert len(ids) == POSTS * len(CHANNELS)
        for m in machines:  # nothing rendered on the publishers' own disks
            assert not (m.root / ".postq" / "media").exists()

        victim, survivors = procs[0], procs[1:]
        assert wait_until(lambda: outbox_count(rig.outbox) >= 45, 30), _diag(rig, procs)
        caught = wait_until(lambda: "written" in open_calls(rig.logs, victim.pid).values(), 5,
                            interval=0.005)
        if not caught:
            assert wait_until(lambda: open_calls(rig.logs, victim.pid), 5, interval=0.005)
        victim.signal(signal.SIGKILL)
        assert victim.wait(10) == -signal.SIGKILL
        in_flight = open_calls(rig.logs, victim.pid)
        assert in_flight, "the killed publisher had no adapter call in progress"
        assert outbox_count(rig.outbox) < len(ids) * 0.8, "the kill came too late"

        settled = wait_until(lambda: state_counts(rig) == Counter(published=len(ids)), 90,
                             interval=0.25)
        assert settled, _diag(rig, procs)
        for p in survivors:
            p.signal(signal.SIGTERM)
        for p in survivors:
            assert p.wait(15) == 0, f"{p.name} did not stop cleanly:\n{p.stderr()[-3000:]}"
    finally:
        for p in procs:
            p.stop()

    folders = outbox_folders(rig.outbox)
    doubles = {k: v for k, v in folders.items() if len(v) != 1}
    assert not doubles, f"published more than once: {doubles}"
    assert set(folders) == ids

    store = rig.store()
    try:
        rows = {r.id: r for r in store.list_deliveries()}
        events = store.events()
        media = store.get_delivery(next(iter(ids))).media[0]
    finally:
        store.close()
    for did in ids:
        assert rows[did].remote_id == folders[did][0]

    # The killed one's claims without an outcome were declared abandoned by a survivor and
    # settled once (check found the written ones, the rest went out again).
    dead = worker_name(victim.pid)
    alive = {worker_name(p.pid) for p in survivors}
    by_delivery: dict[str, list] = {}
    for e in events:
        if e.delivery_id:
            by_delivery.setdefault(e.delivery_id, []).append(e)
    orphans = {did for did, evs in by_delivery.items()
               if any(e.action == "claim" and e.who == dead for e in evs)
               and not any(e.action == "publish" and e.who == dead for e in evs)}
    assert set(in_flight) <= orphans
    calls = read_calls(rig.logs)
    # One folder per delivery (above): an orphan no survivor wrote was written by the
    # killed process, whose "written" line is missing if the kill fell just after.
    written_by_dead = orphans - {c["delivery_id"] for c in calls
                                 if c["pid"] != victim.pid and c["phase"] == "written"}
    for did in orphans:
        evs = by_delivery[did]
        marks = [e for e in evs if e.action == "needs_check"]
        assert len(marks) == 1 and marks[0].who in alive, [e.as_dict() for e in evs]
        last = evs[-1]
        if did in written_by_dead:
            assert (last.action, last.state_after) == ("check", "published")
        else:
            assert last.action == "publish" and last.who in alive
    writes = Counter(c["delivery_id"] for c in calls if c["phase"] == "written")
    assert set(writes.values()) == {1} and ids - set(writes) <= written_by_dead

    # Media came from the shared store: each machine that published holds a verified
    # copy it fetched, and every published image is byte for byte the approved one.
    fetched = [m.root / ".postq" / "media" / media.sha256[:2] / media.path.name
               for m in machines]
    assert all(p.is_file() for p in fetched)
    for p in fetched:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == media.sha256
    for did in ids:
        (img,) = sorted((rig.outbox / folders[did][0]).glob("1.*"))
        assert hashlib.sha256(img.read_bytes()).hexdigest() == media.sha256


def _diag(rig: Rig, procs: list[PublisherProcess]) -> str:
    parts = [f"states: {dict(state_counts(rig))}"]
    for p in procs:
        parts.append(f"--- {p.name} (pid {p.pid}) stderr ---\n{p.stderr()[-3000:]}")
    return "\n".join(parts)
