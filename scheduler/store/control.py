"""The pause switch and the publishers' heartbeats: how people and processes signal.

A pause is a row, not a flag in a process: every publisher re-reads it when it claims
work, so ``postq pause`` stops all of them at once, from any terminal.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select

from scheduler.errors import StoreError, UsageError
from scheduler.store import audit
from scheduler.store.base import StoreBase
from scheduler.store.rows import Heartbeat, PauseRow
from scheduler.store.schema import GLOBAL_PAUSE, T
from scheduler.store.states import BLACKOUT_KEY
from scheduler.team.documents import action_doc


class ControlOps(StoreBase):
    """Pausing, resuming and heartbeats."""

    def pause(self, channel: str | None, reason: str) -> PauseRow:
        """Stop publishing on ``channel``, or everywhere when it is None."""
        if not reason.strip():
            raise UsageError("a pause needs a reason (--reason TEXT)")
        key = channel or GLOBAL_PAUSE
        pz = T["pauses"]
        now = self._now()
        signed = self._act(action_doc("pause", channel or "every channel", now, reason))
        with self._write() as conn:
            values = {"reason": reason, "paused_by": self.user, "paused_at": now}
            done = conn.execute(pz.update().where(pz.c.channel == key).values(**values))
            if done.rowcount == 0:
                conn.execute(pz.insert().values(channel=key, **values))
            audit.record(conn, at=now, who=self.user, action="pause", channel=channel,
                         reason=reason, signed=signed.as_json() if signed else None)
        return PauseRow(channel, reason, self.user, now)

    def resume(self, channel: str | None) -> None:
        """Lift the pause on ``channel`` (or the global one); channel pauses stay."""
        key = channel or GLOBAL_PAUSE
        if key.startswith(BLACKOUT_KEY):  # kept beside the pauses, lifted only as itself
            name = key[len(BLACKOUT_KEY):]
            raise UsageError(f"'{name}' is a blackout period; lift it with 'postq blackout "
                             f"remove {name}'")
        pz = T["pauses"]
        signed = self._act(action_doc("resume", channel or "every channel", self._now()))
        with self._write() as conn:
            done = conn.execute(pz.delete().where(pz.c.channel == key))
            if done.rowcount == 0:
                if channel:
                    raise UsageError(f"channel '{channel}' is not paused")
                raise UsageError("publishing is not paused everywhere; name a channel with "
                                 "--channel to lift a channel's pause")
            audit.record(conn, at=self._now(), who=self.user, action="resume",
                         channel=channel, signed=signed.as_json() if signed else None)

    def pauses(self) -> list[PauseRow]:
        """Every pause that is on; the global one first."""
        pz = T["pauses"]
        with self._read() as conn:
            rows = list(conn.execute(select(pz).where(~pz.c.channel.startswith(BLACKOUT_KEY))
                                     .order_by(pz.c.channel)))
        out = [
            PauseRow(None if r.channel == GLOBAL_PAUSE else r.channel, r.reason,
                     r.paused_by, r.paused_at)
            for r in rows
        ]
        return sorted(out, key=lambda p: (p.channel is not None, p.channel or ""))

    def heartbeat(self, worker: str, info: dict[str, Any]) -> None:
        """Record that ``worker`` is alive now; ``postq status`` reads it."""
        hb = T["heartbeats"]
        values: dict[str, Any] = {"info": json.dumps(info, default=str)}
        try:
            with self._write() as conn:
                # The database's clock, as for claims: others compare it with theirs.
                values["seen_at"] = self._db_now(conn)
                done = conn.execute(hb.update().where(hb.c.worker == worker).values(**values))
                if done.rowcount == 0:
                    conn.execute(hb.insert().values(worker=worker, **values))
        except StoreError:  # a twin process inserted the same worker first; update instead
            with self._write() as conn:
                values["seen_at"] = self._db_now(conn)
                conn.execute(hb.update().where(hb.c.worker == worker).values(**values))

    def db_now(self) -> datetime:
        """The database's clock, which heartbeats are written by: judge them against it
        (``Heartbeat.alive(store.db_now())``), not against this machine's clock."""
        with self._read() as conn:
            return self._db_now(conn)

    def heartbeats(self) -> list[Heartbeat]:
        hb = T["heartbeats"]
        with self._read() as conn:
            rows = list(conn.execute(select(hb).order_by(hb.c.seen_at.desc())))
        return [Heartbeat(r.worker, r.seen_at, json.loads(r.info or "{}")) for r in rows]

    def retire_heartbeat(self, worker: str, info: dict[str, Any]) -> None:
        """Record that ``worker`` stopped cleanly (``info`` says when and why), keeping only
        the latest stopped record of its host, so ``status`` shows the last run or stop
        rather than nothing, and a cron run every minute does not pile up rows."""
        hb = T["heartbeats"]
        host = worker.rsplit(":", 1)[0]
        self.heartbeat(worker, info)
        older = [b.worker for b in self.heartbeats()
                 if b.stopped and b.worker != worker and b.worker.rsplit(":", 1)[0] == host]
        if older:
            with self._write() as conn:
                conn.execute(hb.delete().where(hb.c.worker.in_(older)))

    def forget_heartbeat(self, worker: str) -> None:
        """A publisher stopping cleanly removes its heartbeat so it is not shown as dead."""
        hb = T["heartbeats"]
        with self._write() as conn:
            conn.execute(hb.delete().where(hb.c.worker == worker))
