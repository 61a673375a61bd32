"""``--next-slot``: slots keep their wall-clock time across clock changes and keep min_gap."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from scheduler.config import settings_from_dict
from scheduler.errors import UsageError
from scheduler.store import Store
from scheduler.store.planning import free_slots, plan_due_times
from scheduler.timeutil import FixedClock, get_zone
from tests.test_store_support import snap

LONDON = get_zone("Europe/London")


def make(tmp_path: Path, now: datetime, min_gap: str = "2h") -> tuple[object, Store]:
    settings = settings_from_dict({
        "postq": {"timezone": "Europe/London"},
        "slots": {"mon-fri": ["09:00", "12:30", "17:00"], "min_gap": min_gap},
        "channels": {"outbox": {"adapter": "outbox"}, "x": {"adapter": "x"}},
    })
    store = Store(f"sqlite:///{tmp_path / 'q.sqlite3'}", tmp_path / "media",
                  clock=FixedClock(now), user="alice", zone=LONDON)
    return settings, store


def queue_next(settings: object, store: Store, post_id: str,
               channels: tuple[str, ...] = ("outbox",), **kw: object) -> dict[str, datetime]:
    s = snap(post_id, channels, **kw)  # type: ignore[arg-type]
    (plan,) = plan_due_times(settings, store, [s], at=None, next_slot=True,  # type: ignore[arg-type]
                             now=store.clock.now())
    store.add(s, due_at=plan)
    return plan


def wall(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local:%a %d %b %H:%M} {local.tzname()}"


@pytest.mark.parametrize(("now", "expected"), [
    # October: British Summer Time ends on Sunday 25 October 2026.
    (datetime(2026, 10, 22, 18, 0, tzinfo=LONDON),
     ["Fri 23 Oct 09:00 BST", "Fri 23 Oct 12:30 BST", "Fri 23 Oct 17:00 BST",
      "Mon 26 Oct 09:00 GMT", "Mon 26 Oct 12:30 GMT"]),
    # March: it starts on Sunday 28 March 2027.
    (datetime(2027, 3, 25, 18, 0, tzinfo=LONDON),
     ["Fri 26 Mar 09:00 GMT", "Fri 26 Mar 12:30 GMT", "Fri 26 Mar 17:00 GMT",
      "Mon 29 Mar 09:00 BST", "Mon 29 Mar 12:30 BST"]),
])
def test_slots_keep_wall_clock_time_across_clock_changes(
    tmp_path: Path, now: datetime, expected: list[str]
) -> None:
    settings, store = make(tmp_path, now)
    got = [queue_next(settings, store, f"p{i}")["outbox"] for i in range(5)]
    assert [wall(t) for t in got] == expected
    # 09:00 local is a different UTC hour on each side of the change
    assert {t.astimezone(LONDON).utcoffset() for t in got} == {timedelta(0), timedelta(hours=1)}


def test_min_gap_is_respected_per_channel(tmp_path: Path) -> None:
    settings, store = make(tmp_path, datetime(2026, 10, 22, 18, 0, tzinfo=LONDON), "4h")
    first = queue_next(settings, store, "a", ("outbox", "x"))
    second = queue_next(settings, store, "b", ("outbox",))
    third = queue_next(settings, store, "c", ("outbox", "x"))
    # 12:30 is only 3h30 after 09:00, so the next post on a channel waits for 17:00
    assert wall(first["outbox"]) == wall(first["x"]) == "Fri 23 Oct 09:00 BST"
    assert wall(second["outbox"]) == "Fri 23 Oct 17:00 BST"
    assert wall(third["outbox"]) == "Mon 26 Oct 09:00 GMT"
    assert wall(third["x"]) == "Fri 23 Oct 17:00 BST"
    slots = free_slots(settings, store, now=store.clock.now(), count=3)  # type: ignore[arg-type]
    assert [(wall(t), free) for t, free in slots] == [
        ("Mon 26 Oct 09:00 GMT", ["x"]), ("Mon 26 Oct 12:30 GMT", ["x"]),
        ("Mon 26 Oct 17:00 GMT", ["outbox", "x"])]


def test_next_slot_respects_the_post_deadline(tmp_path: Path) -> None:
    now = datetime(2026, 10, 22, 18, 0, tzinfo=LONDON)
    settings, store = make(tmp_path, now)
    closes = datetime(2026, 10, 23, 12, 0, tzinfo=LONDON)
    queue_next(settings, store, "a")
    with pytest.raises(UsageError) as exc:
        queue_next(settings, store, "b", publish_before=closes)
    assert str(exc.value) == "no free slot for 'b' on outbox before 2026-10-23 12:00 BST"
