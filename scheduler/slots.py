"""Posting slots: weekday patterns with local wall-clock times.

Slots are kept as *local* times and turned into instants one day at a time, so a 09:00 slot
stays at 09:00 on the wall clock across the October and March clock changes instead of
drifting by an hour as a fixed UTC interval would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from scheduler.timeutil import TimeProblem, localize, parse_duration

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SlotTable:
    """Which local times are slots on each weekday (0 = Monday), and the gap between posts."""

    times: dict[int, tuple[time, ...]]
    min_gap: timedelta

    @property
    def empty(self) -> bool:
        return not any(self.times.values())


def _days(pattern: str) -> list[int]:
    out: list[int] = []
    for part in pattern.lower().replace(" ", "").split(","):
        if part in ("daily", "every-day", "all"):
            out.extend(range(7))
        elif part in ("weekdays",):
            out.extend(range(5))
        elif part in ("weekends",):
            out.extend((5, 6))
        elif "-" in part:
            a, _, b = part.partition("-")
            if a not in _DAYS or b not in _DAYS:
                raise ValueError(f"'{pattern}' is not a weekday pattern such as mon-fri or sat")
            i, j = _DAYS.index(a), _DAYS.index(b)
            out.extend(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
        elif part in _DAYS:
            out.append(_DAYS.index(part))
        else:
            raise ValueError(f"'{pattern}' is not a weekday pattern such as mon-fri or sat")
    return out


def parse_slot_table(raw: dict[str, Any]) -> SlotTable:
    """Check and parse the ``[slots]`` section; raises ValueError naming the bad entry."""
    times: dict[int, set[time]] = {d: set() for d in range(7)}
    gap = timedelta(0)
    for key, value in raw.items():
        if key == "min_gap":
            try:
                gap = parse_duration(str(value))
            except TimeProblem as exc:
                raise ValueError(f"min_gap: {exc}") from None
            continue
        days = _days(key)
        if not isinstance(value, list):
            raise ValueError(f"{key}: expected a list of times such as [\"09:00\", \"12:30\"]")
        for item in value:
            try:
                hh, mm = str(item).split(":")
                t = time(int(hh), int(mm))
            except ValueError:
                raise ValueError(f"{key}: '{item}' is not a time such as 09:00") from None
            for d in days:
                times[d].add(t)
    return SlotTable({d: tuple(sorted(ts)) for d, ts in times.items()}, gap)


def iter_slots(table: SlotTable, after: datetime, zone: tzinfo, days: int = 366) -> Iterator[datetime]:
    """Every slot instant strictly after ``after``, in order, for up to ``days`` days.

    A slot that falls in a spring-forward gap is skipped, and one in the repeated autumn
    hour takes its first occurrence: a slot is a promise about the wall clock, and there
    is no honest way to keep it on a day when that wall time does not exist.
    """
    if table.empty:
        return
    start_day = after.astimezone(zone).date()
    for offset in range(days + 1):
        day = start_day + timedelta(days=offset)
        for t in table.times[day.weekday()]:
            naive = datetime.combine(day, t)
            try:
                moment = localize(naive, zone)
            except TimeProblem:
                first = naive.replace(tzinfo=zone, fold=0)
                if first.astimezone(zone).replace(tzinfo=None) != naive:
                    continue  # in the gap
                moment = first
            if moment > after:
                yield moment


def next_free_slot(
    table: SlotTable,
    after: datetime,
    zone: tzinfo,
    taken: Iterable[datetime],
    before: datetime | None = None,
    blocked: Callable[[datetime], bool] | None = None,
) -> datetime | None:
    """The earliest slot after ``after`` at least ``min_gap`` from every taken time;
    slots for which ``blocked`` is true (inside a blackout period) are passed over."""
    taken_list = sorted(taken)
    for slot in iter_slots(table, after, zone):
        if before is not None and slot >= before:
            return None
        if blocked is not None and blocked(slot):
            continue
        if all(abs(slot - t) >= table.min_gap and slot != t for t in taken_list):
            return slot
    return None
