"""The coming weeks at a glance: a terminal grid and an HTML page a manager can read.

Weeks start on Monday in the configured zone. The HTML page stands alone: thumbnails of the
queued renders are embedded in it (small JPEG data URIs), so it can be moved or mailed and
never asks for a file. Each day lists its posts by time, one block per post (a post going
to five channels is one block with five channel chips coloured by state), reminders
marked as such and listed under their announcement, closing dates and Q&A events marked,
today outlined and past days greyed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from scheduler.blackouts import Blackout

if TYPE_CHECKING:
    from pathlib import Path

    from scheduler.store.rows import DeliveryRow

#: The mark before each delivery's time in the grid (a space for any other state).
SIGNS = {"awaiting_approval": "?", "published": "+", "failed": "!", "needs_check": "!",
         "missed": "x", "retry_wait": "~", "publishing": ">"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_THUMB = 96


@dataclass(frozen=True)
class Milestone:
    """A closing date or an event time to mark on its day."""

    post_id: str
    kind: str  # closing_date | event_at
    at: date
    time: str | None = None


def window(today: date, weeks: int, zone: tzinfo) -> tuple[date, datetime, datetime]:
    """The Monday starting the grid and the instants it covers."""
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(weeks=weeks), time(0), tzinfo=zone)
    return monday, start, end


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


def blackout_days(periods: Sequence[Blackout], day: date, zone: tzinfo) -> list[Blackout]:
    """The blackout periods that cover any part of ``day`` (local)."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return [b for b in periods if b.start < end and b.end > start]


#: A delivery as the terminal grid shows it: due time (an aware datetime, or the naive-UTC
#: text SQLite stores), post id, channel, reminder offset or None, state, delivery id.
GridEntry = tuple[datetime | str, str, str, str | None, str, str]

#: A post's deliveries at one due time, as
#: :meth:`SqliteReader.grid_posts <scheduler.store.fastread.SqliteReader.grid_posts>`
#: reads them: the due time as stored, the post id, each delivery's channel, state and
#: reminder (joined by :data:`FIELD`, the deliveries by :data:`ENTRY`, in channel order;
#: None if one is not text) and how many deliveries there are.
GridPost = tuple[str, str, str | None, int]
FIELD, ENTRY = "\x1f", "\x1e"


def calendar_text(entries: Iterable[GridEntry], monday: date, weeks: int, zone: tzinfo,
                  width: int = 100, blackouts: Sequence[Blackout] = ()) -> str:
    """A grid, one block of lines per week, one column per day, sized to ``width``.

    Each entry is two lines, its time and channel, then its post id; a cell too narrow
    loses the middle of a name, never its end. A day inside a blackout period starts
    with ``#`` and the period's name; the periods are listed under the grid. Cancelled
    deliveries are left out.
    """
    grid = _Grid(zone, width)
    days = grid.by_delivery(entries)
    return grid.text(days, monday, weeks, blackouts)


def calendar_text_by_post(posts: Iterable[GridPost], monday: date, weeks: int,
                          zone: tzinfo, width: int = 100,
                          blackouts: Sequence[Blackout] = ()) -> str | None:
    """:func:`calendar_text` from one row per post and due time (:data:`GridPost`):
    at a million deliveries a four-week window holds tens of thousands, and Python
    handling a row per post, not per delivery, is most of what the grid costs. None when
    a row holds what its delivery rows must draw (a name or state that is not text or
    holds a separator, a due time that is not one): the caller then draws those."""
    grid = _Grid(zone, width)
    days = grid.by_post(posts)
    return None if days is None else grid.text(days, monday, weeks, blackouts)


