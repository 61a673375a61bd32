"""Blackout periods added at short notice (``postq blackout add``), kept beside the pauses.

A period is a row of the ``pauses`` table whose key is ``blackout:NAME`` and whose
reason column holds the period as JSON: like a pause, it is read by every publisher at
each claim, stays across restarts, and each change is signed and written to the audit
trail in the same transaction. No new table is needed for it.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from scheduler.blackouts import Blackout, configured
from scheduler.errors import UsageError
from scheduler.store import audit
from scheduler.store.base import StoreBase
from scheduler.store.schema import T
from scheduler.store.states import BLACKOUT_KEY
from scheduler.team.documents import action_doc

#: Longest name (the key column holds 100 characters, the prefix included).
MAX_NAME = 80


class BlackoutOps(StoreBase):
    """Adding, removing and reading blackout periods."""

    #: ``[[blackouts]]`` of the configuration this store was opened with.
    configured_blackouts: tuple[Blackout, ...] = ()

    def add_blackout(self, period: Blackout) -> Blackout:
        """Store ``period``; a name already in use is refused, never overwritten."""
        name = period.name.strip()
        if not name or len(name) > MAX_NAME:
            raise UsageError(f"a blackout needs a name of 1 to {MAX_NAME} characters")
        if period.end <= period.start:
            raise UsageError(f"'{name}' ends ({self.local(period.end)}) before it starts "
                             f"({self.local(period.start)})")
        if any(b.name == name for b in self.configured_blackouts):
            raise UsageError(f"'{name}' is already a blackout in postq.toml; choose another "
                             "name")
        now = self._now()
        target = f"blackout {name} {period.start.isoformat()} {period.end.isoformat()}"
        signed = self._act(action_doc("blackout-add", target, now, period.reason or None))
        pz = T["pauses"]
        with self._write() as conn:
            if conn.execute(select(pz.c.channel).where(
                    pz.c.channel == BLACKOUT_KEY + name)).first() is not None:
                raise UsageError(f"a blackout named '{name}' already exists; remove it first "
                                 "or choose another name")
            conn.execute(pz.insert().values(channel=BLACKOUT_KEY + name,
                                            reason=period.stored(), paused_by=self.user,
                                            paused_at=now))
            audit.record(conn, at=now, who=self.user, action="blackout-add",
                         reason=f"'{name}' {period.span(self.zone)}"
                                + (f": {period.reason}" if period.reason else ""),
                         signed=signed.as_json() if signed else None)
        return Blackout.from_stored(name, period.stored(), self.user, now)

    def remove_blackout(self, name: str) -> None:
        """Lift a period added by command (one in postq.toml is edited there)."""
        if any(b.name == name for b in self.configured_blackouts):
            raise UsageError(f"'{name}' is set in postq.toml; remove it there")
        now = self._now()
        signed = self._act(action_doc("blackout-remove", f"blackout {name}", now))
        pz = T["pauses"]
        with self._write() as conn:
            done = conn.execute(pz.delete().where(pz.c.channel == BLACKOUT_KEY + name))
            if done.rowcount == 0:
                known = ", ".join(b.name for b in self._stored_blackouts(conn)) or "none"
                raise UsageError(f"no blackout named '{name}' (added by command: {known})")
            audit.record(conn, at=now, who=self.user, action="blackout-remove",
                         reason=f"'{name}'", signed=signed.as_json() if signed else None)

    def blackouts(self) -> list[Blackout]:
        """Every period, from postq.toml and added by command, by start."""
        with self._read() as conn:
            return self._all_blackouts(conn)

    def stored_blackouts(self) -> list[Blackout]:
        """Only the periods added by command (``status`` adds the configured ones)."""
        with self._read() as conn:
            return self._stored_blackouts(conn)

    def _all_blackouts(self, conn: Connection) -> list[Blackout]:
        found = [*self.configured_blackouts, *self._stored_blackouts(conn)]
        return sorted(found, key=lambda b: (b.start, b.name))

    def _stored_blackouts(self, conn: Connection) -> list[Blackout]:
        pz = T["pauses"]
        rows = conn.execute(select(pz).where(pz.c.channel.startswith(BLACKOUT_KEY))
                            .order_by(pz.c.channel))
        return [Blackout.from_stored(r.channel[len(BLACKOUT_KEY):], r.reason, r.paused_by,
                                     r.paused_at) for r in rows]

    def use_configured_blackouts(self, settings: object) -> None:
        """Take the ``[[blackouts]]`` of ``settings`` (done by :meth:`Store.open`)."""
        self.configured_blackouts = tuple(configured(settings))

