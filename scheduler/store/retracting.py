"""Retraction: taking published deliveries down again, on the record.

A retraction is asked for by a person (``postq retract``, ``pause --retract-since``,
``queue add --correct``) and carried out by whichever process claims it first: the
publisher's next tick, or the command itself. The states:

* ``retracting`` — asked for; waits for a claim (``claimed_by`` empty) or is being
  carried out (``claimed_by`` set, fenced by ``claim_token`` like a publishing claim);
  after a transient error it waits again until ``wake_at``;
* ``retracted`` — the platform confirmed the post gone (or a person did, for
  ``retract_manual``);
* ``retract_failed`` — the platform refused for good (an expired token, a permission);
  ``postq retract`` again once fixed;
* ``retract_manual`` — the platform has no delete API; a person follows the steps kept
  with the delivery and records it with ``postq retract --done``.

No approval rule or pause ever holds a retraction back: it is the emergency exit. What
was asked, by whom and why lives in the delivery's ``remote_state["retraction"]`` and in
the audit trail; no column is needed.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select

from scheduler.errors import ClaimLost, UsageError
from scheduler.store import audit
from scheduler.store.base import StoreBase
from scheduler.store.queue import CANCELLABLE
from scheduler.store.rows import DeliveryRow
from scheduler.store.schema import T
from scheduler.store.states import RETRACT_STATES
from scheduler.team.documents import action_doc

#: Deliveries a retraction can be asked for (again).
RETRACTABLE = ("published", "retract_failed")


class RetractOps(StoreBase):
    """Asking for, claiming and settling retractions."""

    # -- asking -------------------------------------------------------------------------
    def request_retract(self, ref: str, reason: str, *, cancel_open: bool = True,
                        skip_revision: int | None = None) -> list[DeliveryRow]:
        """Mark every published delivery of ``ref`` (``ID`` or ``ID@CHANNEL``, any
        revision) ``retracting``; with ``cancel_open``, what has not gone out yet is
        cancelled in the same transaction, so nothing more of the post appears.

        Returns the deliveries now ``retracting`` (those already retracting included).
        """
        if not reason.strip():
            raise UsageError("a retraction needs a reason (--reason TEXT)")
        post_id, _, channel = ref.partition("@")
        channel, _, reminder = channel.split("#", 1)[0].partition("~")
        d = T["deliveries"]
        now = self._now()
        # Signed like every other decision (with [team]): who took it down is on record.
        signed = self._act(action_doc("retract", ref, now, reason))
        with self._write() as conn:
            where = [d.c.post_id == post_id]
            if channel:
                where.append(d.c.channel == channel)
            if reminder:
                where.append(d.c.reminder == reminder)
            rows = self._deliveries(conn, where, order=(d.c.revision, d.c.channel))
            if not rows:
                raise UsageError(f"no queued post has the id '{post_id}'" if not channel else
                                 f"post '{post_id}' was never queued on channel '{channel}'")
            if skip_revision is not None:
                rows = [r for r in rows if r.revision != skip_revision]
            busy = [r for r in rows if r.state in ("publishing", "needs_check")]
            if busy:
                what = ("is being published right now" if busy[0].state == "publishing"
                        else "needs a check (it may be live)")
                raise UsageError(f"{busy[0].ref} {what}; retract again once that has "
                                 "settled (`postq run --once` settles it)")
            todo = [r for r in rows if r.state in RETRACTABLE]
            waiting = [r for r in rows if r.state == "retracting"]
            if cancel_open:
                for r in rows:
                    if r.state in CANCELLABLE:
                        self._move_or_fail(conn, r, "cancelled", action="cancel",
                                           reason=f"retracted: {reason}", signed=signed)
            if not todo and not waiting:
                states = ", ".join(f"{r.ref} {r.state}" for r in rows)
                hint = (f"; `postq queue cancel {ref}` stops what has not gone out"
                        if any(r.state in CANCELLABLE for r in rows) else "")
                raise UsageError(f"nothing of '{ref}' is published, so nothing to retract "
                                 f"({states}){hint}")
            for r in todo:
                state = dict(r.remote_state)
                state["retraction"] = {"reason": reason, "by": self.user,
                                       "asked_at": now.isoformat(), "attempts": 0}
                self._move_or_fail(conn, r, "retracting", action="retract", reason=reason,
                                   signed=signed, wake_at=now, claimed_by=None, claimed_at=None,
                                   remote_state=_dump(state))
            return self._reload_ids(conn, [r.id for r in todo + waiting])

    def correct(self, items: Any, **add_args: Any) -> tuple[list[DeliveryRow], list[DeliveryRow]]:
        """Queue each post of ``items`` as a new revision that needs approval and retract
        its published version: ``(queued rows, rows now retracting)``.

        Both are linked in the trail: the retraction's reason names the new revision and
        a ``correct`` event on the post names what it replaces.
        """
        d = T["deliveries"]
        with self._read() as conn:
            for snap, _due in items:
                out = self._deliveries(conn, [d.c.post_id == snap.post_id,
                                              d.c.state == "published"])
                if not out:
                    raise UsageError(f"post '{snap.post_id}' has nothing published to "
                                     "correct; queue it with --replace instead")
        rows = self.add_many(items, republish=True, require_approval=True,  # type: ignore[attr-defined]
                             **add_args)
        asked: list[DeliveryRow] = []
        for snap, _due in items:
            revision = max(r.revision for r in rows if r.post_id == snap.post_id)
            gone = self.request_retract(snap.post_id, f"corrected by revision {revision}",
                                        cancel_open=False, skip_revision=revision)
            asked += gone
            with self._write() as conn:
                audit.record(conn, at=self._now(), who=self.user, action="correct",
                             post_id=snap.post_id,
                             reason=f"revision {revision} corrects " + ", ".join(
                                 f"{r.ref} (revision {r.revision}, {r.remote_url or r.remote_id})"
                                 for r in gone) + "; it needs approval")
        return rows, asked

    def published_since(self, since: datetime) -> list[DeliveryRow]:
        """Deliveries published at or after ``since`` and still up (``pause
        --retract-since``), oldest first."""
        d = T["deliveries"]
        with self._read() as conn:
            return self._deliveries(conn, [d.c.state == "published",
                                           d.c.published_at >= since],
                                    order=(d.c.published_at, d.c.id))

    def mark_retract_done(self, ref: str) -> DeliveryRow:
        """A person took down a ``retract_manual`` delivery by hand: record it."""
        post_id, _, channel = ref.partition("@")
        if not channel:
            raise UsageError(f"'{ref}' names no channel; --done needs ID@CHANNEL, the one "
                             "removed by hand")
        d = T["deliveries"]
        signed = self._act(action_doc("retract_done", ref, self._now()))
        with self._write() as conn:
            rows = self._deliveries(conn, [d.c.post_id == post_id, d.c.channel == channel,
                                           d.c.state == "retract_manual"])
            if not rows:
                raise UsageError(f"{ref} is not waiting to be removed by hand (retract_manual)")
            for r in rows:
                self._move_or_fail(conn, r, "retracted", action="retract_done",
                                   reason="removed by hand, as recorded by " + self.user,
                                   signed=signed)
            return self._reload_ids(conn, [r.id for r in rows])[0]

    # -- carrying out -------------------------------------------------------------------
    def claim_retractions(self, now: datetime, *, worker: str, stale_after: timedelta,
                          limit: int = 20, ids: list[str] | None = None) -> list[DeliveryRow]:
        """Retractions due by ``now`` that nobody holds (or whose holder has been silent
        for ``stale_after``), claimed for ``worker`` with a raised fencing token. Pauses
        and approvals are not consulted: a retraction is never held back."""
        d = T["deliveries"]
        if ids is None:
            # The publisher asks on every pass: a brief read first, so that no write
            # transaction (nor, on PostgreSQL, the audit chain's lock) is taken for nothing.
            with self._read(brief=True) as conn:
                if conn.execute(_any_retraction(), {"v_now": now}).first() is None:
                    return []
        with self._write() as conn:
            db_now = self._db_now(conn)
            where = [d.c.state == "retracting", d.c.wake_at <= now,
                     or_(d.c.claimed_by.is_(None), d.c.claimed_at < db_now - stale_after)]
            if ids is not None:
                where.append(d.c.id.in_(ids))
            due = self._deliveries(conn, where, order=(d.c.wake_at, d.c.id), limit=limit)
            claimed = []
            for row in due:
                attempt = int((row.remote_state.get("retraction") or {}).get("attempts", 0)) + 1
                state = dict(row.remote_state)
                state["retraction"] = {**(state.get("retraction") or {}), "attempts": attempt}
                if self._move(conn, row, "retracting", action="claim_retract", who=worker,
                              token=row.claim_token, reason=f"retraction attempt {attempt}",
                              claimed_by=worker, claimed_at=db_now,
                              claim_token=d.c.claim_token + 1, remote_state=_dump(state)):
                    claimed.append(row.id)
            return self._reload_ids(conn, claimed)

    def mark_retracted(self, delivery_id: str, detail: str, *, who: str, token: int
                       ) -> DeliveryRow:
        return self._settle_retract(delivery_id, "retracted", token, action="retracted",
                                    who=who, reason=detail, claimed_by=None, last_error=None)

    def mark_retract_retry(self, delivery_id: str, error: str, wake: datetime, *, who: str,
                           token: int) -> DeliveryRow:
        return self._settle_retract(delivery_id, "retracting", token, action="retract_later",
                                    who=who, reason=error, last_error=error, wake_at=wake,
                                    claimed_by=None, claimed_at=None)

    def mark_retract_failed(self, delivery_id: str, error: str, *, who: str, token: int
                            ) -> DeliveryRow:
        return self._settle_retract(delivery_id, "retract_failed", token,
                                    action="retract_fail", who=who, reason=error,
                                    last_error=error, claimed_by=None)

    def mark_retract_manual(self, delivery_id: str, why: str, steps: list[str], *, who: str,
                            token: int) -> DeliveryRow:
        def keep_steps(state: dict[str, Any]) -> None:
            state["retraction"] = {**(state.get("retraction") or {}), "steps": steps}

        return self._settle_retract(delivery_id, "retract_manual", token,
                                    action="retract_manual", who=who,
                                    reason=why + " — " + " ".join(steps), last_error=why,
                                    claimed_by=None, change_state=keep_steps)

    def _settle_retract(self, delivery_id: str, to: str, token: int, *, action: str,
                        who: str, reason: str, change_state: Any = None,
                        **values: Any) -> DeliveryRow:
        """Record the outcome of a retraction attempt, only under the claim it was made."""
        d = T["deliveries"]
        with self._write() as conn:
            rows = self._deliveries(conn, [d.c.id == delivery_id])
            if not rows:
                raise UsageError(f"no delivery has the id '{delivery_id}'")
            row = rows[0]
            if row.state != "retracting" or row.claim_token != token:
                raise ClaimLost(f"retraction of {row.ref} is no longer this claim's (it is "
                                f"{row.state}, claim {row.claim_token}, not {token}); "
                                "nothing recorded")
            if change_state is not None:
                state = dict(row.remote_state)
                change_state(state)
                values["remote_state"] = _dump(state)
            if not self._move(conn, row, to, action=action, who=who, reason=reason,
                              token=token, **values):
                raise ClaimLost(f"retraction of {row.ref} changed meanwhile; nothing recorded")
            return self._reload_ids(conn, [row.id])[0]

    def _reload_ids(self, conn: Connection, ids: list[str]) -> list[DeliveryRow]:
        if not ids:
            return []
        d = T["deliveries"]
        return self._deliveries(conn, [d.c.id.in_(ids)], order=(d.c.post_id, d.c.channel),
                                with_media=True)

    def retraction_rows(self, ids: list[str]) -> list[DeliveryRow]:
        """Deliveries by id, as they are now (for reports after a retraction)."""
        with self._read() as conn:
            return self._reload_ids(conn, ids)

    def archivable(self, since: datetime | None, until: datetime | None) -> list[DeliveryRow]:
        """Every delivery that went out (published, or retracted since), with media."""
        d = T["deliveries"]
        where = [d.c.published_at.is_not(None),
                 d.c.state.in_(("published", *RETRACT_STATES))]
        if since is not None:
            where.append(d.c.published_at >= since)
        if until is not None:
            where.append(d.c.published_at < until)
        with self._read() as conn:
            return self._deliveries(conn, where, order=(d.c.published_at, d.c.id),
                                    with_media=True)

    def post_row(self, post_id: str, revision: int) -> dict[str, Any]:
        """The stored post row of one revision (who queued and approved it)."""
        p = T["posts"]
        with self._read() as conn:
            row = conn.execute(select(p).where(p.c.post_id == post_id,
                                               p.c.revision == revision)).one()
        return dict(row._mapping)


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, default=str, sort_keys=True)


@lru_cache(maxsize=1)
def _any_retraction() -> Any:
    """Whether any retraction is due by ``v_now`` (held or not): the publisher's cheap
    question before :meth:`RetractOps.claim_retractions` takes the write lock."""
    d = T["deliveries"]
    return (select(d.c.id).where(d.c.state == "retracting", d.c.wake_at <= bindparam("v_now"))
            .limit(1))
