"""The publisher's side of the store: claiming due deliveries and recording outcomes.

Claiming re-checks every rule at the last moment — approval of the exact content hash,
the pause switches, the post's deadline (closing date, event time) and the late grace —
because hours may pass between queueing and publishing. The claim itself is the
conditional update of :meth:`StoreBase._move`: of two publishers reading the same due
row, only the one whose update still finds it ``scheduled`` wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from scheduler.blackouts import Blackout, held_until
from scheduler.errors import ClaimLost, UsageError
from scheduler.store import audit
from scheduler.store.base import DamagedRow
from scheduler.store.blackouts import BlackoutOps
from scheduler.store.chain import GENESIS
from scheduler.store.evidence import EvidenceOps, evidence_columns
from scheduler.store.outcomes import OutcomeOps, holds
from scheduler.store.rows import Claimed, DeliveryRow, MediaRow
from scheduler.store.schema import GLOBAL_PAUSE, T
from scheduler.store.states import BLACKOUT_KEY
from scheduler.timeutil import format_duration


class PublishOps(BlackoutOps, EvidenceOps, OutcomeOps):
    """What ``postq run`` calls."""

    def claim_due(
        self, now: datetime, *, worker: str, limit: int = 50,
        exclude_channels: Iterable[str] = (), require_approval: bool = False,
        per_channel: Mapping[str, int] | None = None,
    ) -> list[Claimed]:
        """Deliveries due by ``now`` that this worker alone may now publish.

        Returns them in ``publishing`` with ``attempts`` and ``claim_token`` raised and
        ``claimed_at`` on the database's clock, each with its evidence (see
        :class:`~scheduler.store.rows.Claimed`) read in the same transaction.
        Deliveries that may no longer go out are
        settled here: past their deadline or later than the grace → ``missed`` (kept for
        :meth:`take_missed`); approval no longer matching the content, or missing while
        the publisher's own configuration (``require_approval``) asks for it, whatever
        the row says → back to ``awaiting_approval``; a row that cannot be read →
        ``failed`` (both kept for :meth:`take_held`). Paused channels, and
        ``exclude_channels`` (those the worker is still busy with), are left untouched,
        and so is what ``per_channel`` leaves: at most that many of each channel it
        names (see :class:`~scheduler.publish.pace.ClaimPacer`), taken in due order.
        """
        d = T["deliveries"]
        eligible: list[DeliveryRow] = []
        missed: list[str] = []
        held: list[tuple[str, str]] = []
        with self._write() as conn:
            due, posts = self._due_readable(conn, now, limit, exclude_channels, worker, held,
                                            per_channel)
            periods = self._all_blackouts(conn) if due else []
            for row in due:
                post = posts[(row.post_id, row.revision)]
                if self._blackout_holds(conn, row, post.kind, periods, now, worker, missed):
                    continue
                verdict = self._why_unpublishable(row, post, now, require_approval)
                if verdict is not None:
                    to, reason = verdict
                    if self._move(conn, row, to, action="miss" if to == "missed" else
                                  "unapprove", who=worker, reason=reason,
                                  last_error=reason if to == "missed" else row.last_error):
                        if to == "missed":
                            missed.append(row.id)
                        else:
                            held.append((row.id, reason))
                    continue
                eligible.append(row)
            claimed, raws = self._claim(conn, eligible, worker) if eligible else ([], {})
            order = (d.c.wake_at, d.c.id)
            gone = self._deliveries(conn, [d.c.id.in_(missed)], order=order) if missed else []
            # The claim's own UPDATE returned the rows' evidence columns, and their posts
            # were read above, in this transaction: only the siblings are read again.
            evidence = self._evidence(conn, claimed, raws=raws, posts={
                p.id: p for p in posts.values()}) if claimed else {}
            # In claiming order (wake_at, id), which the claim itself does not change.
            out = [Claimed.of(evidence[i].delivery, evidence[i]) for i in claimed]
        # Only once committed: a rolled-back claim must not send a "missed" notice.
        self._missed.setdefault(worker, []).extend(gone)
        self._held.setdefault(worker, []).extend(held)
        return out

    def _claim(self, conn: Connection, rows: list[DeliveryRow], worker: str,
               ) -> tuple[list[str], dict[str, Any]]:
        """Move ``rows`` to ``publishing`` for ``worker``: one conditional ``UPDATE``
        per state they come from (only rows still in it are taken, so of two publishers
        only one wins each row) and one batch of events. Returns the ids won, in ``rows``
        order, and what the updates returned of each (the evidence's delivery columns,
        see :meth:`_evidence`); the audit chain's last link comes back with them."""
        d = T["deliveries"]
        now, claimed_at = self._now(), self._db_now(conn)
        won: dict[str, Any] = {}
        for before in sorted({r.state for r in rows}):
            won.update((r.id, r) for r in conn.execute(
                d.update().where(d.c.id.in_([r.id for r in rows if r.state == before]),
                                 d.c.state == before)
                .values(state="publishing", updated_at=now, attempts=d.c.attempts + 1,
                        claimed_by=worker, claimed_at=claimed_at,
                        claim_token=d.c.claim_token + 1)
                .returning(*evidence_columns(), audit.last_link().label("last_link"))))
        taken = [r for r in rows if r.id in won]
        # _write took the chain's lock first (BEGIN IMMEDIATE on SQLite), and nothing
        # was appended since the updates read the last link.
        audit.record_many(conn, [
            audit.Event(now, worker, "claim", r.post_id, r.id, r.channel, r.state,
                        "publishing", f"attempt {r.attempts + 1}") for r in taken],
            prev=next(iter(won.values())).last_link or GENESIS if won else None)
        return [r.id for r in taken], won

    def _blackout_holds(self, conn: Connection, row: DeliveryRow, kind: str,
                        periods: Sequence[Blackout], now: datetime, worker: str,
                        missed: list[str]) -> bool:
        """Whether a blackout period holds ``row`` now. It waits, still scheduled, until
        the period ends, or is ``missed`` when that is later than the grace allows; either
        way with the period's name as the reason."""
        until, chain = held_until(periods, now, row.channel, kind)
        if not chain:
            return False
        names = " and ".join(f"'{b.name}'" for b in chain)
        if until - row.wake_at > self.late_grace:
            reason = (f"inside the blackout {names} until {self.local(until)}, more than the "
                      f"grace of {format_duration(self.late_grace)} after its time")
            if self._move(conn, row, "missed", action="miss", who=worker, reason=reason,
                          last_error=reason):
                missed.append(row.id)
        else:
            reason = f"waiting: inside the blackout {names} until {self.local(until)}"
            self._move(conn, row, row.state, action="wait", who=worker, reason=reason,
                       wake_at=until, last_error=reason)
        return True

    def _due_readable(
        self, conn: Connection, now: datetime, limit: int | None,
        exclude_channels: Iterable[str], worker: str, held: list[tuple[str, str]],
        per_channel: Mapping[str, int] | None = None,
    ) -> tuple[list[DeliveryRow], dict[tuple[str, int], Any]]:
        """:meth:`_due`, setting aside rows that cannot be read (→ ``failed``, with an
        event naming the damage) so one damaged row never stops the others."""
        d = T["deliveries"]
        for _ in range(100):
            try:
                return self._due(conn, now, limit, exclude_channels, lock=True,
                                 per_channel=per_channel)
            except DamagedRow as exc:
                if not exc.delivery_id:
                    raise
                raw = conn.execute(select(d.c.post_id, d.c.channel, d.c.state).where(
                    d.c.id == exc.delivery_id)).one()
                conn.execute(d.update().where(d.c.id == exc.delivery_id).values(
                    state="failed", last_error=str(exc)))
                audit.record(conn, at=self._now(), who=worker, action="hold",
                             post_id=raw.post_id, delivery_id=exc.delivery_id,
                             channel=raw.channel, before=raw.state, after="failed",
                             reason=str(exc))
                held.append((exc.delivery_id, str(exc)))
        return [], {}

    def _due(
        self, conn: Connection, now: datetime, limit: int | None,
        exclude_channels: Iterable[str] = (), *, lock: bool = False, with_posts: bool = True,
        per_channel: Mapping[str, int] | None = None,
    ) -> tuple[list[DeliveryRow], dict[tuple[str, int], Any]]:
        """Due deliveries on channels that are not paused, with their post rows (none
        without ``with_posts``); with ``per_channel``, at most that many of each channel
        (the rest are read but neither claimed nor their posts loaded).

        ``lock`` (claiming): on PostgreSQL the rows are locked ``FOR UPDATE SKIP
        LOCKED``, so publishers claiming at once each take rows the others are not taking
        instead of queueing behind each other's locks.
        """
        d, p, pz = T["deliveries"], T["posts"], T["pauses"]
        skip = set(conn.execute(select(pz.c.channel).where(
            ~pz.c.channel.startswith(BLACKOUT_KEY))).scalars())
        if GLOBAL_PAUSE in skip:
            return [], {}
        skip |= set(exclude_channels)
        where = [d.c.state.in_(("scheduled", "retry_wait")), d.c.wake_at <= now]
        if skip:
            where.append(d.c.channel.not_in(sorted(skip)))
        due = self._deliveries(conn, where, order=(d.c.wake_at, d.c.id), limit=limit,
                               lock=lock)
        if per_channel is not None:
            due = _at_most(due, per_channel)
        if not with_posts or not due:
            return due, {}
        posts = {
            (r.post_id, r.revision): r
            for r in conn.execute(select(p).where(p.c.post_id.in_({x.post_id for x in due})))
        }
        return due, posts

    def has_due(self, now: datetime, exclude_channels: Iterable[str] = ()) -> bool:
        """Whether :meth:`claim_due` has anything to look at: a cheap read, so an idle
        publisher does not take the write lock every second."""
        with self._read(brief=True) as conn:
            try:
                due, _posts = self._due(conn, now, 1, exclude_channels, with_posts=False)
            except DamagedRow:
                return True  # claim_due sets the damaged row aside
            return bool(due)

    def still_mine(self, delivery_id: str, *, worker: str, attempts: int,
                   token: int | None = None) -> bool:
        """Whether this worker still holds its claim: checked just before the platform is
        called, so a claim taken over by another publisher is never sent twice."""
        with self._read(brief=True) as conn:
            row = conn.execute(_claim_check(), {"v_id": delivery_id}).first()
        return row is not None and holds(row.state, row.claimed_by, row.attempts,
                                         row.claim_token, worker, attempts, token)

    def due_preview(self, now: datetime, limit: int | None = None,
                    require_approval: bool = False) -> list[DeliveryRow]:
        """What :meth:`claim_due` would hand out now, changing nothing (for dry runs)."""
        d = T["deliveries"]
        with self._read() as conn:
            due, posts = self._due(conn, now, limit)
            periods = self._all_blackouts(conn)
            ids = [r.id for r in due
                   if self._why_unpublishable(r, posts[(r.post_id, r.revision)], now,
                                              require_approval) is None
                   and not held_until(periods, now, r.channel,
                                      posts[(r.post_id, r.revision)].kind)[1]]
            if not ids:
                return []
            return self._deliveries(conn, [d.c.id.in_(ids)], order=(d.c.wake_at, d.c.id),
                                    with_media=True)

    def take_missed(self, *, worker: str) -> list[DeliveryRow]:
        """Deliveries this process's claims turned into ``missed`` since the last call,
        so the publisher can send its failure notices once for each."""
        return self._missed.pop(worker, [])

    def take_held(self, *, worker: str) -> list[tuple[str, str]]:
        """``(delivery id, reason)`` of deliveries this process's claims held back (sent
        back for approval, or set aside as damaged) since the last call, for notices."""
        return self._held.pop(worker, [])

    def _why_unpublishable(
        self, row: DeliveryRow, post: Any, now: datetime, require_approval: bool = False,
    ) -> tuple[str, str] | None:
        """``(state, reason)`` if ``row`` may not go out now, else None.

        ``require_approval`` is the publisher's own setting: a row queued under another
        configuration that waived approval does not waive it here.
        """
        if post.approved_hash != post.content_hash:
            if post.approval_required:
                return "awaiting_approval", "the approval does not match the queued content"
            if require_approval:
                return "awaiting_approval", (
                    "the publisher's configuration requires approval and this post was "
                    "queued without it ([postq] require_approval)")
        if post.publish_before is not None and now >= post.publish_before:
            why = post.publish_before_reason or "its deadline"
            return "missed", f"not out before {self.local(post.publish_before)} ({why})"
        late = now - row.wake_at
        if late > self.late_grace:
            return "missed", (f"found {format_duration(late)} late, more than the grace of "
                              f"{format_duration(self.late_grace)}")
        return None

    def outgoing(self, claimed: DeliveryRow | str) -> Any:
        """The :class:`~scheduler.adapters.base.OutgoingPost` of a claimed delivery.

        Each image is read once and checked against the hash it was approved under; those
        bytes travel in the post to the adapter, so a file changed on disk, before or
        during publishing, can never be published in its place.
        """
        from scheduler.adapters.outgoing import OutgoingPost

        ev = getattr(claimed, "evidence", None)
        if ev is None:  # not straight from a claim: read it now
            ev = self.claim_evidence(claimed if isinstance(claimed, str) else claimed.id)
        row, post = ev.delivery, ev
        images, video = self._outgoing_media(row.media)
        return OutgoingPost(
            delivery_id=row.id, post_id=row.post_id, channel=row.channel, caption=row.caption,
            images=images, language=post.language, content_hash=post.content_hash,
            due_at=row.due_at, attempt=max(row.attempts, 1), remote_state=row.remote_state,
            claim_token=row.claim_token if row.state == "publishing" else None, video=video,
        )

    def _outgoing_media(self, media: Sequence[MediaRow]) -> tuple[tuple[Any, ...], Any]:
        """The images and the video with its cover and captions (the rows
        :func:`scheduler.store.video.insert_video` wrote), each checked against its hash."""
        from scheduler.adapters.outgoing import OutgoingImage, OutgoingVideo
        from scheduler.store.video import CAPTIONS_SOURCE, COVER_SOURCE

        def image(m: MediaRow) -> OutgoingImage:
            return OutgoingImage(path=m.path, mime=m.mime, alt=m.alt, width=m.width,
                                 height=m.height, sha256=m.sha256, focus=m.focus,
                                 data=self.media.verify(m.path, m.sha256))

        clip = next((m for m in media if m.mime.startswith("video/")), None)
        if clip is None:
            return tuple(image(m) for m in media), None
        # The cover row says so in its source; the other image rows are the post's images,
        # which an Instagram or Threads carousel carries beside the video. Rows queued
        # before images and a video could travel together have no marked cover: there
        # the one image row beside the video is its cover.
        stills = [m for m in media if m.mime.startswith("image/")]
        marked = [m for m in stills if m.source.startswith(COVER_SOURCE)]
        covers = marked if marked else stills[:1]
        images = tuple(image(m) for m in stills if m not in covers)
        cover = image(covers[0]) if covers else None
        captions = next((m for m in media if m.source == CAPTIONS_SOURCE), None)
        vtt = (None if captions is None
               else self.media.verify(captions.path, captions.sha256).decode("utf-8"))
        path = self.media.verify_file(clip.path, clip.sha256)
        return images, OutgoingVideo(path=path, sha256=clip.sha256, size=path.stat().st_size,
                                     mime=clip.mime, alt=clip.alt, width=clip.width,
                                     height=clip.height, captions_vtt=vtt, cover=cover)

    def deadline(self, row: DeliveryRow) -> tuple[datetime, str]:
        """The last moment ``row`` may still go out, and why: the post's own deadline
        (closing date, event time) or, sooner, its due time plus the late grace."""
        p = T["posts"]
        with self._read() as conn:
            post = conn.execute(select(p.c.publish_before, p.c.publish_before_reason).where(
                p.c.post_id == row.post_id, p.c.revision == row.revision)).one()
        grace = row.due_at + self.late_grace
        if post.publish_before is not None and post.publish_before < grace:
            return post.publish_before, post.publish_before_reason or "its deadline"
        return grace, f"its due time plus the late grace of {format_duration(self.late_grace)}"

    def abandoned_claims(self, stale_after: timedelta, *,
                         exclude_worker: str | None = None) -> list[DeliveryRow]:
        """``publishing`` rows whose claimant has been silent for ``stale_after`` and
        which were claimed at least that long ago, both on the database's clock."""
        d, hb = T["deliveries"], T["heartbeats"]
        where = [d.c.state == "publishing"]
        if exclude_worker is not None:
            where.append(d.c.claimed_by != exclude_worker)
        with self._read() as conn:
            cutoff = self._db_now(conn) - stale_after
            alive = set(conn.execute(select(hb.c.worker).where(hb.c.seen_at >= cutoff))
                        .scalars())
            rows = self._deliveries(conn, where, order=(d.c.claimed_at, d.c.id))
        return [r for r in rows if r.claimed_by not in alive
                and (r.claimed_at is None or r.claimed_at < cutoff)]

    def stale_publishing(
        self, older_than: datetime | None = None, *, exclude_worker: str | None = None,
    ) -> list[DeliveryRow]:
        """Deliveries left in ``publishing`` (a publisher died mid-call), oldest first.

        ``exclude_worker`` leaves out the caller's own deliveries still in flight.
        """
        d = T["deliveries"]
        where = [d.c.state == "publishing"]
        if older_than is not None:
            where.append(d.c.claimed_at < older_than)
        if exclude_worker is not None:
            where.append(d.c.claimed_by != exclude_worker)
        with self._read() as conn:
            return self._deliveries(conn, where, order=(d.c.claimed_at, d.c.id),
                                    with_media=True)

    def save_remote_state(self, delivery_id: str, data: dict[str, Any],
                          token: int | None = None) -> None:
        """Keep what the adapter learnt (container ids, record keys) for the next attempt.

        Replaces the whole document: the adapter passes everything it wants kept. With the
        claim's fencing ``token``, only while that claim is current: a publisher whose claim
        was taken over must not overwrite the new claimant's progress.
        """
        d = T["deliveries"]
        where = [d.c.id == delivery_id]
        if token is not None:
            where += [d.c.state == "publishing", d.c.claim_token == token]
        with self._write() as conn:
            done = conn.execute(d.update().where(*where).values(
                remote_state=json.dumps(data, default=str, sort_keys=True)))
            if done.rowcount != 1:
                if token is not None:
                    raise ClaimLost(f"delivery '{delivery_id}' is no longer held by claim "
                                    f"{token}; its progress was not recorded")
                raise UsageError(f"no delivery has the id '{delivery_id}'")


def _at_most(rows: list[DeliveryRow], per_channel: Mapping[str, int]) -> list[DeliveryRow]:
    """``rows`` in their order, without those past their channel's count."""
    seen: dict[str, int] = {}
    kept = []
    for row in rows:
        seen[row.channel] = n = seen.get(row.channel, 0) + 1
        if n <= per_channel.get(row.channel, n):
            kept.append(row)
    return kept


@lru_cache(maxsize=1)
def _claim_check() -> Any:
    """:meth:`PublishOps.still_mine`'s query, built once: it runs before every send, and
    building a statement costs more than SQLite takes to run it."""
    d = T["deliveries"]
    return (select(d.c.state, d.c.claimed_by, d.c.attempts, d.c.claim_token)
            .where(d.c.id == bindparam("v_id")))
