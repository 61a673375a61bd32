"""How many due deliveries one claim should take: about a fixed span of the channels' work.

A claim has a fixed cost (a write transaction, the pause and blackout reads, the audit
events) that a batch of ten pays a tenth of per delivery. Against a platform that answers
in a second that is nothing; against a channel that answers in two milliseconds (the local
outbox, a nearby server) it is a quarter of all the work. So a claim takes of each
channel what it can publish in :data:`HORIZON_S`, never fewer than the publisher's
``batch`` and never more than :data:`MOST`.

What is claimed and not yet sent waits in ``publishing``; if the publisher dies, each such
delivery is settled by asking the platform (see ``Publisher.reconcile``). Sizing the claim
by time keeps that backlog to a fraction of a second of work whatever the platform's pace:
a slow channel, or one not yet timed, gets the plain ``batch``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

#: Seconds of work one claim may hand a channel.
HORIZON_S = 0.5
#: The most one claim takes, however fast the channels are.
MOST = 100
#: Weight of the newest call in a channel's running pace.
_NEWEST = 0.2


class ClaimPacer:
    """Each channel's recent seconds per publication, and the claim size they allow."""

    def __init__(self, batch: int) -> None:
        self.batch = batch
        self._pace: dict[str, float] = {}
        self._lock = threading.Lock()

    def timed(self, channel: str, seconds: float) -> None:
        """One publication's call to the platform took ``seconds``, whatever came of it.

        A platform that starts timing out makes its channel slow at once: one 30-second
        call brings the next claim back to the plain batch. (What the current claim
        holds still goes out, or fails, one by one.)"""
        with self._lock:
            before = self._pace.get(channel)
            self._pace[channel] = (seconds if before is None
                                   else before + _NEWEST * (seconds - before))

    def claim_sizes(self, channels: Iterable[str]) -> dict[str, int]:
        """How many one claim may take of each of ``channels``: what the channel
        publishes in :data:`HORIZON_S`. A channel never timed may be a slow one, so it
        gets the plain ``batch``."""
        with self._lock:
            return {ch: self._size(self._pace.get(ch)) for ch in channels}

    def _size(self, pace: float | None) -> int:
        if pace is None:
            return self.batch
        fits = int(HORIZON_S / pace) if pace > 0 else MOST
        return max(self.batch, min(MOST, fits))
