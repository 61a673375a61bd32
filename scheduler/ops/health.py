"""What a monitor needs to know: is something wrong, and how wrong.

``postq status --check`` and ``postq watch`` both ask :func:`find_problems`. Levels follow
the monitoring-plugin convention (0 OK, 1 WARNING, 2 CRITICAL) so Nagios/Icinga, a
systemd timer or cron can act on the exit code alone:

- CRITICAL: deliveries are due (by more than a minute, so a publisher run from cron each
  minute does not flap) on channels that are not paused, and no publisher is alive;
- WARNING: failed deliveries, deliveries waiting for a person's check, due deliveries
  still awaiting approval, publishers that stopped answering without stopping, and
  access tokens (``token_expires`` of a channel) that run out within two weeks, as
  ``channels --check`` warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from scheduler.store.report import when

WARNING, CRITICAL = 1, 2
_LEVEL_NAMES = {0: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL"}
#: How long past its time a delivery may wait for the next cron run before it counts.
DUE_SLACK = timedelta(minutes=1)
#: A crashed publisher's heartbeat is reported for a day, then taken for old news.
_FORGET_DEAD = timedelta(days=1)
_SCAN = 1000
#: As ``channels --check`` (scheduler.adapters.meta.EXPIRY_WARNING_DAYS).
EXPIRY_WARNING = timedelta(days=14)


@dataclass(frozen=True)
class Problem:
    level: int
    code: str
    message: str
    count: int = 1

    @property
    def line(self) -> str:
        return f"{_LEVEL_NAMES[self.level]}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "level": _LEVEL_NAMES[self.level]}


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def overdue(reader: Any, now: datetime, slack: timedelta = DUE_SLACK,
            states: Sequence[str] = ("scheduled", "retry_wait")) -> list[Any]:
    """Waiting deliveries in ``states`` whose time passed more than ``slack`` ago, on
    channels that are not paused (a pause is a person's decision, not a dead publisher)."""
    paused = {p.channel for p in reader.pauses()}
    if None in paused:
        return []
    return [r for r in reader.next_due(_SCAN)
            if r.state in states and r.channel not in paused and r.wake_at <= now - slack]


def find_problems(reader: Any, now: datetime, zone: tzinfo) -> list[Problem]:
    """Every problem with the queue and its publishers, worst first."""
    problems: list[Problem] = []
    beats = reader.heartbeats()
    alive = [b for b in beats if b.alive(now)]
    late = overdue(reader, now)
    if late and not alive:
        first = late[0]
        n = len(late)
        count = f"{n}{'+' if n >= _SCAN else ''} deliveries are" if n != 1 else "1 delivery is"
        problems.append(Problem(
            CRITICAL, "due_no_publisher",
            f"{count} due and no publisher is alive (oldest: {first.ref} due "
            f"{when(first.wake_at, zone)}); start `postq run`", n))
    counts = reader.counts()
    if counts.get("failed"):
        n = counts["failed"]
        problems.append(Problem(WARNING, "failed", f"{_plural(n, 'delivery', 'deliveries')} "
                                "failed; see `postq queue list --state failed`", n))
    if counts.get("needs_check"):
        n = counts["needs_check"]
        problems.append(Problem(WARNING, "needs_check", f"{_plural(n, 'delivery needs', 'deliveries need')} "
                                "a person's check; see `postq queue list --state needs_check`", n))
    waiting = overdue(reader, now, timedelta(0), ("awaiting_approval",))
    if waiting:
        n = len(waiting)
        problems.append(Problem(WARNING, "unapproved_due",
                                f"{_plural(n, 'delivery is', 'deliveries are')} due but not "
                                f"approved (first: {waiting[0].ref})", n))
    for b in beats:
        if not b.stopped and not b.alive(now) and now - b.seen_at < _FORGET_DEAD:
            age = int((now - b.seen_at).total_seconds())
            problems.append(Problem(WARNING, "publisher_silent",
                                    f"publisher {b.worker} has not reported for {age} s "
                                    "and did not stop cleanly"))
    return problems


def token_expiries(settings: Any) -> dict[str, date]:
    """``channel -> token_expires`` for every channel that sets it."""
    out = {}
    for name, cfg in settings.channels.items():
        value = (cfg.model_extra or {}).get("token_expires")
        if isinstance(value, datetime):
            value = value.date()
        elif isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                continue  # the adapter's own settings check reports the bad date
        if isinstance(value, date):
            out[name] = value
    return out


def credential_problems(settings: Any, today: date) -> list[Problem]:
    """A warning per channel whose access token has run out or will within two weeks."""
    problems = []
    for name, expires in sorted(token_expiries(settings).items()):
        days = (expires - today).days
        if days < 0:
            problems.append(Problem(WARNING, "credential_expired",
                                    f"channel {name}: the access token expired on "
                                    f"{expires.isoformat()}; renew it"))
        elif timedelta(days=days) < EXPIRY_WARNING:
            problems.append(Problem(WARNING, "credential_expiring",
                                    f"channel {name}: the access token expires in {days} "
                                    f"day{'s' if days != 1 else ''} ({expires.isoformat()}); "
                                    "renew it"))
    return problems


def exit_code(problems: Sequence[Problem]) -> int:
    return max((p.level for p in problems), default=0)
