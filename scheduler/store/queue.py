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
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, text

from scheduler.blackouts import covering
from scheduler.content.snapshot import ChannelSnapshot, PostSnapshot
from scheduler.errors import UsageError
from scheduler.store import audit
from scheduler.store.blackouts import BlackoutOps
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


def skipped_reminders(
    snap: PostSnapshot, rows: Sequence[DeliveryRow], now: datetime, local: Any
) -> list[str]:
    """Why each reminder of ``snap`` that was not queued was left out, one line each."""
    queued = {(r.channel, r.reminder) for r in rows if r.post_id == snap.post_id}
    first = {r.channel: r.due_at for r in rows if r.post_id == snap.post_id and not r.reminder}
    out = []
    for rem in snap.reminders:
        ch = rem.content.channel
        if (ch, rem.offset) in queued:
            continue
        announced = first.get(ch)
        why = ("that time has passed" if rem.due_at <= now
               else f"it would not come after the post itself ({local(announced)})")
        out.append(f"{snap.post_id}@{ch}~{rem.offset}: reminder for {local(rem.due_at)} "
                   f"skipped: {why}")
    return out


DueAt = dict[str, datetime] | datetime
#: Chooses each post's due times given a function returning a channel's taken times.
SlotPlan = Callable[[Callable[[str], list[datetime]]], Sequence[DueAt]]


