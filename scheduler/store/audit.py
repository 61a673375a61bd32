"""The append-only audit trail: who did what to which delivery, when, and why.

Every state change is written by :func:`record` in the same transaction as the change
itself, so the trail can never disagree with the queue. Nothing updates or deletes an
event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from scheduler.store.rows import EventRow
from scheduler.store.schema import T


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
) -> None:
    """Append one event."""
    conn.execute(
        T["events"].insert().values(
            at=at, who=who, action=action, post_id=post_id, delivery_id=delivery_id,
            channel=channel, state_before=before, state_after=after, reason=reason,
        )
    )


def read(conn: Connection, post_id: str | None = None, limit: int | None = None) -> list[EventRow]:
    """Events in the order they happened, for one post or for everything."""
    ev = T["events"]
    q = select(ev).order_by(ev.c.id)
    if post_id is not None:
        q = q.where(ev.c.post_id == post_id)
    if limit is not None:
        q = q.limit(limit)
    return [
        EventRow(
            id=r.id, at=r.at, who=r.who, action=r.action, post_id=r.post_id,
            delivery_id=r.delivery_id, channel=r.channel, state_before=r.state_before,
            state_after=r.state_after, reason=r.reason,
        )
        for r in conn.execute(q)
    ]
