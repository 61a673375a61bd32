"""The append-only audit trail: who did what to which delivery, when, and why.

Every state change is written by :func:`record` in the same transaction as the change
itself, so the trail can never disagree with the queue. Nothing updates or deletes an
event.

The trail is tamper-evident: each event stores the hash of the one before it
(``prev_chain``) and its own hash over that and every field (``chain``), and where a
person acted, their signed statement (``signed``). An event edited in the database no
longer matches its own hash; one deleted or inserted breaks the link to its neighbour.
:func:`scheduler.store.chain.verify_trail` names the first event that does not fit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, select, text

from scheduler.store.chain import GENESIS, event_digest
from scheduler.store.rows import EventRow
from scheduler.store.schema import T

#: ``Connection.info`` key: the transaction that holds the chain's lock.
_LOCKED_IN = "postq_chain_locked_in"


def chain_lock(conn: Connection, *, lazy: bool = False) -> None:
    """On PostgreSQL, hold the audit chain's lock until the transaction ends.

    Two transactions appending at once must not both link to the same predecessor;
    SQLite's write transactions are already serialised by BEGIN IMMEDIATE. Taking it
    again in the same transaction would be harmless (advisory locks are re-entrant) but
    costs a round trip on every write, so the transaction that holds it is remembered.
    ``lazy``: in the same round trip, this transaction's commit does not wait for the WAL
    flush (see :mod:`scheduler.store.db` for which commits may).
    """
    if conn.dialect.name != "postgresql":
        return
    held = conn.get_transaction()
    if held is not None and conn.info.get(_LOCKED_IN) is held:
        return
    conn.execute(_LAZY_LOCK if lazy else _LOCK)
    conn.info[_LOCKED_IN] = conn.get_transaction()


_LOCK = text("SELECT pg_advisory_xact_lock(4242002)")
_LAZY_LOCK = text("SELECT pg_advisory_xact_lock(4242002), "
                  "set_config('synchronous_commit', 'off', true)")


@lru_cache(maxsize=1)
def last_link() -> Any:
    """The newest event's ``chain`` as a scalar subquery, built once (a statement costs
    more to build than SQLite takes to run it). Read only after :func:`chain_lock`: a
    write can also return it beside its own result, sparing a statement (see
    :func:`record_many`'s ``prev``)."""
    ev = T["events"]
    return select(ev.c.chain).order_by(ev.c.id.desc()).limit(1).scalar_subquery()


def _last_chain(conn: Connection) -> str:
    chain_lock(conn)
    return conn.execute(select(last_link())).scalar() or GENESIS


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
    prev: str | None = None,
) -> None:
    """Append one event, linked to the one before it; ``signed`` is the person's
    ``{"doc", "sig"}`` where a person acted; ``prev`` as for :func:`record_many`."""
    record_many(conn, [Event(at, who, action, post_id, delivery_id, channel, before, after,
                             reason, signed)], prev=prev)


@dataclass(frozen=True)
class Event:
    """One event to append (see :func:`record`)."""

    at: datetime
    who: str
    action: str
    post_id: str | None = None
    delivery_id: str | None = None
    channel: str | None = None
    before: str | None = None
    after: str | None = None
    reason: str | None = None
    signed: dict[str, str] | None = None


def record_many(conn: Connection, events: list[Event], *, prev: str | None = None) -> None:
    """Append ``events`` in order, each linked to the one before: one read of the last
    link and one multi-row insert, however many (a claim records a batch at once).

    ``prev`` is the last link when the caller read it already, in this transaction and
    after this transaction took the chain's lock (:func:`last_link` beside its own
    write), GENESIS for none.
    """
    if not events:
        return
    if prev is None:
        prev = _last_chain(conn)
    else:
        chain_lock(conn)  # held already by then: costs nothing, guards a careless caller
    rows = []
    for e in events:
        sig = json.dumps(e.signed, sort_keys=True) if e.signed else None
        chain = event_digest(prev, e.at, e.who, e.action, e.post_id, e.delivery_id,
                             e.channel, e.before, e.after, e.reason, sig)
        rows.append({"at": e.at, "who": e.who, "action": e.action, "post_id": e.post_id,
                     "delivery_id": e.delivery_id, "channel": e.channel,
                     "state_before": e.before, "state_after": e.after, "reason": e.reason,
                     "prev_chain": prev, "chain": chain, "signed": sig})
        prev = chain
    # One row as a plain execute: executemany's machinery costs more than the row.
    conn.execute(_append(), rows[0] if len(rows) == 1 else rows)


@lru_cache(maxsize=1)
def _append() -> Any:
    return T["events"].insert()


def rechain(conn: Connection) -> None:
    """Link every event already in the database (the upgrade that adds the chain)."""
    ev = T["events"]
    prev = GENESIS
    for r in list(conn.execute(select(ev).order_by(ev.c.id))):
        chain = event_digest(prev, r.at, r.who, r.action, r.post_id, r.delivery_id, r.channel,
                             r.state_before, r.state_after, r.reason, None)
        conn.execute(ev.update().where(ev.c.id == r.id).values(prev_chain=prev, chain=chain))
        prev = chain


def read(conn: Connection, post_id: str | None = None, limit: int | None = None, *,
         newest: int | None = None) -> list[EventRow]:
    """Events in the order they happened, for one post or for everything; ``newest``
    keeps only the last so many (still oldest first)."""
    ev = T["events"]
    q = select(ev).order_by(ev.c.id.desc() if newest is not None else ev.c.id)
    if post_id is not None:
        q = q.where(ev.c.post_id == post_id)
    if newest is not None:
        q = q.limit(newest)
    elif limit is not None:
        q = q.limit(limit)
    rows = [event_row(r) for r in conn.execute(q)]
    return rows[::-1] if newest is not None else rows


def event_row(r: Any) -> EventRow:
    return EventRow(
        id=r.id, at=r.at, who=r.who, action=r.action, post_id=r.post_id,
        delivery_id=r.delivery_id, channel=r.channel, state_before=r.state_before,
        state_after=r.state_after, reason=r.reason, prev_chain=r.prev_chain, chain=r.chain,
        signed=r.signed,
    )
