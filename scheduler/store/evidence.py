"""What the publisher needs to check a claimed delivery's signatures, and the hold.

Read straight from the rows, not from anything cached at queueing: the check at claim
time is meant to catch rows edited in the database since (a caption, a state, an
approval), so it must look at what is there now. The claim reads it in its own
transaction, from the very rows it hands to the adapter, so what is checked is what is
sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from scheduler.errors import UsageError
from scheduler.store.base import StoreBase
from scheduler.store.rows import DeliveryRow
from scheduler.store.schema import T


@dataclass(frozen=True)
class ClaimEvidence:
    """One delivery, its post revision and every channel of that revision."""

    post_id: str
    revision: int
    language: str
    content_hash: str
    approval_required: bool
    queued_by: str
    queued_sig: str | None
    delivery: DeliveryRow
    due_at: datetime
    approved_by: str | None
    approval: str | None
    siblings: tuple[DeliveryRow, ...]
    #: ``[channel, offset, caption, [sha256...]]`` of each reminder of the revision.
    reminders: tuple[tuple[str, str, str, tuple[str, ...]], ...] = ()


class EvidenceOps(StoreBase):
    """Reads for :mod:`scheduler.team.gate` and the hold it may order."""

    def claim_evidence(self, delivery_id: str) -> ClaimEvidence:
        with self._read() as conn:
            found = self._evidence(conn, [delivery_id])
        if delivery_id not in found:
            raise UsageError(f"no delivery has the id '{delivery_id}'")
        return found[delivery_id]

    def _evidence(self, conn: Connection, ids: list[str], *,
                  raws: Mapping[str, Any] | None = None,
                  posts: Mapping[int, Any] | None = None) -> dict[str, ClaimEvidence]:
        """The evidence of each of ``ids`` in three queries, whatever their number (the
        claim reads it for a whole batch in its own transaction).

        The claim passes what it already holds from the same transaction: ``raws``, the
        :func:`evidence_columns` of each delivery as its UPDATE returned them, and
        ``posts``, post rows by their id; those are not read again.
        """
        d, p = T["deliveries"], T["posts"]
        if raws is None:
            raws = {r.id: r for r in conn.execute(select(*evidence_columns()).where(
                d.c.id.in_(ids)))}
        raws = {i: raws[i] for i in ids if i in raws}
        if not raws:
            return {}
        post_rows = {r.post_row for r in raws.values()}
        posts = dict(posts or {})
        if not post_rows <= posts.keys():
            posts.update((r.id, r) for r in conn.execute(
                select(p).where(p.c.id.in_(post_rows - posts.keys()))))
        family: dict[tuple[str, int], list[DeliveryRow]] = {}
        for sib in self._deliveries(conn, [d.c.post_row.in_(post_rows)],
                                    order=(d.c.channel, d.c.id), with_media=True):
            family.setdefault((sib.post_id, sib.revision), []).append(sib)
        out = {}
        for did, raw in raws.items():
            post: Any = posts[raw.post_row]
            siblings = family[(post.post_id, post.revision)]
            out[did] = ClaimEvidence(
                post_id=post.post_id, revision=post.revision, language=post.language,
                content_hash=post.content_hash,
                approval_required=bool(post.approval_required), queued_by=post.queued_by,
                queued_sig=post.queued_sig, delivery=next(s for s in siblings if s.id == did),
                due_at=raw.due_at, approved_by=raw.approved_by, approval=raw.approval,
                siblings=tuple(siblings), reminders=_reminders(post.details),
            )
        return out

    def hold(self, delivery_id: str, reason: str, *, who: str) -> DeliveryRow:
        """``publishing`` → ``awaiting_approval``: it may not go out as it stands; a
        person must look at it (and approve again, signed)."""
        d = T["deliveries"]
        with self._write() as conn:
            rows = self._deliveries(conn, [d.c.id == delivery_id])
            if not rows or rows[0].state != "publishing":
                raise UsageError(f"delivery {delivery_id} is no longer being published")
            self._move_or_fail(conn, rows[0], "awaiting_approval", action="hold", who=who,
                               reason=reason, last_error=reason, claimed_by=None,
                               claimed_at=None)
            return self._deliveries(conn, [d.c.id == delivery_id])[0]


def evidence_columns() -> tuple[Any, ...]:
    """The delivery columns :meth:`EvidenceOps._evidence` needs besides the rows."""
    d = T["deliveries"]
    return (d.c.id, d.c.post_row, d.c.due_at, d.c.approved_by, d.c.approval)


def _reminders(details: str | None) -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """The reminders recorded on the posts row (none for rows queued before reminders)."""
    try:
        found = json.loads(details or "{}").get("reminders") or []
        return tuple((str(c), str(o), str(cap), tuple(str(x) for x in shas))
                     for c, o, cap, shas in found)
    except (ValueError, TypeError, AttributeError):
        # Damaged: recorded as none, so the recomputed hash cannot match and it is held.
        return ()
