"""``postq run``: the publisher as an APScheduler 3 service.

APScheduler only wakes things up; the database decides. Three jobs carry no post data:
``tick`` claims and publishes what is due (once a second, so a post queued after the
publisher started goes out within about a second of its time, at the cost of one indexed
query), ``heartbeat`` tells ``postq status`` this publisher is alive, and ``reconcile``
settles deliveries another publisher abandoned mid-call. SIGTERM and SIGINT let the call in
flight finish, then stop.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any

from scheduler.publish.worker import Publisher

log = logging.getLogger("postq.publish")


def serve(
    publisher: Publisher,
    *,
    tick_seconds: float = 1.0,
    heartbeat_seconds: float = 5.0,
    reconcile_seconds: float = 15.0,
    stop: threading.Event | None = None,
    install_signals: bool = True,
) -> None:
    """Run until ``stop`` is set or a termination signal arrives."""
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.background import BackgroundScheduler

    stop = stop or threading.Event()
    if install_signals:
        def _handler(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing the calls in flight, then stopping", signum)
            stop.set()

        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGINT, _handler)

    # Others judge this publisher dead after ``stale_after`` without a heartbeat and take
    # its deliveries over, so it must beat several times within that window.
    heartbeat_seconds = min(heartbeat_seconds, publisher.stale_after.total_seconds() / 4)
    publisher.beat()
    publisher.reconcile()
    publisher.chain_ticks = True
    sched = BackgroundScheduler(
        timezone=UTC,
        executors={"default": ThreadPoolExecutor(max_workers=3)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
    )
    start = datetime.now(UTC)
    sched.add_job(_guard(publisher.tick), "interval", seconds=tick_seconds, id="tick",
                  next_run_time=start)
    sched.add_job(_guard(publisher.beat), "interval", seconds=heartbeat_seconds,
                  id="heartbeat")
    sched.add_job(_guard(publisher.reconcile), "interval", seconds=reconcile_seconds,
                  id="reconcile")
    sched.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        publisher.chain_ticks = False
        sched.shutdown(wait=True)
        publisher.close()
        try:
            publisher.store.forget_heartbeat(publisher.worker)
        except Exception:
            log.exception("could not clear the heartbeat")


def _guard(fn: Any) -> Any:
    """A job that fails must log and keep the service alive, never kill the scheduler."""

    def run() -> None:
        try:
            fn()
        except Exception:
            log.exception("publisher job %s failed", getattr(fn, "__name__", fn))

    run.__name__ = getattr(fn, "__name__", "job")
    return run
