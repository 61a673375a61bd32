"""Plain-text and CSV renderings of the queue for the terminal.

Times are shown in the configured zone (what staff read on the wall clock); JSON output
elsewhere keeps UTC with an offset so scripts never have to guess.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from itertools import chain, islice
from typing import TYPE_CHECKING, Any

from scheduler.store.stored import read_time
from scheduler.timeutil import utc_iso

if TYPE_CHECKING:
    from scheduler.store.rows import DeliveryRow, EventRow, Heartbeat, PauseRow, PostView

_MARK = {
    "awaiting_approval": "awaiting approval", "retry_wait": "retry wait",
    "needs_check": "NEEDS CHECK", "failed": "FAILED",
}


def when(moment: datetime | None, zone: tzinfo, fmt: str = "%a %d %b %Y %H:%M %Z",
         now: datetime | None = None) -> str:
    """A time in ``zone``; with seconds when it is due within the next hour of ``now``."""
    if moment is None:
        return "-"
    if now is not None and timedelta(0) <= moment - now < timedelta(hours=1):
        fmt = fmt.replace("%H:%M", "%H:%M:%S")
    return moment.astimezone(zone).strftime(fmt)


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` first); 100 when output is not a terminal.

    What ``shutil.get_terminal_size((100, 24)).columns`` answers, without importing
    ``shutil`` (and the compression modules it loads) for a listing."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 100  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 100


def elide_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` in the middle, so the start and the end (a URL's last
    part, an id) both stay readable."""
    if len(text) <= width:
        return text
    if width <= 1:
        return text[:width]
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head):]


#: Rows a streamed table is sized to (see :func:`table_lines`).
SIZE_ROWS = 500


def table(headers: Sequence[str], rows: Sequence[Sequence[str]],
          width: int | None = None, flexible: Sequence[int] = ()) -> str:
    """Left-aligned columns sized to their content.

    When ``width`` is given and the table is wider, the ``flexible`` columns (indexes) are
    narrowed, widest first, eliding their cells in the middle, down to 12 characters.
    """
    return "\n".join(table_lines(headers, rows, width, flexible, size_rows=len(rows)))


def table_lines(headers: Sequence[str], rows: Iterable[Sequence[str]],
                width: int | None = None, flexible: Sequence[int] = (),
                size_rows: int = SIZE_ROWS) -> Iterator[str]:
    """:func:`table` line by line, as ``rows`` arrive: the columns are sized to the
    first ``size_rows`` rows (all of a list), so a million rows stream out in flat
    memory; a later cell wider than its column loses its middle, as a narrowed one does."""
    it = iter(rows)
    first = list(islice(it, size_rows))
    widths = [len(h) for h in headers]
    for row in first:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    if width is not None:
        over = sum(widths) + 2 * (len(widths) - 1) - width
        floor = {c: max(12, len(headers[c])) for c in flexible}
        while over > 0:
            # Narrow the widest column that can give, so long ids and URLs share the cut.
            col = max((c for c in flexible if widths[c] > floor[c]),
                      key=lambda c: widths[c], default=None)
            if col is None:
                break
            widths[col] -= 1
            over -= 1
    yield "  ".join(c.ljust(w) for c, w in zip(headers, widths, strict=True)).rstrip()
    # One format per row; a line longer than the table means a cell overflowed its
    # column, and only then are the cells measured and elided (a million rows stream).
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    full = sum(widths) + 2 * (len(widths) - 1)
    for row in chain(first, it):
        line = fmt.format(*row)
        if len(line) != full:
            line = fmt.format(*(elide_middle(c, w) for c, w in zip(row, widths, strict=True)))
        yield line.rstrip()


def pause_lines(pauses: Sequence[PauseRow], zone: tzinfo) -> list[str]:
    out = []
    for p in pauses:
        what = "ALL CHANNELS PAUSED" if p.channel is None else f"channel {p.channel} paused"
        out.append(f"{what} by {p.paused_by} at {when(p.paused_at, zone)}: {p.reason}")
    return out


