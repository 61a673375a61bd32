"""The coming weeks at a glance: a terminal grid and an HTML page with thumbnails.

Weeks start on Monday in the configured zone. The HTML page points at the queued renders
themselves (relative paths when possible), so it shows exactly the images that will go
out, and it needs no server: open the file in a browser.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

from scheduler.store.rows import DeliveryRow

_CELL = 16
_SIGN = {"awaiting_approval": "?", "published": "+", "failed": "!", "needs_check": "!",
         "missed": "x", "retry_wait": "~", "publishing": ">"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def window(today: date, weeks: int, zone: tzinfo) -> tuple[date, datetime, datetime]:
    """The Monday starting the grid and the instants it covers."""
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(weeks=weeks), time(0), tzinfo=zone)
    return monday, start, end


def _by_day(rows: Sequence[DeliveryRow], zone: tzinfo) -> dict[date, list[DeliveryRow]]:
    out: dict[date, list[DeliveryRow]] = {}
    for r in rows:
        if r.state != "cancelled":
            out.setdefault(r.due_at.astimezone(zone).date(), []).append(r)
    return out


def calendar_text(rows: Sequence[DeliveryRow], monday: date, weeks: int, zone: tzinfo) -> str:
    """A grid, one block of lines per week, one column per day."""
    days = _by_day(rows, zone)
    lines = []
    for w in range(weeks):
        week = [monday + timedelta(days=7 * w + i) for i in range(7)]
        lines.append(" ".join(f"{_DAYS[i]} {d:%d %b}".ljust(_CELL) for i, d in enumerate(week)))
        lines.append(" ".join("-" * _CELL for _ in week))
        cells = [
            [f"{_SIGN.get(r.state, ' ')}{r.due_at.astimezone(zone):%H:%M} {r.post_id}@{r.channel}"
             [:_CELL] for r in days.get(d, [])]
            for d in week
        ]
        for i in range(max((len(c) for c in cells), default=0) or 1):
            lines.append(" ".join((c[i] if i < len(c) else "").ljust(_CELL)
                                  for c in cells).rstrip())
        lines.append("")
    lines.append("? awaiting approval  + published  ~ retry wait  > publishing  "
                 "! failed or needs check  x missed")
    return "\n".join(lines)


def calendar_html(rows: Sequence[DeliveryRow], monday: date, weeks: int, zone: tzinfo,
                  out: Path) -> str:
    """A self-contained page; images are linked relative to ``out``'s folder."""
    days = _by_day(rows, zone)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>postq calendar</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:1rem}"
        "table{border-collapse:collapse;width:100%;table-layout:fixed}"
        "td,th{border:1px solid #ccc;vertical-align:top;padding:4px;font-size:12px}"
        ".e{margin-bottom:6px}.s{color:#555}img{max-width:96px;max-height:96px;display:block}"
        ".awaiting_approval{background:#fff6d5}.published{background:#e3f5e1}"
        ".failed,.needs_check,.missed{background:#fbe0e0}</style></head><body>",
        f"<h1>Queue, {weeks} week(s) from {monday:%d %B %Y}</h1><table><tr>",
        "".join(f"<th>{d}</th>" for d in _DAYS) + "</tr>",
    ]
    for w in range(weeks):
        parts.append("<tr>")
        for i in range(7):
            day = monday + timedelta(days=7 * w + i)
            cell = [f"<strong>{day:%d %b}</strong>"]
            for r in days.get(day, []):
                cell.append(_entry(r, zone, out))
            parts.append(f"<td>{''.join(cell)}</td>")
        parts.append("</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def _entry(r: DeliveryRow, zone: tzinfo, out: Path) -> str:
    e = html.escape
    img = ""
    if r.media:
        m = r.media[0]
        img = f"<img src='{e(_link(m.path, out))}' alt='{e(m.alt)}'>"
    return (f"<div class='e {e(r.state)}'>{r.due_at.astimezone(zone):%H:%M} "
            f"<b>{e(r.post_id)}</b> @{e(r.channel)}<div class='s'>{e(r.state)}</div>{img}</div>")


def _link(path: Path, out: Path) -> str:
    try:
        return Path(os.path.relpath(path, out.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return path.resolve().as_uri()
