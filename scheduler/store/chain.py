"""The audit trail's hash chain, free of SQLAlchemy so ``status`` can check it on the
fast read path.

Each event's ``chain`` is SHA-256 over the previous event's ``chain`` and every field of
its own, signature included. An event edited in the database no longer matches its own
hash; one deleted or inserted breaks the link to its neighbour.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from scheduler.store.rows import EventRow

#: The ``prev_chain`` of the first event.
GENESIS = "0" * 64


def event_digest(prev: str, at: datetime, who: str, action: str, post_id: str | None,
                 delivery_id: str | None, channel: str | None, before: str | None,
                 after: str | None, reason: str | None, signed: str | None) -> str:
    """The chain hash of one event: SHA-256 over the previous hash and every field."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = json.dumps([prev, stamp, who, action, post_id, delivery_id, channel, before,
                       after, reason, signed], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrailCheck:
    """The outcome of :func:`verify_trail`: ``problem`` is None when the trail holds."""

    events: int
    signatures: int
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


#: ``(who, doc, sig, at) -> whether the signature is good``; None checks no signatures.
SignatureCheck = Callable[[str, str, str, datetime], bool]


def verify_trail(events: Sequence[EventRow], check: SignatureCheck | None = None,
                 signed_ids: Collection[int] | None = None, *,
                 from_start: bool = True) -> TrailCheck:
    """Walk the trail oldest first; the first event that does not fit is named.

    ``signed_ids`` limits the signature checks (each is a call to ``ssh-keygen``) to those
    events. ``from_start=False`` checks a tail of the trail: its first event's link to
    the one before it is taken as given.
    """
    prev, prev_id, signatures = GENESIS, None, 0
    if not from_start and events:
        prev = events[0].prev_chain or GENESIS
    for e in events:
        after = f"after event {prev_id}" if prev_id is not None else "at the start"
        if not e.chain or not e.prev_chain:
            return TrailCheck(len(events), signatures,
                              f"event {e.id} has no chain hash: it was inserted outside postq")
        own = event_digest(e.prev_chain, e.at, e.who, e.action, e.post_id, e.delivery_id,
                           e.channel, e.state_before, e.state_after, e.reason, e.signed)
        if own != e.chain:
            return TrailCheck(len(events), signatures,
                              f"event {e.id} was changed after it was recorded")
        if e.prev_chain != prev:
            return TrailCheck(len(events), signatures,
                              f"event {e.id} does not follow the event before it: an event "
                              f"{after} was deleted, or event {e.id} was inserted")
        if e.signed and (signed_ids is None or e.id in signed_ids):
            try:
                doc = json.loads(e.signed)
                good = check is None or check(e.who, doc["doc"], doc["sig"], e.at)
            except (ValueError, KeyError, TypeError):
                good = False
            if not good:
                return TrailCheck(len(events), signatures,
                                  f"event {e.id} ({e.action} by {e.who}): the signature "
                                  "does not verify against the allowed-signers file")
            signatures += 1
        prev, prev_id = e.chain, e.id
    return TrailCheck(len(events), signatures)
