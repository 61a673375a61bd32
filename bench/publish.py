"""Publisher benchmark: punctuality, idle cost and a burst, with real ``postq run`` processes.

    python bench/publish.py [--idle-seconds 60] [--only lateness,idle,burst]
    python bench/publish.py --database postgresql+psycopg://... --publishers 3 \
        --spread 60 --burst-posts 1000 --burst-target 30

1. Lateness: 100 deliveries due over 20 s, one publisher with its default settings. The
   adapter is a plug-in (the outbox, logging when each call starts), so the figure is the
   time from a delivery's due time to the moment its adapter is called: p50 and p99,
   target p99 < 2 s. The outbox's own write time per delivery, measured in the same
   calls, is printed for reference.
2. Idle: one publisher on an empty queue uses under 1% of one core, measured from its
   CPU time in /proc over ``--idle-seconds`` (60) after a short warm-up.
3. Burst: 300 deliveries (100 posts on 3 outbox channels) due at the same instant are all
   out within 10 s (due time to the last ``published_at``), with one publisher; the
   same with three publishers sharing the database is printed too.
4. Serial: ``--serial-posts`` (10,000) deliveries on ONE channel due at once, published one
   after another by its worker, against the same writes through the same adapter in a
   plain loop (run just before and just after; their mean is the reference; the bare
   outbox's loop is printed too), target within 2×. The publisher's overhead per
   delivery is the total less the adapter's own time in the same run, and, as a figure
   the machine's other work does not sway, its CPU outside the adapter.

With ``--database`` (PostgreSQL) every publisher gets its own folder and empty
``data_dir``, as on separate machines, sharing the queue, the outbox and the media store;
``--publishers`` runs that many in the lateness, idle and burst parts (the database's
postq tables are dropped before each part). Exit status 1 if a target is missed. Not a
test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.publish_support import (  # noqa: E402 - needs the repository on sys.path
    SLOW_ADAPTER,
    PublisherProcess,
    Rig,
    make_rig,
    outbox_count,
    percentile,
    queue_posts,
    read_calls,
    wait_until,
)

LATENESS_TARGET_S = 2.0
IDLE_TARGET_PCT = 1.0
BURST_TARGET_S = 10.0
SERIAL_TARGET = 2.0


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


OPTS: argparse.Namespace = argparse.Namespace(database="", publishers=1, label="SQLite")


def rigs(root: Path, count: int, **kw: object) -> tuple[Rig, list[Rig]]:
    """The rig that queues, and one rig per publisher: the same one on SQLite; with
    ``--database``, a folder of its own per publisher (as on separate machines)."""
    if not OPTS.database:
        rig = make_rig(root, **kw)  # type: ignore[arg-type]
        return rig, [rig] * count
    from tests.test_store_support import make_db_url

    shared = {"database": make_db_url(OPTS.database, root), "outbox": root / "platform",
              "logs": root / "calls", **kw}
    office = make_rig(root / "office", **shared)  # type: ignore[arg-type]
    return office, [make_rig(root / f"machine-{n}", **shared)  # type: ignore[arg-type]
                    for n in range(count)]


def start_publishers(rig: Rig, count: int, *args: str,
                     machines: list[Rig] | None = None) -> list[PublisherProcess]:
    """Start ``count`` publishers and wait until each has sent its first heartbeat, so
    start-up time is not counted against the figures."""
    machines = machines or [rig] * count
    procs = [PublisherProcess(m, args, name=f"publisher-{n}").start()
             for n, m in enumerate(machines[:count])]

    def ready() -> bool:
        store = rig.store()
        try:
            beats = {h.info.get("pid") for h in store.heartbeats()}
        finally:
            store.close()
        return all(p.pid in beats for p in procs)

    if not wait_until(ready, 30, interval=0.1):
        for p in procs:
            p.stop()
        raise SystemExit("the publishers did not start:\n" + procs[0].stderr()[-2000:])
    return procs


def stop_all(procs: list[PublisherProcess]) -> None:
    for p in procs:
        p.signal(signal.SIGTERM)
    for p in procs:
        p.wait(15)
        p.stop()


def bench_lateness(work: Path, spread: float = 20.0) -> tuple[bool, float]:
    """Due time → adapter call, for 100 deliveries due over ``spread`` s; (ok, write_s)."""
    n = OPTS.publishers
    rig, machines = rigs(work / "lateness", n, channels=("outbox",))
    procs = start_publishers(rig, n, machines=machines)
    try:
        start = datetime.now(UTC) + timedelta(seconds=3)
        due = [start + timedelta(seconds=spread * i / 100) for i in range(100)]
        queue_posts(rig, due)
        if not wait_until(lambda: outbox_count(rig.outbox) >= 100, spread + 40, interval=0.2):
            raise SystemExit("lateness: not every delivery went out within 60 s")
    finally:
        stop_all(procs)
    calls = read_calls(rig.logs)
    starts = {c["delivery_id"]: c for c in calls if c["phase"] == "start"}
    written = {c["delivery_id"]: c for c in calls if c["phase"] == "written"}
    late = [c["t"] - c["due_at"] for c in starts.values()]
    writes = [written[d]["t"] - starts[d]["t"] for d in written]
    p50, p99 = percentile(late, 50), percentile(late, 99)
    write = statistics.median(writes)
    ok = p99 < LATENESS_TARGET_S
    print(f"1. lateness, due time → adapter call (100 deliveries due over {spread:.0f} s, "
          f"{n} publisher(s), tick 1 s, {OPTS.label})")
    print(f"   p50 {p50:.3f} s   p99 {p99:.3f} s   max {max(late):.3f} s   "
          f"target p99 < {LATENESS_TARGET_S:.0f} s: {verdict(ok)}")
    print(f"   reference: outbox write per delivery, median {write * 1000:.1f} ms "
          f"(p99 {percentile(writes, 99) * 1000:.1f} ms)")
    return ok, write


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat (fields 14 and 15)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_idle(work: Path, seconds: float) -> bool:
    """CPU share of each publisher with nothing to do, after a warm-up."""
    rig, machines = rigs(work / "idle", OPTS.publishers, channels=("outbox",), adapter="outbox")
    procs = start_publishers(rig, OPTS.publishers, machines=machines)
    proc = procs[0]
    try:
        time.sleep(5)  # imports done, first reconcile done, scheduler settled
        if Path(f"/proc/{proc.pid}/stat").exists():
            cpu0, wall0 = [cpu_seconds(p.pid) for p in procs], time.monotonic()
            time.sleep(seconds)
            wall = time.monotonic() - wall0
            each = [cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
            used = max(each)
            how = f"/proc, {len(procs)} publisher(s), the busiest shown, {OPTS.label}"
        else:  # no /proc: the whole life of the process, start-up included (an overestimate)
            wall0 = time.monotonic() - 5
            time.sleep(seconds)
            proc.signal(signal.SIGTERM)
            _, _, usage = os.wait4(proc.pid, 0)
            used, wall = usage.ru_utime + usage.ru_stime, time.monotonic() - wall0
            how = "wait4, start-up included"
    finally:
        stop_all(procs)
    pct = 100 * used / wall
    ok = pct < IDLE_TARGET_PCT
    print(f"2. idle publisher, empty queue, {wall:.0f} s after a 5 s warm-up ({how})")
    print(f"   CPU {used:.3f} s = {pct:.2f}% of one core   target < {IDLE_TARGET_PCT:.0f}%: "
          f"{verdict(ok)}")
    return ok


def due_soon(rig: Rig, posts: int, lead: float = 3.0) -> tuple[datetime, int]:
    """Queue ``posts`` posts an hour ahead, then move every due time to ``lead`` seconds
    from now in one statement: queueing 10,000 posts takes minutes, and the figure is
    about publishing, so the publishers must meet them all due at one instant."""
    from scheduler.store.schema import T

    began = time.monotonic()
    ids = queue_posts(rig, [datetime.now(UTC) + timedelta(hours=1)] * posts)
    due = datetime.now(UTC) + timedelta(seconds=lead)
    store = rig.store()
    try:
        with store.engine.begin() as conn:
            conn.execute(T["deliveries"].update().values(due_at=due, wake_at=due))
    finally:
        store.close()
    print(f"   (queueing {len(ids)} deliveries took {time.monotonic() - began:.1f} s)",
          flush=True)
    return due, len(ids)


def burst(work: Path, publishers: int, posts: int = 100,
          channels: tuple[str, ...] = ("c1", "c2", "c3"),
          adapter: str = "outbox", cpu: list[float] | None = None) -> tuple[float, int]:
    """Seconds from the shared due time to the last ``published_at``, and how many went
    out; the publishers' CPU seconds meanwhile are appended to ``cpu`` (with /proc)."""
    rig, machines = rigs(work / f"burst-{publishers}-{len(channels)}", publishers,
                         channels=channels, adapter=adapter)
    procs = start_publishers(rig, publishers, machines=machines)
    try:
        due, total = due_soon(rig, posts)
        counted = cpu is not None and Path(f"/proc/{procs[0].pid}/stat").exists()
        before = [cpu_seconds(p.pid) for p in procs] if counted else []
        # A 10,000-folder listing is not free: poll it no more often than it is needed.
        wait_until(lambda: outbox_count(rig.outbox) >= total, 120 + total / 20,
                   interval=0.2 if total <= 1000 else 1.0)
        if counted and cpu is not None:
            cpu.append(sum(cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True)))
        store = rig.store()
        try:
            done = [r.published_at for r in store.list_deliveries(state="published")]
        finally:
            store.close()
    finally:
        stop_all(procs)
    if not done:
        return float("inf"), 0
    return (max(done) - due).total_seconds(), len(done)


