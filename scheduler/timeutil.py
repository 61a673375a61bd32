"""Durations, local times and the clock.

Every "what time is it" in postq goes through a :class:`Clock` passed in by the caller, so
tests inject a fixed or stepping clock instead of patching ``datetime`` in many modules.
Local wall-clock times are checked against the zone's real transitions: a time in the
spring-forward gap does not exist and one in the repeated autumn hour is ambiguous, and
both are errors with a suggestion rather than a silent one-hour shift.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DURATION_RE = re.compile(r"^\s*([+-]?)\s*((?:\d+\s*[wdhms]\s*)+)$", re.IGNORECASE)
_PART_RE = re.compile(r"(\d+)\s*([wdhms])", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


class TimeProblem(ValueError):
    """A time that cannot be used as written; the message says why and what to write."""


#: The longest duration postq accepts anywhere (settings, reminders, ``--at +N``): longer
#: ones are typing mistakes, and arithmetic with them would overflow the date range.
MAX_DURATION = timedelta(days=36500)
#: Times postq will schedule or compare: converting a time outside these years to
#: another zone can leave Python's date range (year 1 minus an hour).
EARLIEST_YEAR, LATEST_YEAR = 1970, 9998


def parse_duration(text: str) -> timedelta:
    """Parse ``30m``, ``2h``, ``1d12h``, ``-1d`` into a timedelta (at most 100 years)."""
    m = _DURATION_RE.match(str(text))
    if not m:
        raise TimeProblem(f"'{text}' is not a duration such as 30m, 2h or 1d")
    parts = _PART_RE.findall(m.group(2))
    if any(len(n) > 12 for n, _ in parts):
        raise TimeProblem(f"'{text}' is longer than {MAX_DURATION.days:,} days")
    seconds = sum(int(n) * _UNITS[u.lower()] for n, u in parts)
    if seconds > MAX_DURATION.total_seconds():
        raise TimeProblem(f"'{text}' is longer than {MAX_DURATION.days:,} days")
    return timedelta(seconds=-seconds if m.group(1) == "-" else seconds)


def check_range(moment: datetime, text: object) -> datetime:
    """Refuse an aware time outside the years postq schedules in, with one sentence."""
    try:
        year = moment.astimezone(UTC).year
    except (OverflowError, ValueError):
        year = 0
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise TimeProblem(f"'{text}' is outside the years {EARLIEST_YEAR} to {LATEST_YEAR}")
    return moment


def format_duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + ("".join(parts) or "0s")


def get_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeProblem(f"'{name}' is not a known time zone (e.g. Europe/London)") from exc


def localize(naive: datetime, zone: tzinfo) -> datetime:
    """Attach ``zone`` to a wall-clock time, refusing times that do not exist or repeat."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    # A wall time that does not survive a round trip through UTC is in a gap.
    back = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if back != naive:
        jump = (second.utcoffset() or timedelta(0)) - (first.utcoffset() or timedelta(0))
        jump = abs(jump) or timedelta(hours=1)
        raise TimeProblem(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zone} (the clocks go forward); "
            f"use {naive - jump:%H:%M} or {naive + jump:%H:%M}"
        )
    if first.utcoffset() != second.utcoffset():
        raise TimeProblem(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {zone} (the clocks go back); "
            f"write it with an offset: {first.isoformat(timespec='minutes')} (first) or "
            f"{second.isoformat(timespec='minutes')} (second)"
        )
    return first


def parse_when(value: object, zone: tzinfo, now: datetime | None = None) -> datetime:
    """Turn a post's ``publish_at`` or a ``--at`` argument into an aware datetime.

    Accepts ``2026-12-01 09:00`` (local), ISO-8601 with an offset, a YAML datetime, and,
    when ``now`` is given, the relative forms ``+2h`` and ``tomorrow 09:00``. Times
    outside the years 1970 to 9998 are refused (see :func:`check_range`).
    """
    try:
        moment = _parse_when(value, zone, now)
    except OverflowError:
        raise TimeProblem(f"'{value}' is outside the years {EARLIEST_YEAR} to "
                          f"{LATEST_YEAR}") from None
    return check_range(moment, value)


def _parse_when(value: object, zone: tzinfo, now: datetime | None = None) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        return localize(value, zone)
    if isinstance(value, date):
        raise TimeProblem(f"'{value}' has a date but no time; write e.g. '{value} 09:00'")
    text = str(value).strip()
    if now is not None:
        if text.startswith("+"):
            return (now + parse_duration(text[1:])).astimezone(zone)
        m = re.fullmatch(r"(today|tomorrow)\s+(\d{1,2}):(\d{2})", text, re.IGNORECASE)
        if m:
            day = now.astimezone(zone).date()
            if m.group(1).lower() == "tomorrow":
                day += timedelta(days=1)
            hour, minute = int(m.group(2)), int(m.group(3))
            if hour > 23 or minute > 59:
                raise TimeProblem(f"'{text}' is not a time of day")
            return localize(datetime.combine(day, time(hour, minute)), zone)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise TimeProblem(
            f"'{text}' is not a time; write '2026-12-01 09:00', an ISO-8601 time with an "
            "offset, '+2h' or 'tomorrow 09:00'"
        ) from None
    if parsed.tzinfo is None:
        if len(text) <= 10:
            raise TimeProblem(f"'{text}' has a date but no time; write e.g. '{text} 09:00'")
        return localize(parsed, zone)
    return parsed


class Clock:
    """The real clock; subclasses in tests return whatever time they are told."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(Clock):
    """A clock that stands still until moved; for tests and dry runs."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def utc_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
