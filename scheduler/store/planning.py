"""Choosing when deliveries go out: ``--at``, the post's own time, or the next free slot.

Slot times come from ``[slots]`` as local wall-clock times (see :mod:`scheduler.slots`), so
a 09:00 slot is 09:00 in London in both winter and summer. Free means at least
``min_gap`` away from everything already queued or published on that channel, including
the deliveries chosen earlier in the same command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from scheduler.blackouts import Blackout, covering
from scheduler.content.snapshot import PostSnapshot
from scheduler.errors import UsageError
from scheduler.slots import iter_slots, next_free_slot, parse_slot_table
from scheduler.timeutil import TimeProblem, parse_when

if TYPE_CHECKING:
    from scheduler.config import Settings
    from scheduler.store import Store


def parse_at(value: str, settings: Settings, now: datetime) -> datetime:
    """A ``--at`` value as an aware time; bad or impossible times are one sentence."""
    m = re.match(r"\s*(\d{4})-(\d{2})-(\d{2})", value)
    if m:
        try:
            date(*(int(g) for g in m.groups()))
        except ValueError:
            raise UsageError(f"{m.group(0).strip()} is not a date on the calendar") from None
    try:
        return parse_when(value, settings.zone, now=now)
    except TimeProblem as exc:
        raise UsageError(str(exc)) from None


def plan_due_times(
    settings: Settings, store: Store, snaps: Sequence[PostSnapshot], *,
    at: str | None, next_slot: bool, now: datetime,
    taken: Callable[[str], list[datetime]] | None = None,
) -> list[dict[str, datetime]]:
    """For each snapshot, the due time of each of its channels.

    ``taken`` gives a channel's times already spoken for; the store passes its own from
    inside the write transaction (see :meth:`Store.add_many`'s ``plan``).
    """
    if at is not None and next_slot:
        raise UsageError("give either --at or --next-slot, not both")
    periods = store.blackouts()
    if at is not None:
        moment = parse_at(at, settings, now)
        return refuse_blackouts(store, snaps, [{c.channel: moment for c in s.channels}
                                               for s in snaps], periods)
    if not next_slot:
        out = []
        for s in snaps:
            if s.publish_at is None:
                raise UsageError(
                    f"post '{s.post_id}' has no publish_at; give --at WHEN or --next-slot"
                )
            out.append({c.channel: s.publish_at for c in s.channels})
        return refuse_blackouts(store, snaps, out, periods)
    table = parse_slot_table(settings.slots)
    if table.empty:
        raise UsageError("no posting slots are configured; add a [slots] section to postq.toml")
    spoken: dict[str, list[datetime]] = {}
    plans = []
    planned: dict[str, dict[str, datetime]] = {}
    for s in snaps:
        plan = {}
        partner = planned.get(str(s.extra.get("pair") or ""))
        if partner:
            # A Welsh/English pair goes out in one slot: the partner's, channel by channel
            # (its first slot on a channel of this post's own, such as a Welsh account).
            first = min(partner.values())
            plan = {c.channel: partner.get(c.channel, first) for c in s.channels}
            for channel, moment in plan.items():
                spoken.setdefault(channel, (taken or store.taken_times)(channel)).append(moment)
            planned[s.post_id] = plan
            plans.append(plan)
            continue
        for c in s.channels:
            seen = spoken.setdefault(c.channel, (taken or store.taken_times)(c.channel))
            slot = next_free_slot(
                table, now, settings.zone, seen, before=s.publish_before,
                blocked=lambda t, ch=c.channel, kind=s.kind: covering(periods, t, ch, kind)
                is not None)
            if slot is None:
                limit = f" before {store.local(s.publish_before)}" if s.publish_before else ""
                raise UsageError(f"no free slot for '{s.post_id}' on {c.channel}{limit}")
            seen.append(slot)
            plan[c.channel] = slot
        planned[s.post_id] = plan
        plans.append(plan)
    return plans


def refuse_blackouts(store: Store, snaps: Sequence[PostSnapshot],
                     plans: list[dict[str, datetime]],
                     periods: Sequence[Blackout]) -> list[dict[str, datetime]]:
    """``plans`` unchanged, or the refusal naming each delivery that falls in a blackout
    period (nothing is queued to wait inside one without the person knowing)."""
    found = []
    for s, plan in zip(snaps, plans, strict=True):
        for channel, due in plan.items():
            b = covering(periods, due, channel, s.kind)
            if b is not None:
                found.append(f"'{s.post_id}' on {channel} at {store.local(due)} falls in the "
                             f"blackout '{b.name}' ({b.span(store.zone)})")
    if found:
        raise UsageError("; ".join(found) + "; nothing is published inside a blackout: give "
                         "--at a time after it or use --next-slot")
    return plans


def free_slots(
    settings: Settings, store: Store, *, now: datetime, count: int,
    channels: Iterable[str] | None = None,
) -> list[tuple[datetime, list[str]]]:
    """The next ``count`` slots at which at least one of ``channels`` is free."""
    table = parse_slot_table(settings.slots)
    if table.empty:
        raise UsageError("no posting slots are configured; add a [slots] section to postq.toml")
    names = sorted(channels if channels is not None else settings.channels)
    taken = {c: store.taken_times(c) for c in names}
    periods = store.blackouts()
    out: list[tuple[datetime, list[str]]] = []
    for slot in iter_slots(table, now, settings.zone):
        free = [c for c in names
                if all(abs(slot - t) >= table.min_gap and slot != t for t in taken[c])
                and covering(periods, slot, c) is None]
        if free:
            out.append((slot, free))
            if len(out) >= count:
                break
    return out
