"""Exactly once across processes: publishers sharing one SQLite queue, one of them killed.

This is the promise of the design's delivery states shown end to end with real
processes: three ``postq run`` publishers claim from one database, one is killed with
SIGKILL in the middle of an adapter call, and still every delivery ends ``published``
with exactly one folder in the outbox. The killed publisher's claims are settled by the
survivors' reconcile: ``needs_check``, then the outbox is asked; a delivery whose folder
was written before the kill is recorded as published without a second folder, one whose
folder was not written goes out again.

The platform is a plug-in (see :mod:`tests.publish_support`): the outbox with pauses
around the write, so that "in flight at the moment of the kill" is near certain and the
kill can be aimed at the gap after the write and before the database hears of it.

It runs with ``stale_after = "2s"``, the quick recovery an operator would want, and with
``"8s"``, where the killed publisher's claims wait longer and nothing else may change.
"""

from __future__ import annotations

import signal
import socket
import time
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

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

POSTS = 100
CHANNELS = ("c1", "c2", "c3")


def worker_name(pid: int) -> str:
    """The name a publisher process records in claims and heartbeats."""
    return f"{socket.gethostname()}:{pid}"


def live_workers(rig: Rig) -> set[str]:
    store = rig.store()
    try:
        return {h.worker for h in store.heartbeats() if not h.stopped}
    finally:
        store.close()


def diagnostics(rig: Rig, procs: list[PublisherProcess]) -> str:
    """What to print when the run did not settle: states and each publisher's stderr."""
    parts = [f"states: {dict(state_counts(rig))}"]
    for p in procs:
        parts.append(f"--- {p.name} (pid {p.pid}) stderr ---\n{p.stderr()[-3000:]}")
    return "\n".join(parts)


