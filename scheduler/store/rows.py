"""Plain read-only records the store hands out, and their documented JSON shapes.

Callers never see SQLAlchemy rows: these dataclasses are what the command line prints and
what the publisher works with, and ``as_dict`` is the stable ``--json`` shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.timeutil import utc_iso


def _iso(moment: datetime | None) -> str | None:
    return utc_iso(moment) if moment is not None else None


@dataclass(frozen=True)
class MediaRow:
    """One image of a delivery, as stored."""

    position: int
    path: Path
    sha256: str
    mime: str
    alt: str
    width: int
    height: int
    source: str
    focus: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "sha256": self.sha256, "mime": self.mime, "alt": self.alt,
            "width": self.width, "height": self.height, "source": self.source,
        }


@dataclass(frozen=True)
class DeliveryRow:
    """One post on one channel, in one revision."""

    id: str
    post_id: str
    channel: str
    adapter: str
    revision: int
    state: str
    due_at: datetime
    wake_at: datetime
    attempts: int
    caption: str
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    remote_id: str | None = None
    remote_url: str | None = None
    last_error: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    remote_state: dict[str, Any] = field(default_factory=dict)
    media: tuple[MediaRow, ...] = ()
    #: A Q&A reminder's offset before the event (``-1h``); '' for the post itself.
    reminder: str = ""
    #: The fencing token of the claim this row was read under: every outcome the
    #: claimant records must name it, so a claim taken over meanwhile records nothing.
    claim_token: int = 0

    @property
    def delivery_id(self) -> str:
        return self.id

    @property
    def ref(self) -> str:
        """``ID@CHANNEL`` (``ID@CHANNEL~-1h`` for a reminder), what a person types."""
        tail = f"~{self.reminder}" if self.reminder else ""
        return f"{self.post_id}@{self.channel}{tail}"

    @property
    def attempt(self) -> int:
        return self.attempts

    @property
    def next_attempt_at(self) -> datetime | None:
        return self.wake_at if self.state == "retry_wait" else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery_id": self.id, "post_id": self.post_id, "channel": self.channel,
            "adapter": self.adapter, "revision": self.revision, "state": self.state,
            "due_at": _iso(self.due_at), "next_attempt_at": _iso(self.next_attempt_at),
            "attempts": self.attempts, "remote_id": self.remote_id,
            "remote_url": self.remote_url, "last_error": self.last_error,
            "published_at": _iso(self.published_at), "reminder": self.reminder or None,
        }


@dataclass(frozen=True)
class Claimed(DeliveryRow):
    """What :meth:`Store.claim_due` returns: a delivery now in ``publishing``, with what
    the claim's transaction read about its post (``evidence``, a
    :class:`~scheduler.store.evidence.ClaimEvidence`): the publisher checks and sends
    from it without reading the rows again."""

    evidence: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, row: DeliveryRow, evidence: Any) -> Claimed:
        return cls(**{f.name: getattr(row, f.name) for f in fields(DeliveryRow)},
                   evidence=evidence)


@dataclass(frozen=True)
class EventRow:
    """One line of the append-only audit trail."""

    id: int
    at: datetime
    who: str
    action: str
    post_id: str | None
    delivery_id: str | None
    channel: str | None
    state_before: str | None
    state_after: str | None
    reason: str | None
    prev_chain: str | None = None
    chain: str | None = None
    signed: str | None = None  # the person's {"doc", "sig"} as JSON

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "at": _iso(self.at), "who": self.who, "action": self.action,
            "post_id": self.post_id, "delivery_id": self.delivery_id, "channel": self.channel,
            "state_before": self.state_before, "state_after": self.state_after,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class PauseRow:
    """A pause switch that is on; ``channel`` None means every channel."""

    channel: str | None
    reason: str
    paused_by: str
    paused_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "reason": self.reason, "paused_by": self.paused_by,
                "paused_at": _iso(self.paused_at)}


@dataclass(frozen=True)
class Heartbeat:
    """The last sign of life of one publisher process."""

    worker: str
    seen_at: datetime
    info: dict[str, Any]

    def alive(self, now: datetime, within: timedelta = timedelta(seconds=30)) -> bool:
        return not self.stopped and now - self.seen_at < within

    @property
    def stopped(self) -> bool:
        """It stopped cleanly (``info`` holds ``stopped_at`` and ``reason``)."""
        return "stopped_at" in self.info


@dataclass(frozen=True)
class PostView:
    """Everything known about one post: its current revision, deliveries and history."""

    post_id: str
    revision: int
    kind: str
    language: str
    source_path: str
    content_hash: str
    publish_at: datetime | None
    publish_before: datetime | None
    publish_before_reason: str | None
    queued_by: str
    queued_at: datetime
    approval_required: bool
    approved_by: str | None
    approved_at: datetime | None
    approved_hash: str | None
    deliveries: tuple[DeliveryRow, ...]
    events: tuple[EventRow, ...]
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def approved(self) -> bool:
        return self.approved_hash is not None and self.approved_hash == self.content_hash

    def as_dict(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id, "revision": self.revision, "kind": self.kind,
            "language": self.language, "source_path": self.source_path,
            "content_hash": self.content_hash, "publish_at": _iso(self.publish_at),
            "publish_before": _iso(self.publish_before),
            "publish_before_reason": self.publish_before_reason,
            "queued_by": self.queued_by, "queued_at": _iso(self.queued_at),
            "approval": {
                "required": self.approval_required, "approved": self.approved,
                "by": self.approved_by, "at": _iso(self.approved_at),
                "content_hash": self.approved_hash,
            },
            "deliveries": [
                {**d.as_dict(), "caption": d.caption, "media": [m.as_dict() for m in d.media]}
                for d in self.deliveries
            ],
            "events": [e.as_dict() for e in self.events],
        }


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
