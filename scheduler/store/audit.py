"""The append-only audit trail: who did what to which delivery, when, and why.

Every state change is written by :func:`record` in the same transaction as the change
itself, so the trail can never disagree with the queue. Nothing updates or deletes an
event.

The trail is tamper-evident: each event stores the hash of the one before it
(``prev_chain``) and its own hash over that and every field (``chain``), and where a
person acted, their signed statement (``signed``). An event edited in the database no
longer matches its own hash; one deleted or inserted breaks the link to its neighbour.
:func:`verify_trail` names the first event that does not fit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, text

from scheduler.store.rows import EventRow
from scheduler.store.schema import T

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


def _last_chain(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        # Two transactions appending at once must not both link to the same predecessor;
        # SQLite's write transactions are already serialised by BEGIN IMMEDIATE.
        conn.execute(text("SELECT pg_advisory_xact_lock(4242002)"))
    ev = T["events"]
    last = conn.execute(select(ev.c.chain).order_by(ev.c.id.desc()).limit(1)).scalar()
    return last or GENESIS


def record(
    conn: Connection,
    *,
    at: datetime,
    who: str,
    action: str,
    post_id: str | None = None,
    delivery_id: str | None = None,
    channel: str | None = None,
    before: str | None = None,
    after: str | None = None,
    reason: str | None = None,
    signed: dict[str, str] | None = None,
) -> None:
    """Append one event, linked to the one before it; ``signed`` is the person's
    ``{"doc", "sig"}`` where a person acted."""
    sig = json.dumps(signed, sort_keys=True) if signed else None
    prev = _last_chain(conn)
    chain = event_digest(prev, at, who, action, post_id, delivery_id, channel, before, after,
                         reason, sig)
    conn.execute(
        T["events"].insert().values(
            at=at, who=who, action=action, post_id=post_id, delivery_id=delivery_id,
            channel=channel, state_before=before, state_after=after, reason=reason,
            prev_chain=prev, chain=chain, signed=sig,
        )
    )


def rechain(conn: Connection) -> None:
    """Link every event already in the database (the upgrade that adds the chain)."""
    ev = T["events"]
    prev = GENESIS
    for r in list(conn.execute(select(ev).order_by(ev.c.id))):
        chain = event_digest(prev, r.at, r.who, r.action, r.post_id, r.delivery_id, r.channel,
                             r.state_before, r.state_after, r.reason, None)
        conn.execute(ev.update().where(ev.c.id == r.id).values(prev_chain=prev, chain=chain))
        prev = chain


def read(conn: Connection, post_id: str | None = None, limit: int | None = None) -> list[EventRow]:
    """Events in the order they happened, for one post or for everything."""
    ev = T["events"]
    q = select(ev).order_by(ev.c.id)
    if post_id is not None:
        q = q.where(ev.c.post_id == post_id)
    if limit is not None:
        q = q.limit(limit)
    return [event_row(r) for r in conn.execute(q)]


def event_row(r: Any) -> EventRow:
    return EventRow(
        id=r.id, at=r.at, who=r.who, action=r.action, post_id=r.post_id,
        delivery_id=r.delivery_id, channel=r.channel, state_before=r.state_before,
        state_after=r.state_after, reason=r.reason, prev_chain=r.prev_chain, chain=r.chain,
        signed=r.signed,
    )


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


def verify_trail(events: Sequence[EventRow], check: SignatureCheck | None = None) -> TrailCheck:
    """Walk the whole trail oldest first; the first event that does not fit is named."""
    prev, prev_id, signatures = GENESIS, None, 0
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
        if e.signed:
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
