"""The publisher's side of the store: claiming due deliveries and recording outcomes.

Claiming re-checks every rule at the last moment — approval of the exact content hash,
the pause switches, the post's deadline (closing date, event time) and the late grace —
because hours may pass between queueing and publishing. The claim itself is the
conditional update of :meth:`StoreBase._move`: of two publishers reading the same due
row, only the one whose update still finds it ``scheduled`` wins.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from scheduler.errors import UsageError
from scheduler.store.base import StoreBase
from scheduler.store.rows import Claimed, DeliveryRow
from scheduler.store.schema import GLOBAL_PAUSE, T
from scheduler.timeutil import format_duration


class PublishOps(StoreBase):
    """What ``postq run`` calls."""

    def claim_due(self, now: datetime, *, worker: str, limit: int = 50) -> list[Claimed]:
        """Deliveries due by ``now`` that this worker alone may now publish.

        Returns them in ``publishing`` with ``attempts`` already incremented. Deliveries
        that may no longer go out are settled here: past their deadline or later than the
        grace → ``missed``; approval no longer matching the content → back to
        ``awaiting_approval``. Paused channels are left untouched.
        """
        d, p, pz = T["deliveries"], T["posts"], T["pauses"]
        claimed: list[str] = []
        with self._write() as conn:
            paused = set(conn.execute(select(pz.c.channel)).scalars())
            if GLOBAL_PAUSE in paused:
                return []
            where = [d.c.state.in_(("scheduled", "retry_wait")), d.c.wake_at <= now]
            if paused:
                where.append(d.c.channel.not_in(sorted(paused)))
            due = self._deliveries(conn, where, order=(d.c.wake_at, d.c.id), limit=limit)
            posts = {
                (r.post_id, r.revision): r
                for r in conn.execute(select(p).where(p.c.post_id.in_({x.post_id for x in due})))
            }
            for row in due:
                post = posts[(row.post_id, row.revision)]
                if self._settle_unpublishable(conn, row, post, now, worker):
                    continue
                if self._move(conn, row, "publishing", action="claim", who=worker,
                              reason=f"attempt {row.attempts + 1}",
                              attempts=d.c.attempts + 1, claimed_by=worker, claimed_at=now):
                    claimed.append(row.id)
            return self._deliveries(conn, [d.c.id.in_(claimed)], order=(d.c.wake_at, d.c.id),
                                    with_media=True) if claimed else []

    def _settle_unpublishable(
        self, conn: Connection, row: DeliveryRow, post: Any, now: datetime, worker: str,
    ) -> bool:
        if post.approval_required and post.approved_hash != post.content_hash:
            self._move(conn, row, "awaiting_approval", action="unapprove", who=worker,
                       reason="the approval does not match the queued content")
            return True
        if post.publish_before is not None and now >= post.publish_before:
            why = post.publish_before_reason or "its deadline"
            self._move(conn, row, "missed", action="miss", who=worker,
                       reason=f"not out before {self.local(post.publish_before)} ({why})")
            return True
        late = now - row.wake_at
        if late > self.late_grace:
            self._move(conn, row, "missed", action="miss", who=worker,
                       reason=f"found {format_duration(late)} late, more than the grace of "
                              f"{format_duration(self.late_grace)}")
            return True
        return False

    def outgoing(self, claimed: DeliveryRow | str) -> Any:
        """The :class:`~scheduler.adapters.base.OutgoingPost` of a claimed delivery.

        Each image is checked against the hash it was approved under, so a file changed
        on disk can never be published in its place.
        """
        from scheduler.adapters.base import OutgoingImage, OutgoingPost

        did = claimed if isinstance(claimed, str) else claimed.id
        d, p = T["deliveries"], T["posts"]
        with self._read() as conn:
            rows = self._deliveries(conn, [d.c.id == did], with_media=True)
            if not rows:
                raise UsageError(f"no delivery has the id '{did}'")
            row = rows[0]
            post = conn.execute(select(p.c.language, p.c.content_hash).where(
                p.c.post_id == row.post_id, p.c.revision == row.revision)).one()
        images = []
        for m in row.media:
            self.media.verify(m.path, m.sha256)
            images.append(OutgoingImage(path=m.path, mime=m.mime, alt=m.alt, width=m.width,
                                        height=m.height, sha256=m.sha256, focus=m.focus))
        return OutgoingPost(
            delivery_id=row.id, post_id=row.post_id, channel=row.channel, caption=row.caption,
            images=tuple(images), language=post.language, content_hash=post.content_hash,
            due_at=row.due_at, attempt=max(row.attempts, 1), remote_state=row.remote_state,
        )

    # -- outcomes -----------------------------------------------------------------------
    def mark_published(self, delivery_id: str, remote_id: str, url: str | None = None, *,
                       who: str | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "published", ("publishing", "needs_check"),
                            action="publish", who=who, reason=url or remote_id,
                            remote_id=remote_id, remote_url=url, published_at=self._now(),
                            last_error=None)

    def mark_retry(self, delivery_id: str, error: str, next_attempt_at: datetime, *,
                   who: str | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "retry_wait", ("publishing",), action="retry_later",
                            who=who, reason=error, last_error=error, wake_at=next_attempt_at)

    def mark_failed(self, delivery_id: str, error: str, *, who: str | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "failed", ("publishing", "needs_check", "retry_wait"),
                            action="fail", who=who, reason=error, last_error=error)

    def mark_needs_check(self, delivery_id: str, reason: str, *,
                         who: str | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "needs_check", ("publishing",), action="needs_check",
                            who=who, reason=reason, last_error=reason)

    def mark_missed(self, delivery_id: str, reason: str, *, who: str | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "missed",
                            ("awaiting_approval", "scheduled", "retry_wait", "publishing"),
                            action="miss", who=who, reason=reason)

    def _settle(self, delivery_id: str, to: str, allowed: tuple[str, ...], *, action: str,
                who: str | None, reason: str | None, **values: Any) -> DeliveryRow:
        d = T["deliveries"]
        with self._write() as conn:
            rows = self._deliveries(conn, [d.c.id == delivery_id])
            if not rows:
                raise UsageError(f"no delivery has the id '{delivery_id}'")
            row = rows[0]
            if row.state not in allowed:
                raise UsageError(
                    f"delivery {row.ref} is {row.state}; it cannot become {to} from there"
                )
            self._move_or_fail(conn, row, to, action=action, who=who or row.claimed_by,
                               reason=reason, **values)
            return self._deliveries(conn, [d.c.id == delivery_id])[0]

    def stale_publishing(self, older_than: datetime | None = None) -> list[DeliveryRow]:
        """Deliveries left in ``publishing`` (a publisher died mid-call), oldest first."""
        d = T["deliveries"]
        where = [d.c.state == "publishing"]
        if older_than is not None:
            where.append(d.c.claimed_at < older_than)
        with self._read() as conn:
            return self._deliveries(conn, where, order=(d.c.claimed_at, d.c.id),
                                    with_media=True)

    def save_remote_state(self, delivery_id: str, data: dict[str, Any]) -> None:
        """Keep what the adapter learnt (container ids, record keys) for the next attempt.

        Replaces the whole document: the adapter passes everything it wants kept.
        """
        d = T["deliveries"]
        with self._write() as conn:
            done = conn.execute(d.update().where(d.c.id == delivery_id).values(
                remote_state=json.dumps(data, default=str, sort_keys=True)))
            if done.rowcount != 1:
                raise UsageError(f"no delivery has the id '{delivery_id}'")