def bench_burst(work: Path, write: float | None, posts: int = 100,
                target: float = BURST_TARGET_S) -> bool:
    total = posts * 3
    one, n1 = burst(work, 1, posts) if OPTS.publishers == 1 else (float("nan"), 0)
    three, n3 = burst(work, 3, posts)
    ok = (n3 if OPTS.publishers > 1 else n1) == total and (
        three if OPTS.publishers > 1 else one) < target
    print(f"3. burst, {total} deliveries ({posts} posts × 3 outbox channels) due at once, due "
          f"time → last published_at ({OPTS.label})")
    if OPTS.publishers == 1:
        print(f"   1 publisher:  {one:.2f} s ({n1}/{total} out)   target < {target:.0f} s: "
              f"{verdict(ok)}")
    print(f"   3 publishers: {three:.2f} s ({n3}/{total} out)"
          + (f"   target < {target:.0f} s: {verdict(ok)}" if OPTS.publishers > 1 else ""))
    if write is not None:
        print(f"   reference: {total} outbox writes one after another take {total * write:.2f} s")
    return ok


def plain_loop(work: Path, count: int, *, logged: bool) -> float:
    """The reference: ``count`` outbox writes of the benchmark's post, one after another,
    in this process. ``logged``: through the very adapter the publishers use (the outbox
    with its call log, :data:`tests.publish_support.SLOW_ADAPTER`), so the only
    difference left is the publisher; else through the bare outbox."""
    from scheduler.adapters.base import OutgoingImage, OutgoingPost
    from scheduler.adapters.outbox import OutboxAdapter, OutboxSettings
    from tests.publish_support import _IMAGE, install_slow_adapter

    image = OutgoingImage(path=work / "x.png", mime=_IMAGE.mime, alt=_IMAGE.alt,
                          width=_IMAGE.width, height=_IMAGE.height, sha256="0" * 64,
                          data=_IMAGE.data)
    folder = work / f"plain-{'logged' if logged else 'bare'}-{time.monotonic_ns()}"
    adapter: OutboxAdapter
    if logged:
        site = install_slow_adapter(work / "plain-site")
        if str(site) not in sys.path:
            sys.path.insert(0, str(site))
        import postq_slowbox  # type: ignore[import-not-found]  # written just above

        (folder / "calls").mkdir(parents=True)
        adapter = postq_slowbox.SlowOutbox("c1", postq_slowbox.SlowSettings(
            adapter=SLOW_ADAPTER, path=str(folder / "outbox"), log_dir=str(folder / "calls")))
    else:
        adapter = OutboxAdapter("c1", OutboxSettings(adapter="outbox", path=str(folder)))
    began = time.perf_counter()
    for i in range(count):
        adapter.publish(OutgoingPost(
            delivery_id=f"p{i:05d}@c1", post_id=f"p{i:05d}", channel="c1",
            caption=f"Join us (p{i:05d}, c1).", images=(image,), language="en",
            content_hash="0" * 64, due_at=datetime.now(UTC)))
    return time.perf_counter() - began