@pytest.mark.parametrize("stale_after", [
    # Quick recovery: the publisher must then beat well inside 2 s, or live publishers
    # would be judged dead between beats and their claims published a second time.
    pytest.param("2s", id="stale-2s"),
    # Slower recovery: only the wait for the abandoned claims is longer.
    pytest.param("8s", id="stale-8s"),
])
def test_three_publishers_one_killed_publish_each_delivery_exactly_once(
    tmp_path: Path, stale_after: str,
) -> None:
    rig = make_rig(tmp_path / "proj", channels=CHANNELS, before=(0.05, 0.15),
                   after=(0.05, 0.2), stale_after=stale_after)
    args = ("--tick", "0.2", "--reconcile-every", "1")
    procs = [PublisherProcess(rig, args, name=f"publisher-{n}") for n in range(3)]
    try:
        for p in procs:
            p.start()
        names = {worker_name(p.pid) for p in procs}
        assert wait_until(lambda: names <= live_workers(rig), 20), diagnostics(rig, procs)

        # 300 deliveries (100 posts on 3 channels) due within the same minute: spread over
        # 6 s, starting 2 s from now, faster than the publishers can drain them.
        start = datetime.now(UTC) + timedelta(seconds=2)
        due = [start + timedelta(seconds=6 * i / POSTS) for i in range(POSTS)]
        ids = set(queue_posts(rig, due))
        assert len(ids) == POSTS * len(CHANNELS)

        victim, survivors = procs[0], procs[1:]
        assert wait_until(lambda: outbox_count(rig.outbox) >= 45, 30), diagnostics(rig, procs)
        # Aim the kill at a call that has written its folder but not yet returned; failing
        # that, at any call in progress.
        caught = wait_until(lambda: "written" in open_calls(rig.logs, victim.pid).values(), 5,
                            interval=0.005)
        if not caught:
            assert wait_until(lambda: open_calls(rig.logs, victim.pid), 5, interval=0.005)
        victim.signal(signal.SIGKILL)
        assert victim.wait(10) == -signal.SIGKILL
        published_at_kill = outbox_count(rig.outbox)
        in_flight = open_calls(rig.logs, victim.pid)
        assert in_flight, "the killed publisher had no adapter call in progress"
        assert published_at_kill < len(ids) * 0.8, "the kill came too late to show anything"

        settled = wait_until(lambda: state_counts(rig) == Counter(published=len(ids)), 60,
                             interval=0.25)
        assert settled, diagnostics(rig, procs)

        # SIGTERM lets the survivors finish (nothing is in flight now) and stop cleanly.
        for p in survivors:
            p.signal(signal.SIGTERM)
        for p in survivors:
            assert p.wait(10) == 0, f"{p.name} did not stop cleanly:\n{p.stderr()[-3000:]}"
    finally:
        for p in procs:
            p.stop()

    # Every delivery exactly once in the outbox, none missing, none extra.
    folders = outbox_folders(rig.outbox)
    doubles = {k: v for k, v in folders.items() if len(v) != 1}
    assert not doubles, f"published more than once: {doubles}"
    assert set(folders) == ids

    store = rig.store()
    try:
        rows = {r.id: r for r in store.list_deliveries()}
        events = store.events()
        assert {r.id for r in rows.values() if r.state == "published"} == ids
        for did in ids:  # the database names the very folder that is in the outbox
            assert rows[did].remote_id == folders[did][0]
        left = {h.worker for h in store.heartbeats() if not h.stopped}
    finally:
        store.close()
    dead = worker_name(victim.pid)
    alive = {worker_name(p.pid) for p in survivors}
    assert not (left & alive), "a publisher stopped by SIGTERM is still shown as running"

    by_delivery: dict[str, list] = {}
    for e in events:
        if e.delivery_id:
            by_delivery.setdefault(e.delivery_id, []).append(e)

    # The killed publisher's claims it never recorded an outcome for: each must have been
    # declared abandoned by a survivor, then settled once.
    orphans = {
        did for did, evs in by_delivery.items()
        if any(e.action == "claim" and e.who == dead for e in evs)
        and not any(e.action == "publish" and e.who == dead for e in evs)
    }
    assert set(in_flight) <= orphans
    for did in orphans:
        evs = by_delivery[did]
        marks = [e for e in evs if e.action == "needs_check"]
        assert len(marks) == 1 and marks[0].who in alive, [e.as_dict() for e in evs]
        assert len(folders[did]) == 1

    # A folder the killed process wrote before it could record it is found by check(),
    # not written again: one claim only (the dead one's), then 'check' → published.
    calls = read_calls(rig.logs)
    # Each delivery has exactly one folder (above), so one that no survivor wrote was
    # written by the killed process: its own "written" line is missing when the kill
    # fell between the folder's rename and that line.
    written_by_survivors = {c["delivery_id"] for c in calls
                            if c["pid"] != victim.pid and c["phase"] == "written"}
    written_by_dead = orphans - written_by_survivors
    for did in orphans & written_by_dead:
        evs = by_delivery[did]
        assert [e.action for e in evs if e.action == "claim"] == ["claim"], \
            [e.as_dict() for e in evs]
        assert evs[-1].action == "check" and evs[-1].state_after == "published"
    # One whose folder was not written goes out again through a survivor.
    for did in orphans - written_by_dead:
        evs = by_delivery[did]
        assert evs[-1].action == "publish" and evs[-1].who in alive, [e.as_dict() for e in evs]
    if caught:
        assert orphans & written_by_dead, "the kill was aimed after a write, yet none was found"

    # Every adapter call that wrote a folder is the one folder of its delivery; only the
    # killed process's last write may have gone unlogged.
    writes = Counter(c["delivery_id"] for c in calls if c["phase"] == "written")
    assert set(writes.values()) == {1}
    assert ids - set(writes) <= written_by_dead


def test_sigterm_finishes_the_call_in_flight(tmp_path: Path) -> None:
    rig = make_rig(tmp_path / "proj", channels=("c1",), before=(1.5, 1.5), after=(0.2, 0.2))
    proc = PublisherProcess(rig, ("--tick", "0.2"), name="publisher")
    try:
        proc.start()
        assert wait_until(lambda: worker_name(proc.pid) in live_workers(rig), 20), proc.stderr()
        (did,) = queue_posts(rig, [datetime.now(UTC) + timedelta(seconds=1)])
        assert wait_until(lambda: open_calls(rig.logs, proc.pid).get(did) == "start", 15,
                          interval=0.01), proc.stderr()
        proc.signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(15) == 0, proc.stderr()
        took = time.monotonic() - started
    finally:
        proc.stop()
    # It waited for the slow call (1.5 s + 0.2 s) rather than abandoning it.
    assert took >= 1.0
    folders = outbox_folders(rig.outbox)
    assert list(folders) == [did] and len(folders[did]) == 1
    assert state_counts(rig) == Counter(published=1)
    assert worker_name(proc.pid) not in live_workers(rig)
    phases = [c["phase"] for c in read_calls(rig.logs)]
    assert phases == ["start", "written", "end"]
