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
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import Adapter, OutgoingPost, PlannedRequest
from scheduler.adapters.processing import processing_waits
from scheduler.config import Settings
from scheduler.errors import (
    AuthError,
    ClaimLost,
    ConfigError,
    OutcomeUnknown,
    PermanentPublishError,
    PostqError,
    RateLimited,
    TransientPublishError,
)
from scheduler.publish.backoff import MAX_RETRY_AFTER, retry_delay, sane_retry_after
from scheduler.publish.lanes import Lanes
from scheduler.publish.pace import ClaimPacer
from scheduler.publish.policy import PolicyCheck
from scheduler.redaction import redact
from scheduler.team.gate import check_claimed
from scheduler.timeutil import Clock, format_duration, parse_duration

log = logging.getLogger("postq.publish")


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


#: Below this, a live publisher could be judged dead between two heartbeats (it beats
#: every quarter of ``stale_after``, and a busy database can hold a beat for a second).
MIN_STALE_AFTER = timedelta(seconds=2)


@dataclass
class Outcome:
    """What happened to one delivery in this publisher."""

    delivery_id: str
    ref: str
    state: str
    detail: str = ""
    #: Send a notice whatever ``[notify] on`` lists (held back, wait cut short).
    notify: bool = False
    #: The delivery as the outcome left it, when the store returned it (the event line
    #: is written from it instead of reading the row again).
    row: Any = field(default=None, repr=False, compare=False)


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
    #: Called with every recorded Outcome (log lines and metrics, :mod:`scheduler.ops`).
    on_event: Callable[[Outcome], None] | None = None
    #: Keep every Outcome in :attr:`outcomes` (``run --once`` returns them). The service
    #: turns it off: it runs for months, and its outcomes go to ``on_event`` as they come.
    keep_outcomes: bool = True

    def __post_init__(self) -> None:
        self._adapters: dict[str, Adapter] = {}
        self._lock = threading.Lock()
        self.lanes = Lanes(self._channel_idle)
        self.outcomes: list[Outcome] = []
        #: The last claim took a whole batch: more are likely due, so the next pass
        #: claims at once instead of asking first whether anything is due.
        self._full = False
        self.pacer = ClaimPacer(self.batch)
        self.max_attempts = self.settings.postq.max_attempts
        self.retry_base = parse_duration(self.settings.postq.retry_base)
        self.stale_after = parse_duration(self.settings.postq.stale_after)
        if self.stale_after < MIN_STALE_AFTER:
            raise ConfigError(
                f"{self.settings.postq.stale_after!r} is too short: a live publisher would be "
                f"taken for dead between heartbeats; use at least "
                f"{format_duration(MIN_STALE_AFTER)}", self.settings.path, "postq.stale_after")
        self.policy = PolicyCheck(self.settings, self.registry)

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
                built = cls(channel, parsed, **kwargs)
                # Each step's remote ids reach the store before the next call is made.
                built.save_progress = getattr(self.store, "save_remote_state", None)
                self._attach_tokens(built)
                self._adapters[channel] = built
            return self._adapters[channel]

    def _attach_tokens(self, adapter: Adapter) -> None:
        """Tokens from the credential store for ``auth = "oauth2"`` channels."""
        from scheduler.credentials import uses_store

        if uses_store(adapter.settings):
            from scheduler.credentials.tokens import attach

            attach(adapter, self.settings, self.store.engine, env=self.env, clock=self.clock,
                   worker=self.worker, on_retired=self._credential_retired)

    def _credential_retired(self, channel: str, message: str) -> None:
        """A refused refresh token is news for a person: through ``[notify]`` like a failure."""
        self._record(Outcome(f"credential:{channel}", f"credential@{channel}", "failed", message))

    def close(self) -> None:
        self.chain_ticks = False
        self.drain()
        self.lanes.shutdown()
        for a in self._adapters.values():
            a.close()

    # -- one pass -----------------------------------------------------------------------
    def tick(self, wait: bool = False) -> int:
        """Claim what is due now and hand it to the channels' workers; returns the count."""
        now = self.clock.now()
        retracted = self._retract_due()
        busy = self.lanes.busy()
        # The read spares an idle publisher the write lock every second; in a burst it
        # would only repeat what the claim reads.
        if not self._full and not self.store.has_due(now, exclude_channels=busy):
            self._report_missed()
            if wait and retracted:
                self.drain()
            return retracted
        sizes = self.pacer.claim_sizes(ch for ch in self.settings.channels if ch not in busy)
        limit = max(sizes.values(), default=self.batch)
        claimed = self.store.claim_due(now, worker=self.worker, limit=limit,
                                       exclude_channels=busy, per_channel=sizes,
                                       require_approval=self.settings.postq.require_approval)
        taken = Counter(row.channel for row in claimed)
        self._full = len(claimed) >= limit or any(
            n >= sizes.get(ch, limit) for ch, n in taken.items())
        self._report_missed()
        for row in claimed:
            self.lanes.submit(row.channel, lambda r=row: self._publish_guarded(r), claim=row)
        if wait:
            self.drain()
        return len(claimed) + retracted

    def _retract_due(self) -> int:
        """Retractions first, whatever is paused: they are the emergency exit."""
        if not hasattr(self.store, "claim_retractions"):
            return 0
        from scheduler.publish.retract import retract_one

        try:
            rows = self.store.claim_retractions(self.clock.now(), worker=self.worker,
                                                stale_after=self.stale_after)
        except PostqError as exc:
            log.error("claiming retractions failed: %s", exc)
            return 0
        for row in rows:  # on the channel's own worker, like a publication
            self.lanes.submit(row.channel, lambda r=row: retract_one(self, r))
        return len(rows)

    def run_once(self) -> list[Outcome]:
        """``run --once``: settle leftovers, publish everything due, wait, return outcomes."""
        self.beat()
        try:
            self.reconcile()
        except PostqError as exc:  # a damaged leftover must not stop what is due now
            log.error("settling earlier deliveries failed: %s", exc)
        while self.tick(wait=True):
            pass
        return list(self.outcomes)

    def drain(self) -> None:
        """Wait for every call in flight (SIGTERM finishes them, then stops)."""
        self.lanes.drain()

    def _channel_idle(self, channel: str) -> None:
        """A channel's worker ran dry: in the service, look for more at once."""
        if self.chain_ticks:
            try:
                self.tick()
            except Exception:
                log.exception("looking for more due deliveries failed")

    def _publish_guarded(self, row: Any) -> Outcome:
        self.lanes.started(row)
        try:
            return self.publish_one(row)
        except Exception as exc:  # never let one delivery kill the worker thread
            log.exception("publishing %s failed unexpectedly", row.ref)
            reason = redact(f"publisher error: {type(exc).__name__}: {exc}")
            try:
                self.store.mark_needs_check(row.id, reason,
                                            token=getattr(row, "claim_token", None))
            except Exception:
                log.exception("could not record needs_check for %s", row.ref)
            return self._record(Outcome(row.id, row.ref, "needs_check", reason))

    def publish_one(self, row: Any) -> Outcome:
        """Publish one claimed delivery and record exactly one outcome for it.

        Every record names the claim's fencing token: if another publisher took the
        delivery over meanwhile, nothing is sent or recorded here.
        """
        token = getattr(row, "claim_token", None)
        try:
            return self._publish_claimed(row, token)
        except ClaimLost as exc:
            log.warning("%s: %s", row.ref, exc)
            return Outcome(row.id, row.ref, "taken_over", str(exc))

    def _publish_claimed(self, row: Any, token: int | None) -> Outcome:
        try:
            adapter = self.adapter(row.channel)
        except PostqError as exc:
            msg = redact(str(exc))
            done = self.store.mark_failed(row.id, msg, token=token)
            return self._record(Outcome(row.id, row.ref, "failed", msg, row=done))
        held = check_claimed(self.store, row, who=self.worker)  # signatures, hash, files
        if held is not None:
            return self._record(Outcome(row.id, row.ref, "held", held))
        secrets = adapter.secrets()
        try:
            # The images are read and checked against their hashes here, once; these
            # bytes, not the files, are what the adapter sends.
            post = self.store.outgoing(row)
            problems = self.policy.problems(post)
            if post.video is not None and not adapter.publishes_video:
                # Never the caption (or the cover) alone in place of the approved video.
                problems.append(f"the post has a video, and {row.channel}'s adapter does "
                                "not publish video")
        except PostqError as exc:
            problems = [str(exc)]
        if problems:
            reason = "held back at claim time: " + "; ".join(problems)
            self.store.mark_failed(row.id, reason, token=token, action="hold")
            return self._record(Outcome(row.id, row.ref, "failed", reason, notify=True))
        if not self._still_mine(row, token):
            # Another publisher judged this one dead and took the delivery over while it
            # waited in the channel's queue: sending now could publish it twice.
            log.warning("%s was taken over by another publisher; not sending", row.ref)
            return Outcome(row.id, row.ref, "taken_over", "claimed by another publisher")
        began = time.monotonic()
        try:
            try:
                result = adapter.publish(post)
            finally:  # a timeout or a refusal counts too: a failing platform is slow
                self.pacer.timed(row.channel, time.monotonic() - began)
        except OutcomeUnknown as exc:
            msg = redact(str(exc), secrets)
            done = self.store.mark_needs_check(row.id, msg, token=token)
            return self._record(Outcome(row.id, row.ref, "needs_check", msg, row=done))
        except (RateLimited, TransientPublishError) as exc:
            msg = redact(str(exc), secrets)
            # Attempts that ended waiting for the platform to process a video are not
            # failures: only the others count towards max_attempts (the deadline still
            # bounds the waiting).
            failed = row.attempts - processing_waits(adapter.progress(post))
            if failed >= self.max_attempts:
                final = f"gave up after {row.attempts} attempts: {msg}"
                done = self.store.mark_failed(row.id, final, token=token)
                return self._record(Outcome(row.id, row.ref, "failed", final, row=done))
            return self._retry_later(row, token, msg, sane_retry_after(exc.retry_after),
                                     attempts=max(failed, 1))
        except (AuthError, PermanentPublishError, PostqError) as exc:
            msg = redact(str(exc), secrets)
            done = self.store.mark_failed(row.id, msg, token=token)
            return self._record(Outcome(row.id, row.ref, "failed", msg, row=done))
        except Exception as exc:
            # An adapter bug after the request may have gone out: the outcome is unknown.
            msg = redact(f"adapter error: {type(exc).__name__}: {exc}", secrets)
            done = self.store.mark_needs_check(row.id, msg, token=token)
            return self._record(Outcome(row.id, row.ref, "needs_check", msg, row=done))
        done = self._mark_published(row, result.remote_id, result.url, token)
        return self._record(Outcome(row.id, row.ref, "published",
                                    result.url or result.remote_id, row=done))

    def _still_mine(self, row: Any, token: int | None) -> bool:
        """Whether this worker still holds the claim, just before sending: from the
        check made with the channel's previous outcome when that was just now, else
        asked of the store."""
        early = self.lanes.take_check(row)
        if early is not None:
            return early
        return self.store.still_mine(row.id, worker=self.worker, attempts=row.attempts,
                                     token=token)

    def _mark_published(self, row: Any, remote_id: str, url: str | None,
                        token: int | None) -> Any:
        """Record a publication; with another claim waiting on the channel, check that
        one in the same transaction (see :meth:`_still_mine`)."""
        following = self.lanes.following(row.channel)
        if following is None:
            return self.store.mark_published(row.id, remote_id, url, token=token)
        done, mine = self.store.mark_published_checking(
            row.id, remote_id, url, token=token, following=following, worker=self.worker)
        self.lanes.checked(following, mine)
        return done

    def _retry_later(self, row: Any, token: int | None, msg: str,
                     retry_after: float | None, attempts: int | None = None) -> Outcome:
        """Back off, but never past the delivery's deadline: a platform asking for a wait
        beyond it (``Retry-After: 99999999999``) is cut short there, with a notice.
        ``attempts`` (the failed ones) sets the back-off; by default every attempt."""
        now = self.clock.now()
        wake = now + retry_delay(attempts or row.attempts, self.retry_base, retry_after,
                                 self.rng)
        deadline, why = self.store.deadline(row)
        if retry_after is None or wake <= deadline:
            done = self.store.mark_retry(row.id, msg, wake, token=token)
            return self._record(Outcome(row.id, row.ref, "retry_wait", msg, row=done))
        asked = "the platform asked to wait " + (
            "over a year" if retry_after >= MAX_RETRY_AFTER
            else format_duration(timedelta(seconds=retry_after)))
        if deadline <= now:
            reason = f"{msg}; {asked}, past {why} ({self.store.local(deadline)})"
            done = self.store.mark_missed(row.id, reason, token=token)
            return self._record(Outcome(row.id, row.ref, "missed", reason, row=done))
        reason = (f"{msg}; {asked}: waiting only until {self.store.local(deadline)} "
                  f"({why})")
        done = self.store.mark_retry(row.id, reason, deadline, token=token)
        return self._record(Outcome(row.id, row.ref, "retry_wait", reason, notify=True,
                                    row=done))

    def _record(self, outcome: Outcome) -> Outcome:
        if self.keep_outcomes:
            with self._lock:
                self.outcomes.append(outcome)
        if self.on_event:
            try:
                self.on_event(outcome)
            except Exception:
                log.exception("the event for %s could not be reported", outcome.ref)
        wanted = outcome.notify or outcome.state in ("failed", "needs_check", "missed", "held")
        if wanted and self.on_outcome:
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
        for did, reason in self.store.take_held(worker=self.worker):
            ref = did.split("#", 1)[0]
            self._record(Outcome(did, ref, "held", reason, notify=True))

    # -- settling unknown outcomes ------------------------------------------------------
    def reconcile(self) -> list[Outcome]:
        """Turn abandoned ``publishing`` rows into ``needs_check`` and settle each with
        the platform's answer: published if it has the post, back to the queue if it
        certainly does not, left for a person if it cannot tell.

        A row is abandoned when the publisher that claimed it has sent no heartbeat for
        ``stale_after``; a slow upload by a live publisher is left alone.
        """
        # Who is alive is judged on the database's clock (see Store.abandoned_claims),
        # never on this process's: its clock may be a minute off the claimant's.
        for row in self.store.abandoned_claims(self.stale_after, exclude_worker=self.worker):
            try:
                self.store.take_over(row, f"publisher {row.claimed_by} stopped mid-call",
                                     who=self.worker)
            except PostqError:
                continue  # it finished, or was settled or claimed again, meanwhile
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
            return Outcome(row.id, row.ref, "needs_check", redact(f"still unknown: {exc}"))
        except PostqError as exc:
            return Outcome(row.id, row.ref, "needs_check", redact(f"check failed: {exc}"))
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
        for row in self.store.due_preview(
                now, require_approval=self.settings.postq.require_approval):
            adapter = self.adapter(row.channel)
            post = self.store.outgoing(row)
            out.append((row, post, adapter.plan_parts(post)))
        return out

    def beat(self) -> None:
        self.store.heartbeat(self.worker, {"pid": os.getpid(),
                                           "in_flight": self.lanes.in_flight()})


def _resolve_paths(raw: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Relative ``path`` settings are relative to postq.toml, like every other path, the
    ``media_host`` folder included: never to whichever folder the publisher started in."""
    out = {k: v for k, v in raw.items() if v is not None or k in ("adapter",)}
    if isinstance(out.get("path"), str):
        out["path"] = str(settings.resolve(out["path"]))
    host = out.get("media_host")
    if isinstance(host, dict) and isinstance(host.get("path"), str):
        path = Path(host["path"]).expanduser()
        out["media_host"] = {**host, "path": str(settings.resolve(path))}
    return out