#: What a line of ``queue list`` is made of, as a reader streams it: the time shown (the
#: next attempt's for a delivery waiting to retry, else the due time; an aware datetime,
#: or the naive-UTC text SQLite stores), post id, channel, reminder offset or None, state,
#: attempts, the note (the post's URL, else the last error, else "") and the delivery's id
#: (to name a damaged row).
Listed = tuple[datetime | str, str, str, str | None, str, int, str, str]

_WAITING = frozenset(("scheduled", "retry_wait", "awaiting_approval"))


def listed(r: DeliveryRow) -> Listed:
    """A delivery as a line of ``queue list`` needs it."""
    return (r.next_attempt_at or r.due_at, r.post_id, r.channel, r.reminder, r.state,
            r.attempts, r.remote_url or r.last_error or "", r.id)


def delivery_table(rows: Sequence[DeliveryRow], zone: tzinfo,
                   pauses: Sequence[PauseRow] = (), now: datetime | None = None,
                   width: int | None = None) -> str:
    """``queue list``: sized to ``width``; a long note or id loses its middle, never
    its end."""
    return "\n".join(delivery_lines(map(listed, rows), zone, pauses, now, width,
                                     size_rows=len(rows)))


def delivery_lines(rows: Iterable[Listed], zone: tzinfo,
                   pauses: Sequence[PauseRow] = (), now: datetime | None = None,
                   width: int | None = None, size_rows: int = SIZE_ROWS) -> Iterator[str]:
    """:func:`delivery_table` line by line as the rows are read (see :func:`table_lines`)."""
    paused = {p.channel for p in pauses}
    every = None in paused
    local = local_times(zone, now)

    def cells(row: Listed) -> tuple[str, ...]:
        due, post_id, channel, reminder, state, attempts, note, delivery_id = row
        if state in _WAITING and (every or channel in paused):
            note = "paused" + (f"; {note}" if note else "")
        return (local(due, delivery_id, "wake_at" if state == "retry_wait" else "due_at"),
                post_id,
                f"{channel} reminder {reminder}" if reminder else channel,
                _MARK.get(state, state), str(attempts), note)

    return table_lines(["DUE", "POST", "CHANNEL", "STATE", "TRIES", "NOTE"],
                       map(cells, rows), width=width, flexible=(1, 2, 5),
                       size_rows=size_rows)


_DAY_END = timedelta(days=1, microseconds=-1)


