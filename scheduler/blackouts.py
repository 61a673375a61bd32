"""Blackout periods: times in which nothing is published (pre-election, national mourning).

Two sources, one meaning: ``[[blackouts]]`` in ``postq.toml`` for periods known ahead,
and ``postq blackout add`` for short notice, kept in the queue database so every publisher
sees it at once (see :mod:`scheduler.store.blackouts`). Validation, ``queue add``, the
slot finder, the publisher, the calendar and ``status`` all ask :func:`covering`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any


@dataclass(frozen=True)
class Blackout:
    """One period, ``start`` included and ``end`` excluded (aware times)."""

    name: str
    start: datetime
    end: datetime
    #: Only these channels (empty: every channel).
    channels: tuple[str, ...] = ()
    #: Post kinds still published inside it (an archive exhibit during mourning, say).
    allow_kinds: tuple[str, ...] = ()
    #: "postq.toml", or who added it with ``postq blackout add`` and why.
    source: str = "postq.toml"
    added_by: str | None = None
    added_at: datetime | None = None
    reason: str = field(default="")

    def covers(self, at: datetime, channel: str, kind: str | None = None) -> bool:
        """Whether a delivery on ``channel`` of a post of ``kind`` at ``at`` is held."""
        return (self.start <= at < self.end
                and (not self.channels or channel in self.channels)
                and (kind is None or kind not in self.allow_kinds))

    def span(self, zone: tzinfo) -> str:
        """``2027-04-08 00:00 to 2027-05-07 00:00 BST``, in the configured zone."""
        a, b = self.start.astimezone(zone), self.end.astimezone(zone)
        return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M %Z}"

    def describe(self, zone: tzinfo) -> str:
        """One line for ``blackout list``, the calendar and ``status``."""
        where = ", ".join(self.channels) if self.channels else "every channel"
        allowed = f"; still allowed: {', '.join(self.allow_kinds)}" if self.allow_kinds else ""
        origin = (f"added by {self.added_by}" if self.added_by else self.source)
        why = f": {self.reason}" if self.reason else ""
        return f"'{self.name}' {self.span(zone)} on {where}{allowed} ({origin}){why}"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "channels": list(self.channels),
                "allow_kinds": list(self.allow_kinds), "source": self.source,
                "added_by": self.added_by,
                "added_at": self.added_at.isoformat() if self.added_at else None,
                "reason": self.reason}

    def stored(self) -> str:
        """The JSON kept in the queue database for a period added by command."""
        return json.dumps({"start": self.start.isoformat(), "end": self.end.isoformat(),
                           "channels": list(self.channels),
                           "allow_kinds": list(self.allow_kinds), "reason": self.reason},
                          sort_keys=True)

    @classmethod
    def from_stored(cls, name: str, text: str, added_by: str,
                    added_at: datetime) -> Blackout:
        doc = json.loads(text)
        return cls(name, datetime.fromisoformat(doc["start"]),
                   datetime.fromisoformat(doc["end"]), tuple(doc.get("channels") or ()),
                   tuple(doc.get("allow_kinds") or ()), "postq blackout add", added_by,
                   added_at, doc.get("reason") or "")


def configured(settings: Any) -> list[Blackout]:
    """The ``[[blackouts]]`` of ``postq.toml``, times read in the configured zone."""
    from scheduler.timeutil import parse_when

    zone = settings.zone
    return [Blackout(b.name, parse_when(b.start, zone), parse_when(b.end, zone),
                     tuple(b.channels), tuple(b.allow_kinds))
            for b in settings.blackouts]


def covering(blackouts: Iterable[Blackout], at: datetime, channel: str,
             kind: str | None = None) -> Blackout | None:
    """The period holding a delivery at ``at`` on ``channel``, the latest-ending first
    (the one it has to wait for)."""
    found = [b for b in blackouts if b.covers(at, channel, kind)]
    return max(found, key=lambda b: b.end) if found else None


def held_until(blackouts: Sequence[Blackout], at: datetime, channel: str,
               kind: str | None = None) -> tuple[datetime, list[Blackout]]:
    """When a delivery due at ``at`` may go out, and the periods that hold it until then
    (back-to-back or overlapping periods are waited out together)."""
    chain: list[Blackout] = []
    moment = at
    while (b := covering(blackouts, moment, channel, kind)) is not None:
        chain.append(b)
        moment = b.end
    return moment, chain
