"""Plain-text and CSV renderings of the queue for the terminal.

Times are shown in the configured zone (what staff read on the wall clock); JSON output
elsewhere keeps UTC with an offset so scripts never have to guess.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, tzinfo

from scheduler.store.rows import DeliveryRow, EventRow, Heartbeat, PauseRow, PostView

_MARK = {
    "awaiting_approval": "awaiting approval", "retry_wait": "retry wait",
    "needs_check": "NEEDS CHECK", "failed": "FAILED",
}


def when(moment: datetime | None, zone: tzinfo, fmt: str = "%a %d %b %Y %H:%M %Z") -> str:
    return "-" if moment is None else moment.astimezone(zone).strftime(fmt)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns sized to their content."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return "\n".join(lines)


def pause_lines(pauses: Sequence[PauseRow], zone: tzinfo) -> list[str]:
    out = []
    for p in pauses:
        what = "ALL CHANNELS PAUSED" if p.channel is None else f"channel {p.channel} paused"
        out.append(f"{what} by {p.paused_by} at {when(p.paused_at, zone)}: {p.reason}")
    return out


def delivery_table(rows: Sequence[DeliveryRow], zone: tzinfo,
                   pauses: Sequence[PauseRow] = ()) -> str:
    paused = {p.channel for p in pauses}
    body = []
    for r in rows:
        note = r.remote_url or r.last_error or ""
        waiting = r.state in ("scheduled", "retry_wait", "awaiting_approval")
        if waiting and (None in paused or r.channel in paused):
            note = "paused" + (f"; {note}" if note else "")
        due = r.next_attempt_at or r.due_at
        body.append([when(due, zone, "%Y-%m-%d %H:%M %Z"), r.post_id, r.channel,
                     _MARK.get(r.state, r.state), str(r.attempts), note[:60]])
    return table(["DUE", "POST", "CHANNEL", "STATE", "TRIES", "NOTE"], body)


def post_text(view: PostView, zone: tzinfo) -> str:
    """``queue show``: the post, each channel's caption and media, and its history."""
    approval = "not required"
    if view.approval_required:
        approval = (f"approved by {view.approved_by} at {when(view.approved_at, zone)}"
                    if view.approved else "awaiting approval")
    lines = [
        f"{view.post_id} ({view.kind}, {view.language}), revision {view.revision}",
        f"  source:   {view.source_path}",
        f"  content:  {view.content_hash}",
        f"  queued:   by {view.queued_by} at {when(view.queued_at, zone)}",
        f"  approval: {approval}",
    ]
    if view.publish_before is not None:
        why = f" ({view.publish_before_reason})" if view.publish_before_reason else ""
        lines.append(f"  deadline: before {when(view.publish_before, zone)}{why}")
    for d in view.deliveries:
        lines += ["", f"[{d.channel}] {_MARK.get(d.state, d.state)}, due "
                      f"{when(d.due_at, zone)}, attempts {d.attempts}"]
        if d.next_attempt_at:
            lines.append(f"  next attempt: {when(d.next_attempt_at, zone)}")
        if d.remote_url or d.remote_id:
            lines.append(f"  published: {d.remote_url or d.remote_id}")
        if d.last_error:
            lines.append(f"  last error: {d.last_error}")
        lines += ["  caption:"] + [f"    {line}" for line in d.caption.splitlines()]
        for m in d.media:
            lines.append(f"  image {m.position + 1}: {m.path} ({m.width}x{m.height}, "
                         f"{m.mime}) alt: {m.alt}")
    lines += ["", "history:", event_table(view.events, zone)]
    return "\n".join(lines)


def event_table(events: Sequence[EventRow], zone: tzinfo) -> str:
    body = [
        [when(e.at, zone, "%Y-%m-%d %H:%M:%S %Z"), e.who, e.action,
         e.delivery_id.split("#")[0] if e.delivery_id else (e.channel or e.post_id or "*"),
         f"{e.state_before or '-'} -> {e.state_after or '-'}" if e.state_after else "",
         e.reason or ""]
        for e in events
    ]
    return table(["WHEN", "WHO", "WHAT", "WHICH", "STATE", "WHY"], body)


CSV_FIELDS = ("id", "at", "who", "action", "post_id", "delivery_id", "channel",
              "state_before", "state_after", "reason")


# A cell a spreadsheet would read as a formula (OWASP "CSV Injection":
# https://owasp.org/www-community/attacks/CSV_Injection) gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def event_csv(events: Sequence[EventRow]) -> str:
    """The audit trail as CSV, safe to open in a spreadsheet (no cell is a formula)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for e in events:
        w.writerow({k: _csv_cell(v) for k, v in e.as_dict().items()})
    return buf.getvalue()


def status_text(
    pauses: Sequence[PauseRow], counts: dict[str, int], due: Sequence[DeliveryRow],
    beats: Sequence[Heartbeat], now: datetime, zone: tzinfo,
) -> str:
    lines = pause_lines(pauses, zone) or ["Publishing is not paused."]
    lines += ["", "Deliveries:"]
    lines += [f"  {state:<18} {n}" for state, n in counts.items()]
    lines += ["", "Next due:"]
    if due:
        lines += ["  " + line for line in delivery_table(due, zone, pauses).splitlines()]
    else:
        lines.append("  nothing queued")
    lines += ["", "Publishers:"]
    if not beats:
        lines.append("  none has reported (is 'postq run' running?)")
    for b in beats:
        age = int((now - b.seen_at).total_seconds())
        state = "alive" if b.alive(now) else "NOT RESPONDING"
        lines.append(f"  {b.worker}: {state}, last seen {age} s ago")
    return "\n".join(lines)
