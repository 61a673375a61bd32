"""``postq run``: the publisher as an APScheduler 3 service.

APScheduler only wakes things up; the database decides. Three jobs carry no post data:
``tick`` claims and publishes what is due (once a second, so a post queued after the
publisher started goes out within about a second of its time, at the cost of one indexed
query), ``heartbeat`` tells ``postq status`` this publisher is alive (and systemd's
watchdog, when there is one), and ``reconcile`` settles deliveries another publisher
abandoned mid-call. SIGTERM and SIGINT let the call in flight finish, then stop; the
heartbeat is then kept as a record of when and why this publisher stopped.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from scheduler.ops.events import emit
from scheduler.ops.sdnotify import SystemdNotifier
from scheduler.publish.worker import Outcome, Publisher
from scheduler.timeutil import utc_iso

log = logging.getLogger("postq.publish")


def serve(
    publisher: Publisher,
    *,
    tick_seconds: float = 1.0,
    heartbeat_seconds: float = 5.0,
    reconcile_seconds: float = 15.0,
    stop: threading.Event | None = None,
    install_signals: bool = True,
    systemd: SystemdNotifier | None = None,
    watchers: Sequence[Callable[[], None]] = (),
) -> str:
    """Run until ``stop`` is set or a termination signal arrives; returns why it stopped.

    ``watchers`` run with each tick in a job of their own (noticing pauses, say).
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    stop = stop or threading.Event()
    systemd = systemd or SystemdNotifier()
    why = ["stopped"]
    if install_signals:
        def _handler(signum: int, _frame: Any) -> None:
            why[0] = f"{signal.Signals(signum).name} received"
            log.info("%s: finishing the calls in flight, then stopping", why[0])
            stop.set()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    # Others judge this publisher dead after ``stale_after`` without a heartbeat and take
    # its deliveries over, so it must beat several times within that window; systemd's
    # watchdog wants a ping at least twice within its interval.
    heartbeat_seconds = min(heartbeat_seconds, publisher.stale_after.total_seconds() / 4)
    if systemd.watchdog_seconds:
        heartbeat_seconds = min(heartbeat_seconds, systemd.watchdog_seconds / 2)

    def beat() -> None:
        publisher.beat()
        systemd.notify(WATCHDOG=1)  # only after the database took the heartbeat

    publisher.beat()
    publisher.reconcile()
    publisher.chain_ticks = True
    publisher.keep_outcomes = False  # reported as they come; a service must not pile them up
    sched = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=3)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    start = datetime.now(UTC)
    sched.add_job(_guard(publisher.tick), "interval", seconds=tick_seconds, id="tick",
                  next_run_time=start)
    sched.add_job(_guard(beat, "heartbeat"), "interval", seconds=heartbeat_seconds,
                  id="heartbeat")
    sched.add_job(_guard(publisher.reconcile), "interval", seconds=reconcile_seconds,
                  id="reconcile")
    for n, watcher in enumerate(watchers):
        sched.add_job(_guard(watcher, "watch"), "interval", seconds=tick_seconds,
                      id=f"watch-{n}", next_run_time=start)
    # What start-up built (modules, the schema, the adapters) lives as long as the
    # process: set apart from the collector, whose full passes would otherwise walk it
    # again and again while a burst allocates rows.
    gc.collect()
    gc.freeze()
    sched.start()
    emit("start", f"publisher {publisher.worker} started (pid {os.getpid()}); SIGTERM or "
                  "Ctrl-C stops it after the calls in flight",
         worker=publisher.worker, pid=os.getpid())
    systemd.notify(READY=1, STATUS=f"publishing as {publisher.worker}")
    try:
        while not stop.wait(0.5):
            pass
    except BaseException as exc:
        why[0] = f"{type(exc).__name__} {exc}".strip()
        raise
    finally:
        systemd.notify(STOPPING=1)
        publisher.chain_ticks = False
        sched.shutdown(wait=True)
        publisher.close()
        record_stop(publisher, why[0])
    return why[0]


def record_stop(publisher: Publisher, reason: str,
                outcomes: Sequence[Outcome] | None = None) -> None:
    """Keep the heartbeat as "stopped at ... because ...", with a run's result if given,
    so ``status`` shows a stopped publisher (or the last ``run --once``) as stopped."""
    now = publisher.clock.now()
    info: dict[str, Any] = {"pid": os.getpid(), "stopped_at": utc_iso(now), "reason": reason}
    if outcomes is not None:
        info["mode"] = "once"
        info["result"] = dict(Counter(o.state for o in outcomes))
    try:
        publisher.store.retire_heartbeat(publisher.worker, info)
    except Exception:
        log.exception("could not record that this publisher stopped")
    result = ", ".join(f"{n} {s}" for s, n in sorted(info.get("result", {}).items()))
    emit("stop", f"publisher {publisher.worker} stopped: {reason}"
                 + (f" ({result})" if result else ""),
         worker=publisher.worker, reason=reason, result=info.get("result"))


def _guard(fn: Any, name: str | None = None) -> Any:
    """A job that fails must log and keep the service alive, never kill the scheduler."""
    name = name or getattr(fn, "__name__", "job")

    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("publisher job %s failed", name)

    run.__name__ = name
    return run
