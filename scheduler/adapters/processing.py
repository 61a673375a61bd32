"""Waiting for a platform to process an uploaded video, the same way in every adapter.

See :meth:`scheduler.adapters.base.Adapter.await_processing` for the rule; this module
holds its loop and the types the adapters' status calls answer with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from scheduler.errors import PermanentPublishError, StillProcessing

if TYPE_CHECKING:
    from scheduler.adapters.base import Adapter
    from scheduler.adapters.outgoing import OutgoingPost

__all__ = ["VIDEO_WAIT_BUDGET", "Processing", "processing_waits", "wait_for_processing"]

#: The longest one publishing call waits, in total, for a platform to finish processing
#: an uploaded video (seconds). See :meth:`Adapter.await_processing`.
VIDEO_WAIT_BUDGET = 45.0


def processing_waits(progress: Mapping[str, Any]) -> int:
    """How many attempts of a delivery ended in :class:`StillProcessing` (recorded in its
    progress by :meth:`Adapter.await_processing`)."""
    value = progress.get("processing_waits")
    return value if isinstance(value, int) and value > 0 else 0


def recorded_video(adapter: Adapter, post: OutgoingPost, keep: timedelta) -> dict[str, Any]:
    """What an earlier attempt recorded of this post's video upload (``video`` in the
    progress), or ``{}`` when there is none, it was for other bytes, or it is older than
    ``keep`` (how long the platform holds an unattached upload): then the video goes up
    anew instead of naming an upload the platform may have dropped."""
    state = adapter.progress(post).get("video")
    if not isinstance(state, dict) or state.get("sha256") != getattr(post.video, "sha256", None):
        return {}
    try:
        fresh = adapter.clock.now() - datetime.fromisoformat(str(state["at"])) < keep
    except (KeyError, ValueError):
        fresh = False
    return dict(state) if fresh else {}


@dataclass(frozen=True)
class Processing:
    """One answer of a platform's media-status call: ``state`` is ``done``, ``pending``
    or ``failed``; ``wait`` the seconds it suggests before asking again (X's
    ``check_after_secs``); ``detail`` its words for a failure."""

    state: str
    wait: float | None = None
    detail: str = ""


def wait_for_processing(adapter: Adapter, post: OutgoingPost, what: str,
                        poll: Callable[[], Processing], sleep: Callable[[float], None], *,
                        forget: Callable[[], None] | None = None,
                        budget: float = VIDEO_WAIT_BUDGET) -> None:
    """The loop of :meth:`~scheduler.adapters.base.Adapter.await_processing`."""
    waited, interval = 0.0, 1.0
    while True:
        answer = poll()
        if answer.state == "done":
            return
        if answer.state == "failed":
            if forget is not None:
                forget()
            raise PermanentPublishError(
                f"channel '{adapter.channel}': the platform could not process {what}: "
                f"{answer.detail or 'no reason given'}")
        pause = max(answer.wait if answer.wait is not None else interval, 0.1)
        if waited + pause > budget:
            # Counted, so the publisher does not take this attempt for a failure.
            adapter.remember(post, processing_waits=processing_waits(adapter.progress(post)) + 1)
            raise StillProcessing(
                f"channel '{adapter.channel}': {what} is still being processed after "
                f"{waited:.0f} s; the upload is kept and asked about again",
                retry_after=max(pause, 5.0))
        sleep(pause)
        waited += pause
        interval = min(interval * 2, 8.0)
