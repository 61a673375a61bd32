"""The publishing core: claim what is due, call the adapter, record the outcome.

It knows nothing of APScheduler (see :mod:`scheduler.publish.service`), so tests and
``run --once`` drive it directly with an injected clock. The database is the truth: every
decision is a conditional state change in the store, and a delivery whose outcome is
unknown goes to ``needs_check`` and is settled by asking the platform, never by sending
again blindly.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import Adapter, OutgoingPost, PlannedRequest
from scheduler.config import Settings
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    PostqError,
    RateLimited,
    TransientPublishError,
)
from scheduler.publish.backoff import retry_delay
from scheduler.team.gate import check_claimed
from scheduler.timeutil import Clock, parse_duration

log = logging.getLogger("postq.publish")


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def scrub(text: str, secrets: list[str]) -> str:
    """Remove every secret value from a message before it is stored or printed."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


@dataclass
class Outcome:
    """What happened to one delivery in this publisher."""

    delivery_id: str
    ref: str
    state: str
    detail: str = ""


@dataclass
class Publisher:
    """Publishes due deliveries of one store through the configured channels."""

    settings: Settings
    store: Any
    registry: AdapterRegistry = field(default_factory=AdapterRegistry.from_entry_points)
    clock: Clock = field(default_factory=Clock)
    worker: str = field(default_factory=default_worker_name)
    env: Mapping[str, str] | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] | None = None
    batch: int = 10
    #: In the service: when a channel's worker runs dry, look for more at once rather
    #: than at the next tick, so a burst is limited by the platforms, not the tick rate.
    chain_ticks: bool = False
    #: Called with each Outcome in failed / needs_check / missed (failure notices).
    on_outcome: Callable[[Outcome], None] | None = None

    def __post_init__(self) -> None:
        self._adapters: dict[str, Adapter] = {}
        self._lock = threading.Lock()
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._inflight: dict[str, int] = {}
        self._futures: set[Future[Outcome]] = set()
        self.outcomes: list[Outcome] = []
        self.max_attempts = self.settings.postq.max_attempts
        self.retry_base = parse_duration(self.settings.postq.retry_base)
        self.stale_after = parse_duration(self.settings.postq.stale_after)

    # -- adapters -----------------------------------------------------------------------
    def adapter(self, channel: str) -> Adapter:
        """The adapter instance of a channel, built once and reused (sessions are cached)."""
        with self._lock:
            if channel not in self._adapters:
                cfg = self.settings.channel(channel)
                cls = self.registry.get(cfg.adapter)
                parsed = cls.parse_settings(channel, _resolve_paths(cfg.model_dump(), self.settings))
                kwargs: dict[str, Any] = {"env": self.env, "clock": self.clock,
                                          "data_dir": self.settings.data_dir}
                self._adapters[channel] = cls(channel, parsed, **kwargs)
            return self._adapters[channel]

    def close(self) -> None:
        self.chain_ticks = False
        self.drain()
        for ex in self._executors.values():
            ex.shutdown(wait=True)
        for a in self._adapters.values():
            a.close()

    # -- one pass -----------------------------------------------------------------------
    def tick(self, wait: bool = False) -> int:
        """Claim what is due now and hand it to the channels' workers; returns the count."""
        now = self.clock.now()
        with self._lock:
            busy = {ch for ch, n in self._inflight.items() if n > 0}
        if not self.store.has_due(now, exclude_channels=busy):
            self._report_missed()
            return 0
        claimed = self.store.claim_due(now, worker=self.worker, limit=self.batch,
                                       exclude_channels=busy)
        self._report_missed()
        for row in claimed:
            self._dispatch(row)
        if wait:
            self.drain()
        return len(claimed)

    def run_once(self) -> list[Outcome]:
        """``run --once``: settle leftovers, publish everything due, wait, return outcomes."""
        self.beat()
        self.reconcile()
        while self.tick(wait=True):
            pass
        return list(self.outcomes)

    def drain(self) -> None:
        """Wait for every call in flight (SIGTERM finishes them, then stops)."""
        while True:
            with self._lock:
                pending = list(self._futures)
            if not pending:
                return
            for f in pending:
                f.result()

    def _dispatch(self, row: Any) -> None:
        with self._lock:
            ex = self._executors.get(row.channel)
            if ex is None:
                # One worker per channel: a slow or failing platform holds up only itself.
                ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"postq-{row.channel}")
                self._executors[row.channel] = ex
            self._inflight[row.channel] = self._inflight.get(row.channel, 0) + 1
            fut = ex.submit(self._publish_guarded, row)
            self._futures.add(fut)
        fut.add_done_callback(lambda f, ch=row.channel: self._done(f, ch))

    def _done(self, fut: Future[Outcome], channel: str) -> None:
        with self._lock:
            self._futures.discard(fut)
            self._inflight[channel] -= 1
            idle = self._inflight[channel] == 0
        if idle and self.chain_ticks:
            try:
                self.tick()
            except Exception:
                log.exception("looking for more due deliveries failed")

    def _publish_guarded(self, row: Any) -> Outcome:
        try:
            return self.publish_one(row)
        except Exception as exc:  # never let one delivery kill the worker thread
            log.exception("publishing %s failed unexpectedly", row.ref)
            reason = f"publisher error: {type(exc).__name__}: {exc}"
            try:
                self.store.mark_needs_check(row.id, reason)
            except Exception:
                log.exception("could not record needs_check for %s", row.ref)
            return self._record(Outcome(row.id, row.ref, "needs_check", reason))

    def publish_one(self, row: Any) -> Outcome:
        """Publish one claimed delivery and record exactly one outcome for it."""
        try:
            adapter = self.adapter(row.channel)
        except PostqError as exc:
            self.store.mark_failed(row.id, str(exc))
            return self._record(Outcome(row.id, row.ref, "failed", str(exc)))
        held = check_claimed(self.store, row, who=self.worker)  # signatures, hash, files
        if held is not None:
            return self._record(Outcome(row.id, row.ref, "held", held))
        secrets = adapter.secrets()
        post = self.store.outgoing(row)
        if not self.store.still_mine(row.id, worker=self.worker, attempts=row.attempts):
            # Another publisher judged this one dead and took the delivery over while it
            # waited in the channel's queue: sending now could publish it twice.
            log.warning("%s was taken over by another publisher; not sending", row.ref)
            return Outcome(row.id, row.ref, "taken_over", "claimed by another publisher")
        try:
            result = adapter.publish(post)
        except OutcomeUnknown as exc:
            msg = scrub(str(exc), secrets)
            self.store.mark_needs_check(row.id, msg)
            return self._record(Outcome(row.id, row.ref, "needs_check", msg))
        except (RateLimited, TransientPublishError) as exc:
            msg = scrub(str(exc), secrets)
            if row.attempts >= self.max_attempts:
                final = f"gave up after {row.attempts} attempts: {msg}"
                self.store.mark_failed(row.id, final)
                return self._record(Outcome(row.id, row.ref, "failed", final))
            delay = retry_delay(row.attempts, self.retry_base, exc.retry_after, self.rng)
            self.store.mark_retry(row.id, msg, self.clock.now() + delay)
            return self._record(Outcome(row.id, row.ref, "retry_wait", msg))
        except (AuthError, PermanentPublishError, PostqError) as exc:
            msg = scrub(str(exc), secrets)
            self.store.mark_failed(row.id, msg)
            return self._record(Outcome(row.id, row.ref, "failed", msg))
        except Exception as exc:
            # An adapter bug after the request may have gone out: the outcome is unknown.
            msg = scrub(f"adapter error: {type(exc).__name__}: {exc}", secrets)
            self.store.mark_needs_check(row.id, msg)
            return self._record(Outcome(row.id, row.ref, "needs_check", msg))
        self.store.mark_published(row.id, result.remote_id, result.url)
        return self._record(Outcome(row.id, row.ref, "published", result.url or result.remote_id))

    def _record(self, outcome: Outcome) -> Outcome:
        with self._lock:
            self.outcomes.append(outcome)
        if outcome.state in ("failed", "needs_check", "missed", "held") and self.on_outcome:
            try:
                self.on_outcome(outcome)
            except Exception:
                log.exception("failure notice for %s could not be sent", outcome.ref)
        return outcome

    def _report_missed(self) -> None:
        missed = getattr(self.store, "take_missed", None)
        if missed is None:
            return
        for row in missed(worker=self.worker):
            self._record(Outcome(row.id, row.ref, "missed", row.last_error or ""))

    # -- settling unknown outcomes ------------------------------------------------------
    def reconcile(self) -> list[Outcome]:
        """Turn abandoned ``publishing`` rows into ``needs_check`` and settle each with
        the platform's answer: published if it has the post, back to the queue if it
        certainly does not, left for a person if it cannot tell.

        A row is abandoned when the publisher that claimed it has sent no heartbeat for
        ``stale_after``; a slow upload by a live publisher is left alone.
        """
        now = self.clock.now()
        alive = {h.worker for h in self.store.heartbeats() if h.alive(now, self.stale_after)}
        for row in self.store.stale_publishing(exclude_worker=self.worker):
            if row.claimed_by in alive:
                continue
            if row.claimed_at is not None and now - row.claimed_at < self.stale_after:
                continue
            try:
                self.store.mark_needs_check(
                    row.id, f"publisher {row.claimed_by} stopped mid-call", who=self.worker)
            except PostqError:
                continue  # it finished or was settled by someone else meanwhile
        settled = []
        for row in self.store.list_deliveries(state="needs_check"):
            settled.append(self.settle(row))
        return settled

    def settle(self, row: Any) -> Outcome:
        """Ask the platform whether an unknown outcome was in fact a success."""
        try:
            adapter = self.adapter(row.channel)
            post = self.store.outgoing(row)
            found = adapter.check(post)
        except OutcomeUnknown as exc:
            return Outcome(row.id, row.ref, "needs_check", f"still unknown: {exc}")
        except PostqError as exc:
            return Outcome(row.id, row.ref, "needs_check", f"check failed: {exc}")
        try:
            if found is not None:
                self.store.settle_published(row.id, found.remote_id, found.url, who=self.worker)
                return self._record(Outcome(row.id, row.ref, "published",
                                            found.url or found.remote_id))
            if not adapter.check_is_authoritative:
                return Outcome(row.id, row.ref, "needs_check",
                               f"{row.channel} cannot be asked; a person must check")
            self.store.settle_not_published(row.id, self.clock.now(), who=self.worker)
        except PostqError as exc:  # settled by another publisher first
            return Outcome(row.id, row.ref, "needs_check", f"not settled here: {exc}")
        return Outcome(row.id, row.ref, "scheduled", "not on the platform; queued again")

    # -- dry runs -----------------------------------------------------------------------
    def plan_due(self) -> list[tuple[Any, OutgoingPost, list[PlannedRequest]]]:
        """What a pass would send now, without claiming or changing anything."""
        now = self.clock.now()
        out = []
        for row in self.store.due_preview(now):
            adapter = self.adapter(row.channel)
            post = self.store.outgoing(row)
            out.append((row, post, adapter.plan(post)))
        return out

    def beat(self) -> None:
        with self._lock:
            inflight = sum(self._inflight.values())
        self.store.heartbeat(self.worker, {"pid": os.getpid(), "in_flight": inflight})


def _resolve_paths(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Relative ``path`` settings are relative to postq.toml, like every other path."""
    out = {k: v for k, v in raw.items() if v is not None or k in ("adapter",)}
    if isinstance(out.get("path"), str):
        out["path"] = str(settings.resolve(out["path"]))
    return out
