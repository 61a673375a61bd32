"""``postq watch``: notice a publisher that is dead or stuck, independently of it.

Run from a systemd timer or cron on any machine that reaches the queue. When a delivery
has waited longer than ``late_grace`` past its time (a live publisher would have published
it or marked it missed by then), or has been in ``publishing`` that long, it sends one
notice through the ``[notify]`` channel. The deliveries it has told people about are kept
in ``data_dir/watch-notified.json`` so the next run does not repeat the same notice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from scheduler.ops.health import overdue
from scheduler.store.report import when
from scheduler.timeutil import parse_duration

STATE_FILE = "watch-notified.json"


@dataclass
class WatchResult:
    overdue: list[Any]
    notice: str | None  # the text sent now, or None (nothing new to tell)


def stuck(store: Any, now: datetime, grace: timedelta) -> list[Any]:
    """Everything that should have gone out more than ``grace`` ago and has not."""
    late = overdue(store, now, grace)
    for row in store.list_deliveries(state="publishing"):
        if row.claimed_at is not None and row.claimed_at <= now - grace:
            late.append(row)
    return late


def notice_text(late: list[Any], now: datetime, zone: tzinfo) -> str:
    first = min(late, key=lambda r: r.wake_at)
    minutes = int((now - first.wake_at).total_seconds() // 60)
    many = f"{len(late)} deliveries are" if len(late) != 1 else "1 delivery is"
    return (f"postq: {many} overdue and nothing has published them (oldest: {first.ref}, "
            f"due {when(first.wake_at, zone)}, {minutes} min ago). Is `postq run` running? "
            "See `postq status`.")


def watch(settings: Any, store: Any, notifier: Any, now: datetime) -> WatchResult:
    """Look once; notify when there is something overdue not yet told about."""
    grace = parse_duration(settings.postq.late_grace)
    late = stuck(store, now, grace)
    path = Path(settings.data_dir) / STATE_FILE
    told = _read(path)
    keys = {f"{r.id}|{r.wake_at.isoformat()}" for r in late}
    notice = None
    if keys - told:
        notice = notice_text(late, now, settings.zone)
        notifier.send(notice, ",".join(sorted(keys)))
    if keys != told:
        _write(path, keys)
    return WatchResult(late, notice)


def _read(path: Path) -> set[str]:
    try:
        return set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return set()  # no memory only means one repeated notice


def _write(path: Path, keys: set[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(sorted(keys)), encoding="utf-8")
    os.replace(tmp, path)