class _Grid:
    """The cells of a grid ``width`` characters wide, each made once.

    Rows come in due order, so the local day and time are looked up once per distinct
    due time (and converted once per distinct value, by ``local_times``). A head cell
    is its state's mark, the time and then the channel and reminder, cut in the middle
    (``elide_middle``) or padded to the cell: the cut keeps at least the mark and five
    characters, so what follows the time depends on the state, channel and reminder
    alone and is made once for each; a name cell is made once per post (its channels
    share it)."""

    def __init__(self, zone: tzinfo, width: int) -> None:
        from scheduler.store.report import elide_middle, local_times

        self.elide = elide_middle
        self.zone = zone
        self.cell = max(12, (width - 6) // 7)
        self.keep = (self.cell - 1) // 2
        self.local = local_times(zone, None, zone_name=False)
        self.after: dict[Any, tuple[str, int, str]] = {}
        self.names: dict[Any, str] = {}

    def part(self, state: Any, channel: Any, reminder: Any) -> tuple[str, int, str]:
        """A head cell with a five-character time ``t`` is ``mark + t[:n] + rest``."""
        rest = f" {channel} ~{reminder}" if reminder else f" {channel}"
        mark, cell, keep = SIGNS.get(state, " "), self.cell, self.keep
        if 6 + len(rest) <= cell:
            return mark, 5, rest.ljust(cell - 6)
        cut = self.elide(f"{mark}00:00{rest}", cell)  # the time never reaches the end
        return mark, min(5, keep - 1), cut[min(6, keep):]

    def name(self, post_id: Any) -> str:
        """A post's name cell: its id, indented, cut in the middle or padded."""
        found = self.names.get(post_id)
        if found is None:
            text = f"  {post_id}"
            found = self.names[post_id] = (text if len(text) <= self.cell
                                           else self.elide(text, self.cell)).ljust(self.cell)
        return found

    def parts(self, entries: str | None, count: int) -> tuple[tuple[str, int, str], ...] | None:
        """The head parts of a :data:`GridPost`'s entries; None if they do not split
        into ``count`` deliveries of three fields each."""
        if entries is None:
            return None
        found = []
        for entry in entries.split(ENTRY):
            fields = entry.split(FIELD)
            if len(fields) != 3:
                return None
            channel, state, reminder = fields
            found.append(self.part(state, channel, reminder))
        return tuple(found) if len(found) == count else None

    def by_delivery(self, entries: Iterable[GridEntry]) -> dict[str, list[str]]:
        """Each local day's cells (by ISO date), two per delivery, from a row each."""
        days: dict[str, list[str]] = {}
        after, local, name, cell, elide = self.after, self.local, self.name, self.cell, self.elide
        cells: list[str] = []
        last: datetime | str | None = None
        clock = ""
        for due, post_id, channel, reminder, state, delivery_id in entries:
            if state == "cancelled":
                continue
            if due != last:
                moment = local(due, delivery_id)
                clock, last = moment[11:], due
                cells = days.setdefault(moment[:10], [])
            if len(clock) == 5:
                part = after.get(key := (state, channel, reminder))
                if part is None:
                    part = after[key] = self.part(state, channel, reminder)
                mark, n, rest = part
                head = mark + clock[:n] + rest
            else:  # no time to show
                text = f"{SIGNS.get(state, ' ')}{clock} {channel}" + (
                    f" ~{reminder}" if reminder else "")
                head = (text if len(text) <= cell else elide(text, cell)).ljust(cell)
            cells += (head, name(post_id))
        return days

    def by_post(self, posts: Iterable[GridPost]) -> dict[str, list[str]] | None:
        """:meth:`by_delivery` from a row per post and due time; None when a row
        cannot be drawn from it (see :func:`calendar_text_by_post`)."""
        from scheduler.errors import StoreError

        days: dict[str, list[str]] = {}
        local, names, name = self.local, self.names, self.name
        groups: dict[str | None, tuple[tuple[str, int, str], ...] | None] = {}
        cells: list[str] = []
        last: str | None = None
        clock = ""
        for due, post_id, entries, count in posts:
            if due != last:
                try:
                    moment = local(due, post_id)
                except StoreError:
                    return None  # the delivery rows name the damaged one
                clock, last = moment[11:], due
                cells = days.setdefault(moment[:10], [])
                if len(clock) != 5:
                    return None
            # Posts share their channels and states: the entries' parts are made once.
            parts = groups[entries] if entries in groups else groups.setdefault(
                entries, self.parts(entries, count))
            if parts is None or len(parts) != count:
                return None
            block = [names.get(post_id) or name(post_id)] * (2 * count)
            block[::2] = [mark + clock[:n] + rest for mark, n, rest in parts]
            cells += block
        return days

    def text(self, days: dict[str, list[str]], monday: date, weeks: int,
             blackouts: Sequence[Blackout]) -> str:
        """The grid laid out from each local day's cells (by ISO date)."""
        zone, cell, elide = self.zone, self.cell, self.elide
        lines = []
        first, last = monday, monday + timedelta(weeks=weeks)
        shown = [b for b in blackouts if b.start.astimezone(zone).date() < last
                 and b.end.astimezone(zone).date() >= first]
        blank = " " * cell
        for w in range(weeks):
            week = [monday + timedelta(days=7 * w + i) for i in range(7)]
            lines.append(" ".join(f"{_DAYS[i]} {d:%d %b}".ljust(cell)
                                  for i, d in enumerate(week)))
            lines.append(" ".join("-" * cell for _ in week))
            columns = [[elide(f"#{b.name}", cell).ljust(cell)
                        for b in blackout_days(shown, d, zone)] + days.get(d.isoformat(), [])
                       for d in week]
            if not any(columns):
                columns[0] = [""]
            lines += [" ".join(row).rstrip()
                      for row in zip_longest(*columns, fillvalue=blank)]
            lines.append("")
        lines.append("? awaiting approval  + published  ~ retry wait  > publishing")
        lines.append("! failed or needs check  x missed  ~-1h: a Q&A reminder  "
                     "#name: a blackout")
        lines += [f"blackout {b.describe(zone)}" for b in shown]
        return "\n".join(lines)


def grid_entry(r: DeliveryRow) -> GridEntry:
    """A delivery as :func:`calendar_text` takes it."""
    return (r.due_at, r.post_id, r.channel, r.reminder, r.state, r.id)


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
    import html

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
        "<table><tr>" + "".join(f"<th>{d}</th>" for d in _DAYS) + "</tr>",
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
    import html

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
    import base64
    import io

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