class QueueOps(BlackoutOps):
    """Adding posts and the human decisions about them."""

    # -- adding -------------------------------------------------------------------------
    def add(
        self, snap: PostSnapshot, *, due_at: DueAt, replace: bool = False,
        require_approval: bool = True, republish: bool = False,
    ) -> list[DeliveryRow]:
        """Queue one post: one delivery per channel, waiting for approval by default."""
        return self.add_many([(snap, due_at)], replace=replace, republish=republish,
                             require_approval=require_approval)

    def add_many(
        self, items: Sequence[tuple[PostSnapshot, DueAt | None]], *, replace: bool = False,
        require_approval: bool = True, republish: bool = False, plan: SlotPlan | None = None,
    ) -> list[DeliveryRow]:
        """Queue several posts in one transaction: all of them or none.

        ``plan`` chooses the due times inside the write transaction, from the times
        already taken as that transaction sees them (``--next-slot``): two adds at the
        same moment then queue one after the other and never take the same slot.
        """
        now = self._now()
        plans = [] if plan is not None else [
            (snap, self._check_times(snap, due, now)) for snap, due in items]
        ids = [s.post_id for s, _ in items]
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
                    if plan is not None:
                        dues = plan(lambda channel: self._taken_times(conn, channel))
                        plans = [(snap, self._check_times(snap, due, now))
                                 for (snap, _), due in zip(items, dues, strict=True)]
                    rows: list[str] = []
                    for snap, due in plans:
                        rows += self._insert_post(
                            conn, snap, due, now, replace, require_approval, created,
                            republish, signed.get(snap.post_id),
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
        replace: bool, require_approval: bool, created: list[Path], republish: bool = False,
        signed: Signed | None = None,
    ) -> list[str]:
        p, d = T["posts"], T["deliveries"]
        old = conn.execute(
            select(p).where(p.c.post_id == snap.post_id, p.c.current.is_(True))
        ).first()
        if old is not None:
            self._refuse_unsettled(conn, old)
        published = self._deliveries(conn, [d.c.post_id == snap.post_id,
                                            d.c.state == "published"])
        if published and not republish:
            where = "; ".join(
                f"on {r.channel} on {self.local(r.published_at)} at "
                f"{r.remote_url or '(no URL recorded)'}" for r in published
            )
            raise UsageError(
                f"post '{snap.post_id}' was already published {where}; use --republish "
                "to publish it again"
            )
        if old is not None and not (replace or republish):
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
            # Every reminder of the snapshot, queued or skipped: with the rows of those
            # queued, what the claim-time check recomputes the content hash from.
            "reminders": [list(part[:3]) + [list(part[3])] for part in snap.reminder_parts()],
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
        ids += self._insert_reminders(conn, snap, due, now, post_row, revision, state, created)
        return ids

    def _insert_reminders(
        self, conn: Connection, snap: PostSnapshot, due: dict[str, datetime], now: datetime,
        post_row: int, revision: int, state: str, created: list[Path],
    ) -> list[str]:
        """The Q&A reminders still ahead, each after its channel's announcement.

        A reminder already past, or not after the announcement on its channel, is left out
        (:func:`skipped_reminders` says which, for the command's warning).
        """
        d = T["deliveries"]
        ids = []
        for rem in snap.reminders:
            ch = rem.content
            if rem.due_at <= now or rem.due_at <= due[ch.channel]:
                continue
            did = f"{snap.post_id}@{ch.channel}~{rem.offset}#r{revision}"
            conn.execute(d.insert().values(
                id=did, post_row=post_row, post_id=snap.post_id, channel=ch.channel,
                adapter=ch.adapter, revision=revision, caption=ch.caption, state=state,
                due_at=rem.due_at, wake_at=rem.due_at, attempts=0, updated_at=now,
                reminder=rem.offset,
            ))
            self._insert_media(conn, did, ch, created)
            audit.record(
                conn, at=now, who=self.user, action="queue", post_id=snap.post_id,
                delivery_id=did, channel=ch.channel, after=state,
                reason=f"reminder {rem.offset} of revision {revision}, "
                       f"due {self.local(rem.due_at)}",
            )
            ids.append(did)
        return ids

    def _refuse_unsettled(self, conn: Connection, old: Any) -> list[DeliveryRow]:
        """The old revision's deliveries, unless one is in flight or unsettled: replacing
        (or republishing) then would leave it unsettled for ever, and the new revision could
        go out beside a post that is in fact already live."""
        d = T["deliveries"]
        rows = self._deliveries(conn, [d.c.post_row == old.id])
        busy = [r for r in rows if r.state == "publishing"]
        if busy:
            raise UsageError(
                f"post '{old.post_id}' is being published on {busy[0].channel} right now; "
                "replace it once that has finished"
            )
        unsure = [r for r in rows if r.state == "needs_check"]
        if unsure:
            raise UsageError(
                f"post '{old.post_id}' needs a check on {unsure[0].channel} (it may already "
                "be published); settle it first (`postq run --once` asks the platform, or "
                "`postq queue retry --yes`), then replace it"
            )
        return rows

    def _supersede(self, conn: Connection, old: Any, revision: int) -> None:
        p = T["posts"]
        rows = self._refuse_unsettled(conn, old)
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
            self.media.share(conn, sha, img.data)
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
        if ch.video is not None:
            from scheduler.store.video import insert_video

            insert_video(conn, self.media, did, ch.video, len(ch.images), created)

    # -- approval -----------------------------------------------------------------------
    def approve(self, post_id: str, *, expect_hash: str | None = None,
                partner_hash: str | None = None) -> list[DeliveryRow]:
        """Approve the post's current content hash; its author may not approve it.

        ``expect_hash`` (a prefix of the hash the approver reviewed) makes sure what is
        approved is what was looked at: a ``--replace`` in between is refused. With
        ``[team]`` the approver signs the hash and every delivery with its due time.
        ``partner_hash`` is the same for the other version of a Welsh/English pair (see
        :meth:`_approve_partner`).
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
            done = self._reload(conn, waiting)
        return done + self._approve_partner(post, expect_hash, partner_hash)

    def _approve_partner(self, post: Any, expect_hash: str | None,
                         partner_hash: str | None) -> list[DeliveryRow]:
        """A Welsh/English pair is approved together: approving one version approves the
        other's current revision too, when it still waits (scheduler.content.pairs).

        An approval bound to reviewed content (``expect_hash``) covers the partner only
        with the partner's reviewed hash too: content nobody looked at is never approved
        along with it; the partner then waits for its own approval."""
        partner = pair_partner(post)
        if not partner or (expect_hash is not None and partner_hash is None):
            return []
        with self._read() as conn:
            try:
                _other, rows = self._resolve(conn, str(partner))
            except UsageError:
                return []  # the partner was never queued, or is gone
        if not any(r.state == "awaiting_approval" for r in rows):
            return []
        return self.approve(str(partner), expect_hash=partner_hash)

    def waiting_partner(self, post_id: str) -> str | None:
        """The other version of ``post_id``'s Welsh/English pair while it awaits approval."""
        with self._read() as conn:
            post, _rows = self._resolve(conn, post_id)
            partner = pair_partner(post)
            if not partner:
                return None
            try:
                _other, rows = self._resolve(conn, partner)
            except UsageError:
                return None
        return partner if any(r.state == "awaiting_approval" for r in rows) else None

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
            named = [r for r in rows if r.reminder] if "~" in ref else [
                r for r in rows if not r.reminder]
            todo = [r for r in named if r.state in RESCHEDULABLE]
            if not todo:
                raise UsageError(f"{named[0].ref} cannot be rescheduled: it "
                                 f"{describe_state(named[0].state)}")
            self._check_when(f"cannot move '{ref}' to", at, self._now(), post.publish_before,
                             post.publish_before_reason)
            self._check_reminder_order(conn, post, todo, at, ref)
            periods = self._all_blackouts(conn)
            for r in todo:
                held = covering(periods, at, r.channel, post.kind)
                if held is not None:
                    raise UsageError(f"cannot move '{ref}' to {self.local(at)}: it falls in "
                                     f"the blackout '{held.name}' ({held.span(self.zone)}) "
                                     f"on {r.channel}")
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

    def _check_reminder_order(
        self, conn: Connection, post: Any, todo: list[DeliveryRow], at: datetime, ref: str,
    ) -> None:
        """A reminder stays after its announcement on the same channel, whichever moves."""
        d = T["deliveries"]
        every = self._deliveries(conn, [d.c.post_row == post.id])
        for r in todo:
            for other in every:
                if other.channel != r.channel or other.state not in RESCHEDULABLE:
                    continue
                if not r.reminder and other.reminder and other.due_at <= at:
                    raise UsageError(
                        f"cannot move '{ref}' to {self.local(at)}: its reminder {other.ref} "
                        f"is due at {self.local(other.due_at)}, before that; cancel the "
                        f"reminder first (postq queue cancel {other.ref})"
                    )
                if r.reminder and not other.reminder and at <= other.due_at:
                    raise UsageError(
                        f"cannot move '{ref}' to {self.local(at)}: a reminder must come "
                        f"after the post itself ({other.ref} at {self.local(other.due_at)})"
                    )

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


def pair_partner(post: Any) -> str | None:
    """The post id of the other version of ``post``'s Welsh/English pair, or None."""
    partner = (json.loads(post.details or "{}").get("extra") or {}).get("pair")
    return str(partner) if partner else None


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
