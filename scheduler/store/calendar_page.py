"""The coming weeks as an HTML page a manager can read.

The page stands alone: thumbnails of the queued renders are embedded in it (small JPEG
data URIs), so it can be moved or mailed and never asks for a file. Each day lists its
posts by time, one block per post (a post going to five channels is one block with five
channel chips coloured by state), reminders marked as such and listed under their
announcement, closing dates and Q&A events marked, today outlined and past days greyed.
The terminal grid (:mod:`scheduler.store.calendar`) loads none of it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from scheduler.blackouts import Blackout
from scheduler.store.calendar import DAYS, blackout_days

if TYPE_CHECKING:
    from pathlib import Path

    from scheduler.store.rows import DeliveryRow

_THUMB = 96


@dataclass(frozen=True)
class Milestone:
    """A closing date or an event time to mark on its day."""

    post_id: str
    kind: str  # closing_date | event_at
    at: date
    time: str | None = None


def milestones(found: Sequence[tuple[str, str, str]], zone: tzinfo) -> list[Milestone]:
    """``(post_id, kind, iso)`` from the store as marks on local days."""
    out = []
    for post_id, kind, value in found:
        if kind == "event_at":
            moment = datetime.fromisoformat(value).astimezone(zone)
            out.append(Milestone(post_id, kind, moment.date(), f"{moment:%H:%M}"))
        else:
            out.append(Milestone(post_id, kind, date.fromisoformat(value[:10])))
    return out


def _by_day(rows: Sequence[DeliveryRow], zone: tzinfo) -> dict[date, list[DeliveryRow]]:
    out: dict[date, list[DeliveryRow]] = {}
    for r in rows:
        if r.state != "cancelled":
            out.setdefault(r.due_at.astimezone(zone).date(), []).append(r)
    return out


_CSS = """
body{font-family:system-ui,sans-serif;margin:1rem;color:#0b0c0c;background:#f3f2f1}
h1{margin:0 0 .25rem;font-size:1.4rem}.legend{font-size:.8rem;margin:.25rem 0 1rem}
.legend span{margin-right:.75rem}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff}
th{background:#0b0c0c;color:#fff;padding:4px;font-size:.85rem}
td{border:1px solid #b1b4b6;vertical-align:top;padding:4px;font-size:12px;min-width:0}
td.past{background:#e8e8e8;color:#6f777b}td.past img{filter:grayscale(1);opacity:.6}
td.today{outline:3px solid #1d70b8;outline-offset:-3px;background:#eef5fb}
.day{display:flex;justify-content:space-between;font-weight:bold;margin-bottom:4px}
.todaytag{background:#1d70b8;color:#fff;border-radius:3px;padding:0 4px;font-size:11px}
.mark{border-radius:3px;padding:1px 4px;margin:2px 0;font-size:11px;font-weight:bold}
.mark.closing_date{background:#d4351c;color:#fff}.mark.blackout{background:#0b0c0c;color:#fff}.mark.event_at{background:#4c2c92;color:#fff}
.e{display:flex;gap:4px;border-top:1px solid #e5e5e5;padding:3px 0;align-items:flex-start}
.e img{width:40px;height:40px;object-fit:cover;border-radius:3px;flex:none}
.e .t{font-variant-numeric:tabular-nums;font-weight:bold}
.e .id{overflow-wrap:anywhere}
.e.reminder{margin-left:10px;border-left:3px solid #4c2c92;padding-left:4px}
.rem{font-size:11px;color:#4c2c92}.rems{font-size:11px;color:#505a5f;margin:0;padding-left:14px}
.chip{display:inline-block;border-radius:8px;padding:0 5px;margin:1px 2px 0 0;font-size:11px;
 border:1px solid #b1b4b6;white-space:nowrap}
.scheduled{background:#d2e2f1}.awaiting_approval{background:#fff2b3}
.published{background:#cce2d8}.publishing,.retry_wait{background:#ffe7cc}
.failed,.needs_check,.missed{background:#f6d7d2;border-color:#d4351c}
"""

_LEGEND = (("scheduled", "scheduled"), ("awaiting_approval", "awaiting approval"),
           ("published", "published"), ("retry_wait", "retrying"),
           ("failed", "failed / needs check / missed"))


def calendar_html(rows: Sequence[DeliveryRow], monday: date, weeks: int, zone: tzinfo,
                  today: date, marks: Sequence[Milestone] = (),
                  blackouts: Sequence[Blackout] = ()) -> str:
    """The whole page as one string; it refers to no other file."""
    days = _by_day(rows, zone)
    by_mark: dict[date, list[Milestone]] = {}
    for m in marks:
        by_mark.setdefault(m.at, []).append(m)
    reminders: dict[str, list[DeliveryRow]] = {}
    for r in rows:
        if r.reminder and r.state != "cancelled":
            reminders.setdefault(r.post_id, []).append(r)
    thumbs: dict[str, str] = {}
    e = html.escape
    legend = "".join(f"<span class='chip {k}'>{e(v)}</span>" for k, v in _LEGEND)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<link rel='icon' href='data:,'><title>postq calendar</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Queue, {weeks} week(s) from {monday:%A %d %B %Y}</h1>",
        f"<p class='legend'>{legend}<span class='mark closing_date'>closing date</span>"
        "<span class='mark event_at'>Q&amp;A event</span></p>",
        "<table><tr>" + "".join(f"<th>{d}</th>" for d in DAYS) + "</tr>",
    ]
    for w in range(weeks):
        parts.append("<tr>")
        for i in range(7):
            day = monday + timedelta(days=7 * w + i)
            cls = "past" if day < today else "today" if day == today else "future"
            tag = "<span class='todaytag'>Today</span>" if day == today else ""
            cell = [f"<div class='day'><span>{day:%d %b}</span>{tag}</div>"]
            for b in blackout_days(blackouts, day, zone):
                cell.append(f"<div class='mark blackout' data-mark='blackout' "
                            f"title='{e(b.describe(zone))}'>Blackout: {e(b.name)}</div>")
            today_marks = by_mark.get(day, [])
            closing = sorted(m.post_id for m in today_marks if m.kind == "closing_date")
            if closing:  # one line however many posts close that day
                names = ", ".join(f"<span data-mark='closing_date' data-post='{e(p)}'>{e(p)}"
                                  "</span>" for p in closing)
                cell.append(f"<div class='mark closing_date'>Closes: {names}</div>")
            for m in sorted((m for m in today_marks if m.kind == "event_at"),
                            key=lambda m: m.time or ""):
                cell.append(f"<div class='mark event_at' data-mark='event_at' "
                            f"data-post='{e(m.post_id)}'>Q&amp;A live {e(m.time)}: "
                            f"{e(m.post_id)}</div>")
            for group in _groups(days.get(day, []), zone):
                cell.append(_entry(group, zone, thumbs, reminders))
            parts.append(f"<td class='{cls}' data-day='{day.isoformat()}'>{''.join(cell)}</td>")
        parts.append("</tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def _groups(rows: Sequence[DeliveryRow], zone: tzinfo) -> list[list[DeliveryRow]]:
    """One group per post, reminder and minute, in time order."""
    out: dict[tuple[str, str, str], list[DeliveryRow]] = {}
    for r in sorted(rows, key=lambda r: (r.due_at, r.post_id, bool(r.reminder), r.channel)):
        key = (f"{r.due_at.astimezone(zone):%H:%M}", r.post_id, r.reminder)
        out.setdefault(key, []).append(r)
    return list(out.values())


def _entry(group: list[DeliveryRow], zone: tzinfo, thumbs: dict[str, str],
           reminders: dict[str, list[DeliveryRow]]) -> str:
    e = html.escape
    first = group[0]
    img = ""
    media = next((r.media[0] for r in group if r.media), None)
    if media is not None:
        data = _thumbnail(media.path, media.sha256, thumbs)
        if data:
            img = f"<img src='{data}' alt='{e(media.alt)}'>"
    chips = "".join(
        f"<span class='chip {e(r.state)}' data-channel='{e(r.channel)}' "
        f"title='{e(r.state.replace('_', ' '))}'>{e(r.channel)}</span>" for r in group)
    kind = " reminder" if first.reminder else ""
    label = (f"<div class='rem'>Reminder {e(first.reminder)} before the event</div>"
             if first.reminder else "")
    under = ""
    if not first.reminder and reminders.get(first.post_id):
        times = sorted({(r.due_at, r.reminder) for r in reminders[first.post_id]})
        under = "<ul class='rems'>" + "".join(
            f"<li>reminder {e(rem)}: {at.astimezone(zone):%a %d %b %H:%M}</li>"
            for at, rem in times) + "</ul>"
    return (f"<div class='e{kind}' data-post='{e(first.post_id)}' "
            f"data-reminder='{e(first.reminder)}'>{img}<div>"
            f"<span class='t'>{first.due_at.astimezone(zone):%H:%M}</span> "
            f"<span class='id'>{e(first.post_id)}</span>{label}<div>{chips}</div>{under}"
            "</div></div>")


def _thumbnail(path: Path, sha: str, cache: dict[str, str]) -> str:
    """A small JPEG of a render as a data URI ('' if the render is gone)."""
    if sha in cache:
        return cache[sha]
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.thumbnail((_THUMB, _THUMB))
            buf = io.BytesIO()
            im.convert("RGB").save(buf, "JPEG", quality=70)
    except OSError:
        cache[sha] = ""
        return ""
    cache[sha] = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return cache[sha]
