"""The publisher's channel workers: one thread per channel, and what waits on each.

A slow or failing platform holds up only its own channel. Each channel's claimed
deliveries are sent one after another in claiming order; the lanes remember which are
waiting, so recording one outcome can also check the claim the channel sends next (see
``Store.mark_published_checking``), and they keep that check's answer until the send.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: How long a claim check made while recording the channel's previous outcome stands in
#: for one made just before sending: a small part of the least ``stale_after`` (two
#: seconds), the silence after which another publisher may take a claim over.
CHECK_FRESH_S = 0.25


class Lanes:
    """Channel workers; ``on_idle(channel)`` runs when a channel's last job ends."""

    def __init__(self, on_idle: Callable[[str], None]) -> None:
        self._on_idle = on_idle
        self._lock = threading.Lock()
        self._executors: dict[str, ThreadPoolExecutor] = {}
        self._inflight: dict[str, int] = {}
        self._futures: set[Future[Any]] = set()
        #: Claimed deliveries handed to each channel and not yet started, in order.
        self._waiting: dict[str, deque[Any]] = {}
        #: channel → (delivery id, claim token, still ours, when checked): the check made
        #: for the claim the channel sends next. One per channel, replaced by the next, so
        #: a claim that ends before its send (failed, held back) leaves nothing behind.
        self._checked: dict[str, tuple[str, int | None, bool, float]] = {}

    def busy(self) -> set[str]:
        """Channels with a job running or waiting."""
        with self._lock:
            return {ch for ch, n in self._inflight.items() if n > 0}

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._inflight.values())

    def submit(self, channel: str, job: Callable[[], Any], *, claim: Any = None) -> None:
        """Run ``job`` on ``channel``'s worker after what is already there; ``claim``
        is the claimed delivery it publishes (retractions have none)."""
        with self._lock:
            ex = self._executors.get(channel)
            if ex is None:
                ex = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"postq-{channel}")
                self._executors[channel] = ex
            self._inflight[channel] = self._inflight.get(channel, 0) + 1
            if claim is not None:
                self._waiting.setdefault(channel, deque()).append(claim)
            fut = ex.submit(job)
            self._futures.add(fut)
        fut.add_done_callback(lambda f: self._done(f, channel))

    def _done(self, fut: Future[Any], channel: str) -> None:
        with self._lock:
            self._futures.discard(fut)
            self._inflight[channel] -= 1
            idle = self._inflight[channel] == 0
        if idle:
            self._on_idle(channel)

    def started(self, claim: Any) -> None:
        """``claim``'s job began: it no longer waits."""
        with self._lock:
            waiting = self._waiting.get(claim.channel)
            # A channel's one worker starts its jobs in submission order: the first.
            if waiting and waiting[0] is claim:
                waiting.popleft()

    def following(self, channel: str) -> Any:
        """The claim ``channel`` sends next, if one waits."""
        with self._lock:
            waiting = self._waiting.get(channel)
            return waiting[0] if waiting else None

    def checked(self, claim: Any, mine: bool) -> None:
        """Whether ``claim`` was still ours, as just read."""
        with self._lock:
            self._checked[claim.channel] = (claim.id, getattr(claim, "claim_token", None),
                                            mine, time.monotonic())

    def take_check(self, claim: Any) -> bool | None:
        """The answer :meth:`checked` kept for this very claim if it is still fresh
        (:data:`CHECK_FRESH_S`), else None: then it must be asked again."""
        with self._lock:
            early = self._checked.pop(claim.channel, None)
        if (early is None or early[:2] != (claim.id, getattr(claim, "claim_token", None))
                or time.monotonic() - early[3] > CHECK_FRESH_S):
            return None
        return early[2]

    def drain(self) -> None:
        """Wait for every job in flight."""
        while True:
            with self._lock:
                pending = list(self._futures)
            if not pending:
                return
            for f in pending:
                f.result()

    def shutdown(self) -> None:
        for ex in list(self._executors.values()):
            ex.shutdown(wait=True)