@lru_cache(maxsize=1)
def _clock() -> tuple[dict[str, int], tuple[str, ...]]:
    """Each 'HH:MM' of a day and its minute, and each minute as ' HH:MM': a local time
    made from its day's (see :func:`local_times`) is two lookups."""
    names = [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
    return {n: i for i, n in enumerate(names)}, tuple(f" {n}" for n in names)


def local_times(zone: tzinfo, now: datetime | None, *,
                zone_name: bool = True) -> Callable[..., str]:
    """:func:`when` with ``"%Y-%m-%d %H:%M %Z"`` (``zone_name=False``: without the
    zone's name) for a long listing.

    A post's deliveries on several channels share their due time, so each distinct
    stored value is converted (and so checked) once; and a conversion formats with
    ``isoformat``, under half what ``strftime`` costs (both are most of a line's
    cost). SQLite's text is cheaper still: each UTC day at one offset is converted
    once, and a time in it is checked by ``fromisoformat`` and moved by that offset in
    whole minutes (a day with a change of offset, or an offset with seconds, is
    converted time by time). Times within the hour after ``now`` carry seconds and are
    converted one by one. The other arguments name the delivery and column if the value
    is not a time."""
    hour = timedelta(hours=1)
    lo = hi = ""
    if now is not None:
        lo, hi = (m.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for m in (now, now + hour))
    seen: dict[datetime | str, str] = {}
    # Per UTC day ('YYYY-MM-DD'): the local dates its minutes fall on, the local minute
    # (from the first of those dates' midnight) its midnight falls on, and the zone's
    # name; None when the offset changes that day or is not a whole number of minutes.
    days: dict[str, tuple[tuple[str, str], int, str] | None] = {}
    minutes, clocks = _clock()

    def convert(moment: datetime, soon: bool) -> str:
        at = moment.astimezone(zone)
        text = at.isoformat(" ", "seconds")[:19] if soon else at.isoformat(" ", "minutes")[:16]
        return f"{text} {at.tzname()}" if zone_name else text

    def in_day(moment: datetime) -> tuple[tuple[str, str], int, str] | None:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=UTC)
        first, last = start.astimezone(zone), (start + _DAY_END).astimezone(zone)
        shift = first.utcoffset()
        if (shift is None or shift != last.utcoffset() or shift % timedelta(minutes=1)
                or first.tzname() != last.tzname()):
            return None
        on = first.date()
        return ((str(on), str(on + timedelta(days=1))), first.hour * 60 + first.minute,
                f" {first.tzname()}" if zone_name else "")

    def by_day(value: str) -> str | None:
        """A stored 'YYYY-MM-DD HH:MM...' text's local minute from its day's; None to
        convert it whole (another layout, no time: read_time then names the row)."""
        minute = minutes.get(value[11:16])
        if minute is None or value[10] != " " or value[7] != "-" or value[4] != "-":
            return None
        try:
            moment = datetime.fromisoformat(value)  # the check read_time makes
        except ValueError:
            return None
        key = value[:10]
        found = days[key] if key in days else days.setdefault(key, in_day(moment))
        if found is None:
            return None
        dates, start, name = found
        on, minute = divmod(start + minute, 1440)
        return dates[on] + clocks[minute] + name

    def local(value: datetime | str, delivery_id: str, column: str = "due_at") -> str:
        if isinstance(value, str):  # SQLite's naive-UTC text, ordered as the times are
            soon = lo <= value < hi
        else:
            soon = now is not None and now <= value < now + hour
        found = None if soon else seen.get(value)
        if found is None:
            if not soon and isinstance(value, str):
                found = by_day(value)
            if found is None:
                moment = read_time(delivery_id, column, value)
                found = "-" if moment is None else convert(moment, soon)
            if not soon:
                if len(seen) >= 65536:
                    seen.clear()
                    days.clear()
                seen[value] = found
        return found

    return local


def caption_links(caption: str) -> list[str]:
    """Each link of a caption as published (UTM tags included), as a browser opens it."""
    from scheduler.platforms import find_urls

    return [href for _start, _end, href in find_urls(caption)]


