"""Queueing a post and the changes people make to it afterwards.

``add`` is all or nothing: the post rows, every delivery, every media reference and the
media files themselves are made under one write transaction. Media files are written
inside it, before the commit, and only for hashes not already on disk; if anything fails
the files this call created are removed while the write lock is still held, so another
``add`` cannot have started to rely on them. A crash after the files are written but
before the commit leaves unreferenced files, never rows pointing at missing ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text

from scheduler.content.snapshot import ChannelSnapshot, PostSnapshot
from scheduler.errors import UsageError
from scheduler.store import audit
from scheduler.store.base import StoreBase
from scheduler.store.rows import DeliveryRow
from scheduler.store.schema import T
from scheduler.team.documents import action_doc, approval_doc, queue_doc

if TYPE_CHECKING:
    from scheduler.team import Signed

CANCELLABLE = ("awaiting_approval", "scheduled", "retry_wait")
RESCHEDULABLE = ("awaiting_approval", "scheduled", "retry_wait", "missed")
RETRYABLE = ("failed", "needs_check")

_STATE_WORDS = {
    "awaiting_approval": "is awaiting approval",
    "scheduled": "is scheduled",
    "publishing": "is being published right now",
    "published": "is already published",
    "retry_wait": "is waiting to be retried",
    "failed": "has failed",
    "needs_check": "needs a check (it may already be published)",
    "cancelled": "is already cancelled",
    "missed": "was missed",
}


def describe_state(state: str) -> str:
    return _STATE_WORDS.get(state, f"is {state}")


DueAt = dict[str, datetime] | datetime


class QueueOps(StoreBase):
    """Adding posts and the human decisions about them."""

    # -- adding -------------------------------------------------------------------------
    def add(
        self, snap: PostSnapshot, *, due_at: DueAt, replace: bool = False,
        require_approval: bool = True,
    ) -> list[DeliveryRow]:
        """Queue one post: one delivery per channel, waiting for approval by default."""
        return self.add_many([(snap, due_at)], replace=replace, require_approval=require_approval)

    def add_many(
        self, items: Sequence[tuple[PostSnapshot, DueAt]], *, replace: bool = False,
        require_approval: bool = True,
    ) -> list[DeliveryRow]:
        """Queue several posts in one transaction: all of them or none."""
        now = self._now()
        plans = [(snap, self._check_times(snap, due, now)) for snap, due in items]
        ids = [s.post_id for s, _ in plans]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise UsageError(f"post id '{dupes[0]}' is given twice in one command")
        # The author signs each snapshot's content hash before anything is written.
        signed = {s.post_id: self._act(queue_doc(s.post_id, s.content_hash()))
                  for s, _ in plans} if self.team is not None else {}
        created: list[Path] = []
        try:
            with self._write() as conn:
                try:
                    if conn.dialect.name == "postgresql":
                        # Serialise adds as SQLite does, so the media clean-up below can
                        # never remove a file a concurrent add has just decided to reuse.
                        conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
                    rows: list[str] = []
                    for snap, due in plans:
                        rows += self._insert_post(
                            conn, snap, due, now, replace, require_approval, created,
                            signed.get(snap.post_id),
                        )
                except BaseException:
                    self.media.remove(created)
                    raise
        except BaseException:
            self.media.remove(created)  # the commit itself failed
            raise
        with self._read() as conn:
            d = T["deliveries"]
            return self._deliveries(conn, [d.c.id.in_(rows)], with_media=True)

    def _check_times(self, snap: PostSnapshot, due: DueAt, now: datetime) -> dict[str, datetime]:
        if not snap.channels:
            raise UsageError(f"post '{snap.post_id}' names no channels")
        names = [c.channel for c in snap.channels]
        if isinstance(due, datetime):
            times = {n: due for n in names}
        else:
            missing = [n for n in names if n not in due]
            if missing:
                raise UsageError(f"no time given for '{snap.post_id}' on {missing[0]}")
            times = {n: due[n] for n in names}
        for moment in times.values():
            if moment.tzinfo is None:
                raise UsageError(f"the time for '{snap.post_id}' has no time zone")
            self._check_when(f"cannot queue '{snap.post_id}' for", moment, now,
                             snap.publish_before, snap.publish_before_reason)
        return times

    def _check_when(
        self, what: str, at: datetime, now: datetime, before: datetime | None,
        before_reason: str | None,
    ) -> None:
        if at <= now:
            raise UsageError(f"{what} {self.local(at)}: that time is in the past")
        if before is not None and at >= before:
            why = f" ({before_reason})" if before_reason else ""
            raise UsageError(
                f"{what} {self.local(at)}: it must be out before {self.local(before)}{why}"
            )

    def _insert_post(
        self, conn: Connection, snap: PostSnapshot, due: dict[str, datetime], now: datetime,
        replace: bool, require_approval: bool, created: list[Path],
        signed: Signed | None = None,
    ) -> list[str]:
        p, d = T["posts"], T["deliveries"]
        old = conn.execute(
            select(p).where(p.c.post_id == snap.post_id, p.c.current.is_(True))
        ).first()
        if old is not None and not replace:
            raise UsageError(
                f"post '{snap.post_id}' is already queued; use --replace to queue this "
                "version instead"
            )
        revision = 1 + (conn.execute(
            select(func.max(p.c.revision)).where(p.c.post_id == snap.post_id)
        ).scalar() or 0)
        if old is not None:
            self._supersede(conn, old, revision)
        content_hash = snap.content_hash()
        details = {
            "closing_date": snap.closing_date.isoformat() if snap.closing_date else None,
            "event_at": snap.event_at.isoformat() if snap.event_at else None,
            "extra": snap.extra,
        }
        post_row = conn.execute(p.insert().values(
            post_id=snap.post_id, revision=revision, current=True, kind=snap.kind,
            language=snap.language, source_path=snap.source_path,
            source_text=snap.source_text, content_hash=content_hash,
            publish_at=snap.publish_at, publish_before=snap.publish_before,
            publish_before_reason=snap.publish_before_reason,
            details=json.dumps(details, default=str, ensure_ascii=False),
            approval_required=require_approval, queued_by=self.user, queued_at=now,
            queued_sig=json.dumps(signed.as_json()) if signed else None,
        )).inserted_primary_key[0]
        state = "awaiting_approval" if require_approval else "scheduled"
        ids = []
        for ch in snap.channels:
            did = f"{snap.post_id}@{ch.channel}#r{revision}"
            conn.execute(d.insert().values(
                id=did, post_row=post_row, post_id=snap.post_id, channel=ch.channel,
                adapter=ch.adapter, revision=revision, caption=ch.caption, state=state,
                due_at=due[ch.channel], wake_at=due[ch.channel], attempts=0,
                updated_at=now,
            ))
            self._insert_media(conn, did, ch, created)
            audit.record(
                conn, at=now, who=self.user, action="queue", post_id=snap.post_id,
                delivery_id=did, channel=ch.channel, after=state,
                reason=f"revision {revision}, content {content_hash[:12]}, "
                       f"due {self.local(due[ch.channel])}",
                signed=signed.as_json() if signed else None,
            )
            ids.append(did)
        return ids

    def _supersede(self, conn: Connection, old: Any, revision: int) -> None:
        p, d = T["posts"], T["deliveries"]
        rows = self._deliveries(conn, [d.c.post_row == old.id])
        busy = [r for r in rows if r.state == "publishing"]
        if busy:
            raise UsageError(
                f"post '{old.post_id}' is being published on {busy[0].channel} right now; "
                "replace it once that has finished"
            )
        conn.execute(p.update().where(p.c.id == old.id).values(current=False))
        for r in rows:
            if r.state in CANCELLABLE:
                self._move_or_fail(conn, r, "cancelled", action="replace",
                                   reason=f"replaced by revision {revision}")

    def _insert_media(
        self, conn: Connection, did: str, ch: ChannelSnapshot, created: list[Path]
    ) -> None:
        m, dm = T["media"], T["delivery_media"]
        for pos, img in enumerate(ch.images):
            sha = img.sha256
            path = self.media.ensure(img.data, sha, img.extension, created)
            known = conn.execute(select(m.c.sha256).where(m.c.sha256 == sha)).first()
            if known is None:
                conn.execute(m.insert().values(
                    sha256=sha, mime=img.mime, size=len(img.data),
                    file_name=str(path.relative_to(self.media.root)),
                ))
            conn.execute(dm.insert().values(
                delivery_id=did, position=pos, sha256=sha, alt=img.alt, width=img.width,
                height=img.height, source=img.source,
                focus=",".join(str(v) for v in img.focus) if img.focus else None,
            ))

    # -- approval -----------------------------------------------------------------------
    def approve(self, post_id: str, *, expect_hash: str | None = None) -> list[DeliveryRow]:
        """Approve the post's current content hash; its author may not approve it.

        ``expect_hash`` (a prefix of the hash the approver reviewed) makes sure what is
        approved is what was looked at: a ``--replace`` in between is refused. With
        ``[team]`` the approver signs the hash and every delivery with its due time.
        """
        with self._read() as conn:
            post, rows = self._resolve(conn, post_id)
            doc = self._approval_doc(post, rows)
        _check_reviewed(post, expect_hash)
        signed = self._act(doc)
        if post.queued_by == self.user:
            raise UsageError(f"you queued '{post_id}' yourself; someone else must approve it")
        if self.team is not None:
            why = self.team.may_approve(self.user, sorted({r.channel for r in rows
                                                           if r.state == "awaiting_approval"}))
            if why:
                raise UsageError(f"cannot approve '{post_id}': {why}")
        p = T["posts"]
        with self._write() as conn:
            again, rows = self._resolve(conn, post_id)
            if again.id != post.id or self._approval_doc(again, rows) != doc:
                raise UsageError(f"post '{post_id}' changed while this command ran; "
                                 "look at it again")
            waiting = [r for r in rows if r.state == "awaiting_approval"]
            conn.execute(p.update().where(p.c.id == post.id).values(
                approved_by=self.user, approved_at=self._now(), approved_hash=post.content_hash,
            ))
            sealed = json.dumps(signed.as_json()) if signed else None
            for r in waiting:
                self._move_or_fail(conn, r, "scheduled", action="approve", signed=signed,
                                   reason=f"content {post.content_hash[:12]}",
                                   approved_by=self.user, approval=sealed)
            return self._reload(conn, waiting)

    def _approval_doc(self, post: Any, rows: list[DeliveryRow]) -> str:
        waiting = [r for r in rows if r.state == "awaiting_approval"]
        if not waiting:
            if post.approved_hash == post.content_hash:
                raise UsageError(
                    f"post '{post.post_id}' is already approved (by {post.approved_by})"
                )
            raise UsageError(f"post '{post.post_id}' has nothing awaiting approval")
        return approval_doc(post.post_id, post.revision, post.content_hash,
                            [(r.id, r.due_at) for r in waiting])

    def reject(self, post_id: str, reason: str) -> list[DeliveryRow]:
        """Turn the post down: its open deliveries are cancelled and its approval voided."""
        if not reason.strip():
            raise UsageError("a rejection needs a reason (--reason TEXT)")
        p = T["posts"]
        signed = self._act(action_doc("reject", post_id, self._now(), reason))
        with self._write() as conn:
            post, rows = self._resolve(conn, post_id)
            open_rows = [r for r in rows if r.state in CANCELLABLE]
            if not open_rows:
                raise UsageError(f"post '{post_id}' has nothing left to reject")
            conn.execute(p.update().where(p.c.id == post.id).values(
                approved_by=None, approved_at=None, approved_hash=None,
            ))
            for r in open_rows:
                self._move_or_fail(conn, r, "cancelled", action="reject", reason=reason,
                                   signed=signed)
            return self._reload(conn, open_rows)

    # -- changing -----------------------------------------------------------------------
    def cancel(self, ref: str, reason: str | None = None) -> list[DeliveryRow]:
        """Cancel one delivery (``ID@CHANNEL``) or every open delivery of a post (``ID``)."""
        signed = self._act(action_doc("cancel", ref, self._now(), reason))
        with self._write() as conn:
            _post, rows = self._resolve(conn, ref)
            todo = [r for r in rows if r.state in CANCELLABLE]
            if not todo:
                if "@" in ref:
                    raise UsageError(
                        f"{rows[0].ref} cannot be cancelled: it {describe_state(rows[0].state)}"
                    )
                states = ", ".join(f"{r.channel} {r.state}" for r in rows)
                raise UsageError(f"post '{ref}' has nothing left to cancel ({states})")
            for r in todo:
                self._move_or_fail(conn, r, "cancelled", action="cancel", reason=reason,
                                   signed=signed)
            return self._reload(conn, todo)

    def reschedule(self, ref: str, at: datetime) -> list[DeliveryRow]:
        """Move deliveries to ``at``, checking the same rules as queueing did."""
        d = T["deliveries"]
        signed = self._act(action_doc("reschedule", ref, self._now(),
                                      f"to {at.isoformat()}"))
        with self._write() as conn:
            post, rows = self._resolve(conn, ref)
            todo = [r for r in rows if r.state in RESCHEDULABLE]
            if not todo:
                raise UsageError(f"{rows[0].ref} cannot be rescheduled: it "
                                 f"{describe_state(rows[0].state)}")
            self._check_when(f"cannot move '{ref}' to", at, self._now(), post.publish_before,
                             post.publish_before_reason)
            approved = not post.approval_required or post.approved_hash == post.content_hash
            for r in todo:
                to = r.state
                extra: dict[str, Any] = {}
                if r.state in ("retry_wait", "missed"):
                    to = "scheduled" if approved else "awaiting_approval"
                if self.team is not None and post.approval_required and to != "awaiting_approval":
                    # The time is part of what was signed: a new time needs a new approval.
                    to, extra = "awaiting_approval", {"approved_by": None, "approval": None}
                self._move_or_fail(
                    conn, r, to, action="reschedule", due_at=at, wake_at=at, signed=signed,
                    reason=f"from {self.local(r.due_at)} to {self.local(at)}", **extra,
                )
            return self._deliveries(conn, [d.c.id.in_([r.id for r in todo])])

    def retry(self, ref: str, *, confirm_needs_check: bool) -> list[DeliveryRow]:
        """Put failed (or, once confirmed, needs_check) deliveries back in the queue now."""
        signed = self._act(action_doc("retry", ref, self._now()))
        with self._write() as conn:
            post, rows = self._resolve(conn, ref)
            todo = [r for r in rows if r.state in RETRYABLE]
            if not todo:
                raise UsageError(
                    f"{rows[0].ref if '@' in ref else repr(ref)} cannot be retried: only "
                    "failed or needs_check deliveries can"
                )
            unsure = [r for r in todo if r.state == "needs_check"]
            if unsure and not confirm_needs_check:
                raise UsageError(
                    f"{unsure[0].ref} needs a check: it may already be on {unsure[0].channel}; "
                    "look there first, then retry with --yes"
                )
            now = self._now()
            if post.publish_before is not None and now >= post.publish_before:
                raise UsageError(
                    f"cannot retry '{ref}': it had to be out before "
                    f"{self.local(post.publish_before)}"
                )
            for r in todo:
                self._move_or_fail(conn, r, "scheduled", action="retry", wake_at=now,
                                   signed=signed,
                                   attempts=0, claimed_by=None, claimed_at=None,
                                   reason=f"after {r.state}: {r.last_error or 'no error'}")
            return self._reload(conn, todo)

    def _reload(self, conn: Connection, rows: list[DeliveryRow]) -> list[DeliveryRow]:
        d = T["deliveries"]
        return self._deliveries(conn, [d.c.id.in_([r.id for r in rows])])


def _check_reviewed(post: Any, expect_hash: str | None) -> None:
    """Refuse unless ``expect_hash`` (if given) starts the current revision's hash."""
    if expect_hash is None:
        return
    given = expect_hash.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{12,64}", given):
        raise UsageError(
            f"--hash '{expect_hash}' is not at least 12 hexadecimal characters of the content "
            f"hash 'postq queue show {post.post_id}' prints"
        )
    if not post.content_hash.startswith(given):
        raise UsageError(
            f"post '{post.post_id}' is now revision {post.revision} with content "
            f"{post.content_hash[:12]}, not the {given[:12]} you reviewed: it was replaced "
            f"after your review; look at it again with 'postq queue show {post.post_id}'"
        )