def bench_serial(work: Path, posts: int) -> bool:
    """``posts`` deliveries on ONE channel due at once (its worker publishes them one
    after another: the serial limit), against the same writes in a plain loop.

    The machine may be busy with other work, so the reference loop runs just before and
    just after the burst (their mean is the reference), and CPU time is counted as well
    as wall time: the publisher's CPU outside the adapter does not depend on what else
    runs meanwhile."""
    ref_before = plain_loop(work, posts, logged=True)
    cpu: list[float] = []
    took, n = burst(work, OPTS.publishers, posts, channels=("c1",), adapter=SLOW_ADAPTER,
                    cpu=cpu)
    ref_after = plain_loop(work, posts, logged=True)
    bare = plain_loop(work, posts, logged=False)
    # The adapter's own time, from its call log (start → end of each call, the log's
    # own writes included): what is left of the total is the publisher's overhead.
    calls = read_calls(work / f"burst-{OPTS.publishers}-1" / "calls")
    began = {c["delivery_id"]: c for c in calls if c["phase"] == "start"}
    ends = [(c, began[c["delivery_id"]]) for c in calls if c["phase"] == "end"]
    inside = sum(c["t"] - b["t"] for c, b in ends)
    inside_cpu = sum(c["cpu"] - b["cpu"] for c, b in ends)
    ref = (ref_before + ref_after) / 2
    ratio = took / ref
    ok = n == posts and ratio <= SERIAL_TARGET
    print(f"4. serial burst, {posts} deliveries on ONE outbox channel due at once, "
          f"{OPTS.publishers} publisher(s), {OPTS.label}")
    print(f"   due time → last published_at {took:.2f} s ({n}/{posts} out); inside the "
          f"adapter {inside:.2f} s")
    print(f"   reference: the same {posts} writes through the same adapter in a plain loop "
          f"{ref:.2f} s (just before {ref_before:.2f} s, just after {ref_after:.2f} s); "
          f"through the bare outbox {bare:.2f} s")
    print(f"   ratio {ratio:.2f}×   target ≤ {SERIAL_TARGET:.0f}×: {verdict(ok)}   "
          f"(against the bare outbox {took / bare:.2f}×)")
    print(f"   publisher overhead per delivery (total − adapter time) "
          f"{(took - inside) / posts * 1000:.2f} ms; (total − plain loop) "
          f"{(took - ref) / posts * 1000:.2f} ms")
    if cpu:
        own = (cpu[0] - inside_cpu) / posts * 1000
        print(f"   publisher CPU outside the adapter per delivery {own:.2f} ms "
              f"(process CPU {cpu[0]:.2f} s − adapter CPU {inside_cpu:.2f} s)")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--only", default="lateness,idle,burst,serial",
                        help="comma-separated parts to run")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--publishers", type=int, default=1)
    parser.add_argument("--spread", type=float, default=20.0,
                        help="seconds the 100 lateness deliveries are spread over")
    parser.add_argument("--burst-posts", type=int, default=100,
                        help="posts in the burst (each on 3 channels)")
    parser.add_argument("--burst-target", type=float, default=BURST_TARGET_S)
    parser.add_argument("--serial-posts", type=int, default=10_000,
                        help="deliveries on one channel in the serial burst")
    args = parser.parse_args()
    OPTS.database, OPTS.publishers = args.database, args.publishers
    OPTS.label = "PostgreSQL" if args.database else "SQLite"
    parts = set(args.only.split(","))
    results = []
    write = None
    with tempfile.TemporaryDirectory(prefix="postq-bench-publish-") as tmp:
        work = Path(tmp)
        if "lateness" in parts:
            ok, write = bench_lateness(work, args.spread)
            results.append(ok)
        if "idle" in parts:
            results.append(bench_idle(work, args.idle_seconds))
        if "burst" in parts:
            results.append(bench_burst(work, write, args.burst_posts, args.burst_target))
        if "serial" in parts:
            results.append(bench_serial(work, args.serial_posts))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