def post_text(view: PostView, zone: tzinfo, now: datetime | None = None,
              approvals: Mapping[str, str | None] | None = None) -> str:
    """``queue show``: the post, each channel's caption and media, and its history;
    ``approvals`` is each delivery's approval line (who, and whether the signature
    verifies)."""
    approval = "not required"
    if view.approval_required:
        approval = (f"approved by {view.approved_by} at {when(view.approved_at, zone)}"
                    if view.approved else "awaiting approval")
        signed = [n for n in (approvals or {}).values()
                  if n and not n.endswith("(login name only, no signature)")]
        if view.approved and signed:
            good = all(n.endswith("signature verified") for n in signed)
            approval += (", signature verified" if good
                         else ", signature NOT verified (see each channel)")
    lines = [
        f"{view.post_id} ({view.kind}, {view.language}), revision {view.revision}",
        f"  source:   {view.source_path}",
        f"  content:  {view.content_hash}",
        f"  queued:   by {view.queued_by} at {when(view.queued_at, zone)}",
        f"  approval: {approval}",
    ]
    pair = (view.details.get("extra") or {}).get("pair")
    if pair:
        lines.append(f"  pair:     {pair} (queued, approved and published together)")
    if view.publish_before is not None:
        why = f" ({view.publish_before_reason})" if view.publish_before_reason else ""
        lines.append(f"  deadline: before {when(view.publish_before, zone)}{why}")
    for d in view.deliveries:
        label = f"[{d.channel}]" if not d.reminder else f"  [{d.channel}] reminder {d.reminder}"
        if d.revision != view.revision:
            label += f" (revision {d.revision})"
        lines += ["", f"{label} {_MARK.get(d.state, d.state)}, due "
                      f"{when(d.due_at, zone, now=now)}, attempts {d.attempts}"]
        if d.published_at is not None:
            lines.append(f"  published on {when(d.published_at, zone)} at "
                         f"{d.remote_url or d.remote_id or '(no URL recorded)'}")
        if d.next_attempt_at:
            lines.append(f"  next attempt: {when(d.next_attempt_at, zone)}")
        elif d.remote_url or d.remote_id:
            lines.append(f"  published: {d.remote_url or d.remote_id}")
        if d.last_error:
            lines.append(f"  last error: {d.last_error}")
        if approvals and approvals.get(d.id):
            lines.append(f"  approval: {approvals[d.id]}")
        lines += _retraction_lines(d)
        lines += ["  caption:"] + [f"    {line}" for line in d.caption.splitlines()]
        lines += [f"  link: {href}" for href in caption_links(d.caption)]
        for m in d.media:
            if m.mime == "text/vtt":
                lines.append(f"  captions: {m.path}")
                continue
            what = "video" if m.mime.startswith("video/") else "image"
            lines.append(f"  {what} {m.position + 1}: {m.path} ({m.width}x{m.height}, "
                         f"{m.mime}) alt: {m.alt}")
    lines += ["", "history:", event_table(view.events, zone)]
    return "\n".join(lines)


def _retraction_lines(d: Any) -> list[str]:
    """Why and by whom a delivery is being (or was) taken down; a person's steps."""
    asked = (d.remote_state or {}).get("retraction")
    if not isinstance(asked, dict) or not d.state.startswith("retract"):
        return []
    lines = [f"  retraction: {asked.get('reason')} (asked by {asked.get('by')})"]
    if d.state == "retract_manual":
        lines += [f"    {n}. {step}" for n, step in enumerate(asked.get("steps") or [], 1)]
    return lines


def event_table(events: Sequence[EventRow], zone: tzinfo) -> str:
    return "\n".join(event_lines(events, zone, size_rows=len(events)))


def event_lines(events: Iterable[EventRow], zone: tzinfo,
                size_rows: int = SIZE_ROWS) -> Iterator[str]:
    """:func:`event_table` line by line as the events are read."""
    body = (
        [when(e.at, zone, "%Y-%m-%d %H:%M:%S %Z"), e.who, e.action,
         e.delivery_id.split("#")[0] if e.delivery_id else (e.channel or e.post_id or "*"),
         f"{e.state_before or '-'} -> {e.state_after or '-'}" if e.state_after else "",
         e.reason or ""]
        for e in events
    )
    return table_lines(["WHEN", "WHO", "WHAT", "WHICH", "STATE", "WHY"], body,
                       size_rows=size_rows)


CSV_FIELDS = ("id", "at", "who", "action", "post_id", "delivery_id", "channel",
              "state_before", "state_after", "reason")
#: Events per piece of CSV text: a streamed trail goes out in pieces of this many rows.
CSV_ROWS = 2000

# A cell a spreadsheet would read as a formula (OWASP "CSV Injection":
# https://owasp.org/www-community/attacks/CSV_Injection) gets a leading apostrophe. Every
# text cell is quoted and the first column is the numeric id, so a text cell starts at
# ',"'; inside a quoted cell every quote is doubled, so ',"' followed by one of these
# characters occurs only where a cell starts.
_FORMULA_CELL = re.compile(',"([-=+@\t\r])')


