"""One log line per event that matters, with the same fields in text and in JSON.

The publisher reports each recorded :class:`~scheduler.publish.worker.Outcome` through its
``on_event`` hook; :class:`EventReporter` reads the delivery's row once (for lateness, the
retry time and the URL, which the database already holds), logs the event at INFO on the
``postq.events`` logger and hands the same fields to any other listener (metrics).
Outcome details were already scrubbed of secrets by the publisher; the log handler scrubs
every line again (:class:`scheduler.ops.logs.LineFormatter`), tracebacks included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scheduler.timeutil import utc_iso

log = logging.getLogger("postq.events")

Listener = Callable[[dict[str, Any]], None]


def emit(event: str, message: str, **fields: Any) -> dict[str, Any]:
    """Log one event line at INFO (WARNING for trouble) with its fields attached."""
    fields = {"event": event, **{k: v for k, v in fields.items() if v is not None}}
    level = logging.WARNING if event in ("failed", "needs_check", "missed") else logging.INFO
    log.log(level, message, extra={"postq": fields})
    return fields


def _seconds(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds(), 3)


def describe(outcome: Any, row: Any, now: datetime) -> tuple[str, dict[str, Any]]:
    """The message and fields of one outcome, given its delivery row as now stored."""
    ref, state = outcome.ref, outcome.state
    fields: dict[str, Any] = {
        "delivery": outcome.delivery_id, "post": ref.split("@")[0],
        "channel": ref.rpartition("@")[2], "attempt": getattr(row, "attempts", None),
    }
    if state == "published":
        url = (row.remote_url or row.remote_id) if row is not None else outcome.detail
        done = row.published_at if row is not None and row.published_at else now
        late = _seconds(done, row.due_at if row is not None else None)
        took = _seconds(done, row.claimed_at) if row is not None else None
        fields.update(url=url, lateness_s=late, publish_s=took)
        where = f" {url}" if url else ""
        late_text = f", {late:.1f} s after its time" if late is not None else ""
        return f"published {ref}{where}{late_text}", fields
    if state == "retry_wait":
        when = row.wake_at if row is not None else None
        fields.update(reason=outcome.detail, retry_at=utc_iso(when) if when else None,
                      retry_in_s=_seconds(when, now))
        at = f" at {utc_iso(when)} (in {_seconds(when, now):.0f} s)" if when else ""
        return f"retry scheduled for {ref}{at}: {outcome.detail}", fields
    fields["reason"] = outcome.detail
    words = {"failed": "failed", "needs_check": "needs a check", "missed": "missed",
             "scheduled": "queued again"}
    return f"{ref} {words.get(state, state)}: {outcome.detail}", fields


class EventReporter:
    """The publisher's ``on_event`` hook: a log line and the listeners' fields per outcome."""

    def __init__(self, store: Any, clock: Any, listeners: list[Listener] | None = None) -> None:
        self.store = store
        self.clock = clock
        self.listeners = list(listeners or [])

    def __call__(self, outcome: Any) -> None:
        row = getattr(outcome, "row", None)
        try:
            if row is None:  # the outcome did not come with the row it left
                row = self.store.get_delivery(outcome.delivery_id)
        except Exception:  # the line must still be written without the extra facts
            log.debug("no row for %s", outcome.ref, exc_info=True)
            row = None
        message, fields = describe(outcome, row, self.clock.now())
        event = emit(outcome.state, message, **fields)
        for listener in self.listeners:
            listener(event)


class PauseWatcher:
    """Logs ``paused``/``resumed`` when the pause rows change (they are set from any
    terminal, so the publisher notices them when it looks, every heartbeat)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.known: dict[str | None, Any] | None = None

    def __call__(self) -> None:
        now = {p.channel: p for p in self.store.pauses()}
        if self.known is not None:
            for channel, p in now.items():
                if channel not in self.known:
                    what = "every channel" if channel is None else f"channel {channel}"
                    emit("paused", f"paused {what} by {p.paused_by}: {p.reason}",
                         channel=channel or "*", by=p.paused_by, reason=p.reason)
            for channel in self.known:
                if channel not in now:
                    what = "every channel" if channel is None else f"channel {channel}"
                    emit("resumed", f"resumed {what}", channel=channel or "*")
        elif now:
            for channel, p in now.items():
                what = "every channel" if channel is None else f"channel {channel}"
                emit("paused", f"{what} is paused by {p.paused_by}: {p.reason}",
                     channel=channel or "*", by=p.paused_by, reason=p.reason)
        self.known = now
