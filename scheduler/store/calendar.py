"""The coming weeks at a glance in the terminal: a grid, one column per day.

Weeks start on Monday in the configured zone. Each delivery is two lines, its state's
mark, time and channel, then its post id; blackout periods are marked on their days.
The HTML page of the same weeks is :mod:`scheduler.store.calendar_page`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from scheduler.blackouts import Blackout

if TYPE_CHECKING:
    from scheduler.store.rows import DeliveryRow

#: The mark before each delivery's time in the grid (a space for any other state).
SIGNS = {"awaiting_approval": "?", "published": "+", "failed": "!", "needs_check": "!",
         "missed": "x", "retry_wait": "~", "publishing": ">"}
#: The days' names, Monday first, as the grid and the page head their columns.
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def window(today: date, weeks: int, zone: tzinfo) -> tuple[date, datetime, datetime]:
    """The Monday starting the grid and the instants it covers."""
    monday = today - timedelta(days=today.weekday())
    start = datetime.combine(monday, time(0), tzinfo=zone)
    end = datetime.combine(monday + timedelta(weeks=weeks), time(0), tzinfo=zone)
    return monday, start, end


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

    def parts(self, entries: str | None) -> tuple[tuple[str, int, str], ...] | None:
        """The head parts of a :data:`GridPost`'s entries; None if an entry does not
        split into three fields (the caller checks their number against the row's)."""
        if entries is None:
            return None
        found = []
        for entry in entries.split(ENTRY):
            fields = entry.split(FIELD)
            if len(fields) != 3:
                return None
            channel, state, reminder = fields
            found.append(self.part(state, channel, reminder))
        return tuple(found)

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
                entries, self.parts(entries))
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
            lines.append(" ".join(f"{DAYS[i]} {d:%d %b}".ljust(cell)
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