def safe_csv(text: str) -> str:
    """Audit-trail CSV text (see :func:`event_csv_text`) made safe to open in a
    spreadsheet (no cell is a formula) and to print (controls written as escapes).

    It works on whole pieces of many rows: per cell in Python it would cost more than
    reading the rows (``bench/queue_list.py``)."""
    from scheduler.textsafety import show  # the regex module: only for commands that print

    return show(_FORMULA_CELL.sub(",\"'\\1", text))


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV in the audit trail's dialect: every text cell quoted, numbers bare,
    None as "" (``csv.QUOTE_NONNUMERIC``), one line feed per row."""
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return buf.getvalue()


def event_csv_text(events: Iterable[EventRow]) -> Iterator[str]:
    """The audit trail as CSV (:func:`csv_text`), header first, then pieces of
    :data:`CSV_ROWS` events as they are read; what
    :meth:`SqliteReader.event_csv <scheduler.store.fastread.SqliteReader.event_csv>`
    writes in SQL. Print it through :func:`safe_csv`."""
    yield csv_text([CSV_FIELDS])
    it = iter(events)
    while batch := list(islice(it, CSV_ROWS)):
        # The fields of EventRow.as_dict, in CSV_FIELDS order, without building a dict.
        yield csv_text([e.id, utc_iso(e.at) if e.at is not None else None, e.who, e.action,
                        e.post_id, e.delivery_id, e.channel, e.state_before, e.state_after,
                        e.reason] for e in batch)


def status_text(
    pauses: Sequence[PauseRow], counts: dict[str, int], due: Sequence[DeliveryRow],
    beats: Sequence[Heartbeat], now: datetime, zone: tzinfo,
) -> str:
    lines = pause_lines(pauses, zone) or ["Publishing is not paused."]
    lines += ["", "Deliveries:"]
    lines += [f"  {state:<18} {n}" for state, n in counts.items()]
    lines += ["", "Next due:"]
    if due:
        lines += ["  " + line for line in delivery_table(due, zone, pauses, now=now).splitlines()]
    else:
        lines.append("  nothing queued")
    lines += ["", "Publishers:"]
    if not beats:
        lines.append("  none has reported (is 'postq run' running?)")
    for b in beats:
        lines.append(f"  {b.worker}: {publisher_state(b, now, zone)}")
    return "\n".join(lines)


def publisher_state(beat: Heartbeat, now: datetime, zone: tzinfo) -> str:
    """"alive", "NOT RESPONDING", or when and why it stopped (and a ``--once`` result)."""
    age = int((now - beat.seen_at).total_seconds())
    if not beat.stopped:
        return f"{'alive' if beat.alive(now) else 'NOT RESPONDING'}, last seen {age} s ago"
    what = "last run --once" if beat.info.get("mode") == "once" else "stopped"
    text = f"{what} {when(beat.seen_at, zone, '%Y-%m-%d %H:%M:%S %Z')} ({age} s ago): " \
           f"{beat.info.get('reason', '')}"
    result = beat.info.get("result")
    if isinstance(result, dict):
        text += "; " + (", ".join(f"{n} {s}" for s, n in sorted(result.items()))
                        or "nothing was due")
    return text


def json_lines(head: Mapping[str, Any], key: str, items: Iterable[Any]) -> Iterator[str]:
    """``json.dumps({**head, key: list(items)}, indent=2)``, the same text, a piece at a
    time as ``items`` arrive (``key`` last), so a long list is never held whole."""
    import json
    from textwrap import indent

    text = json.dumps({**head, key: []}, indent=2)
    before, after = text.rsplit("[]", 1)
    it = iter(items)
    first = next(it, None)
    if first is None:
        yield text
        return
    yield before + "["
    held = indent(json.dumps(first, indent=2), "    ")
    for item in it:
        yield held + ","
        held = indent(json.dumps(item, indent=2), "    ")
    yield held
    yield "  ]" + after
