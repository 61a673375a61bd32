"""Reading the queue: lists, one post in full, counts, the audit trail, taken times.

Lists show each post's *current* revision; earlier revisions stay in the database (their
deliveries cancelled by ``--replace``) and in the audit trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, exists, func, or_, select

from scheduler.errors import StoreError, UsageError
from scheduler.store import audit
from scheduler.store.base import DamagedRow, StoreBase, _delivery
from scheduler.store.rows import DeliveryRow, EventRow, PostView
from scheduler.store.schema import STATES, T
from scheduler.store.states import RETRACT_STATES, WAITING_STATES, check_state

if TYPE_CHECKING:
    from scheduler.store.calendar import GridEntry
    from scheduler.store.report import Listed

#: Rows fetched at a time by the streaming reads.
STREAM_ROWS = 1000

#: States whose time is spoken for when looking for a free slot.
_TAKEN = ("awaiting_approval", "scheduled", "retry_wait", "publishing", "published",
          "needs_check")


#: Deliveries of earlier revisions that stay listed: what went out stays visible.
_OUT = ("published", *RETRACT_STATES)


def _current() -> Any:
    """The delivery belongs to its post's current revision. A correlated EXISTS, not
    ``IN (SELECT ...)``: rows are then read in the order of an index and each checked
    against its own post, and a list with a limit stops there; IN would first collect
    every current post in the history."""
    d, p = T["deliveries"], T["posts"]
    return exists().where(p.c.id == d.c.post_row, p.c.current.is_(True))


class ReadOps(StoreBase):
    """Queries; none of them changes anything."""

    def list_deliveries(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> list[DeliveryRow]:
        """Current deliveries by due time, optionally of one state or channel.

        Published deliveries of earlier revisions stay listed: what is out stays visible.
        """
        return list(self.stream_deliveries(state, channel, limit))

    def stream_deliveries(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> Iterator[DeliveryRow]:
        """:meth:`list_deliveries` row by row as the database returns them, in flat
        memory (a server-side cursor on PostgreSQL); the read transaction stays open
        until the last row."""
        d = T["deliveries"]
        where = [or_(d.c.state.in_(_OUT), _current())]
        if state is not None:
            where.append(d.c.state == check_state(state))
        if channel is not None:
            where.append(d.c.channel == channel)
        q = select(d).where(*where).order_by(d.c.due_at, d.c.post_id, d.c.channel)
        if limit is not None:
            q = q.limit(limit)
        with self._read() as conn:
            for r in conn.execution_options(yield_per=STREAM_ROWS).execute(q):
                try:
                    row = _delivery(r)
                except (ValueError, TypeError, OverflowError, StoreError):
                    raise DamagedRow(*self._find_damaged(conn, where)) from None
                yield row

    def stream_listing(
        self, state: str | None = None, channel: str | None = None, limit: int | None = None,
    ) -> Iterator[Listed]:
        """:meth:`stream_deliveries` as ``queue list`` prints them (see
        :meth:`SqliteReader.stream_listing <scheduler.store.fastread.SqliteReader.stream_listing>`)."""
        from scheduler.store.report import listed

        return map(listed, self.stream_deliveries(state, channel, limit))

    def get_delivery(self, delivery_id: str) -> DeliveryRow:
        """One delivery by its id (any revision), with its media."""
        d = T["deliveries"]
        with self._read() as conn:
            rows = self._deliveries(conn, [d.c.id == delivery_id], with_media=True)
        if not rows:
            raise UsageError(f"no delivery has the id '{delivery_id}'")
        return rows[0]

    def show(self, ref: str) -> PostView:
        """Everything about one post (``ID``) or one channel of it (``ID@CHANNEL``):
        current revision, published deliveries of earlier ones, the whole history."""
        d = T["deliveries"]
        post_id, _, channel = ref.partition("@")
        wanted: set[str] = set()
        with self._read() as conn:
            if channel:
                # The same message as cancel for an unknown channel or reminder.
                wanted = {r.id for r in self._resolve(conn, ref)[1]}
                channel = channel.split("#", 1)[0].split("~", 1)[0]
            post = self._current_post(conn, post_id)
            rows = self._deliveries(
                conn, [or_(d.c.post_row == post.id,
                           and_(d.c.post_id == post.post_id, d.c.state.in_(_OUT)))],
                order=(d.c.revision, d.c.channel, d.c.due_at), with_media=True)
            events = audit.read(conn, post_id)
        if channel:
            rows = [r for r in rows if r.id in wanted or (
                r.state in _OUT and r.channel == channel and "~" not in ref)]
            events = [e for e in events if e.channel in (None, channel)]
        return PostView(
            post_id=post.post_id, revision=post.revision, kind=post.kind,
            language=post.language, source_path=post.source_path,
            content_hash=post.content_hash, publish_at=post.publish_at,
            publish_before=post.publish_before,
            publish_before_reason=post.publish_before_reason, queued_by=post.queued_by,
            queued_at=post.queued_at, approval_required=post.approval_required,
            approved_by=post.approved_by, approved_at=post.approved_at,
            approved_hash=post.approved_hash, deliveries=tuple(rows), events=tuple(events),
            details=json.loads(post.details or "{}"),
        )

    def source_text(self, post_id: str) -> str:
        """The post file's text as it was queued (the snapshot, not today's file)."""
        with self._read() as conn:
            return str(self._current_post(conn, post_id).source_text)

    def events(self, post_id: str | None = None, limit: int | None = None, *,
               newest: int | None = None) -> list[EventRow]:
        """The audit trail, oldest first (``newest``: only the last so many); unknown post
        ids are an error, not an empty list."""
        with self._read() as conn:
            rows = audit.read(conn, post_id, limit, newest=newest)
            if post_id is not None and not rows:
                self._current_post(conn, post_id)
        return rows

    def stream_events(self, post_id: str | None = None) -> Iterator[EventRow]:
        """The whole trail (or one post's), oldest first, event by event as the database
        returns them, in flat memory. An unknown post id raises at the first step, before
        anything is printed."""
        ev = T["events"]
        q = select(ev).order_by(ev.c.id)
        if post_id is not None:
            q = q.where(ev.c.post_id == post_id)
        with self._read() as conn:
            found = iter(conn.execution_options(yield_per=STREAM_ROWS).execute(q))
            first = next(found, None)
            if first is None:
                if post_id is not None:
                    self._current_post(conn, post_id)
                return
            yield audit.event_row(first)
            for r in found:
                yield audit.event_row(r)

    def event_csv(self, post_id: str | None = None) -> Iterator[str]:
        """``postq log --csv``: :func:`~scheduler.store.report.event_csv_text` of
        :meth:`stream_events`; an unknown post id raises before the header."""
        from scheduler.store.report import event_csv_text

        events = self.stream_events(post_id)
        first = next(events, None)
        yield from event_csv_text(chain((first,), events) if first is not None else ())

    def counts(self) -> dict[str, int]:
        """How many deliveries are in each state (every state present, zeros included)."""
        d = T["deliveries"]
        with self._read() as conn:
            found = dict(conn.execute(select(d.c.state, func.count()).group_by(d.c.state)).all())
        return {s: int(found.get(s, 0)) for s in STATES}

    def counts_by_channel(self) -> dict[tuple[str, str], int]:
        """``(state, channel) -> n`` over current revisions, as ``queue list`` counts."""
        d, p = T["deliveries"], T["posts"]
        current = select(p.c.id).where(p.c.current.is_(True))
        query = (select(d.c.state, d.c.channel, func.count())
                 .where(d.c.post_row.in_(current)).group_by(d.c.state, d.c.channel))
        with self._read() as conn:
            return {(s, c): int(n) for s, c, n in conn.execute(query).all()}

    def next_due(self, n: int = 5) -> list[DeliveryRow]:
        """The next ``n`` deliveries still to go out (awaiting approval included)."""
        d = T["deliveries"]
        with self._read() as conn:
            return self._deliveries(conn, [d.c.state.in_(WAITING_STATES)],
                                    order=(d.c.wake_at, d.c.id), limit=n)

    def upcoming(self, start: datetime, end: datetime, *,
                 with_media: bool = True) -> list[DeliveryRow]:
        """Current deliveries due in ``[start, end)``, with media unless told otherwise
        (for the calendar)."""
        d = T["deliveries"]
        where = [d.c.due_at >= start, d.c.due_at < end, _current()]
        with self._read() as conn:
            return self._deliveries(conn, where, with_media=with_media)

    def grid(self, start: datetime, end: datetime) -> Iterator[GridEntry]:
        """:meth:`upcoming` as the calendar's terminal grid takes it (see
        :meth:`SqliteReader.grid <scheduler.store.fastread.SqliteReader.grid>`)."""
        from scheduler.store.calendar import grid_entry

        return map(grid_entry, self.upcoming(start, end, with_media=False))

    def milestones(self, start: datetime, end: datetime) -> list[tuple[str, str, str]]:
        """Each current post's closing date or event time in ``[start, end)``:
        ``(post_id, kind, iso)``, for marking them on the calendar. A post's
        ``publish_before`` is that moment (the start of its closing day, or its event
        time), so the window is read through its index, not the whole history."""
        p = T["posts"]
        out = []
        with self._read() as conn:
            for post_id, details in conn.execute(
                    select(p.c.post_id, p.c.details).where(
                        p.c.publish_before >= start, p.c.publish_before < end,
                        p.c.current.is_(True))):
                found = json.loads(details or "{}")
                for kind in ("closing_date", "event_at"):
                    if found.get(kind):
                        out.append((post_id, kind, str(found[kind])))
        return out

    def taken_times(self, channel: str) -> list[datetime]:
        """Times already spoken for on ``channel`` (for ``--next-slot`` and ``min_gap``)."""
        with self._read() as conn:
            return self._taken_times(conn, channel)

    def _taken_times(self, conn: Connection, channel: str) -> list[datetime]:
        d = T["deliveries"]
        return list(conn.execute(
            select(d.c.due_at).where(d.c.channel == channel, d.c.state.in_(_TAKEN))
            .order_by(d.c.due_at)
        ).scalars())
