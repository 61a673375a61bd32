"""The frozen snapshot of a post that is queued, approved and published.

Queueing turns a post file into a :class:`PostSnapshot`: every channel's composed caption
and rendered image bytes. The store keeps it byte for byte, approval is given to its
:meth:`PostSnapshot.content_hash`, and adapters publish exactly it, so editing the file
afterwards changes nothing that goes out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ImageSnapshot:
    """One rendered image for one channel."""

    data: bytes
    mime: str
    alt: str
    width: int
    height: int
    source: str
    focus: tuple[float, float] | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def extension(self) -> str:
        return {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
                "image/gif": ".gif"}.get(self.mime, ".bin")


@dataclass(frozen=True)
class ChannelSnapshot:
    """What one channel (one configured account) will receive."""

    channel: str
    adapter: str
    caption: str
    count: int
    limit: int
    images: tuple[ImageSnapshot, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReminderSnapshot:
    """One Q&A reminder on one channel: its own caption, the post's renders.

    ``offset`` is the normalised offset before the event (``-1h``); the reminder is due at
    ``due_at`` = event time + offset, unless that is past or not after the post itself.
    """

    offset: str
    due_at: datetime
    content: ChannelSnapshot


@dataclass(frozen=True)
class PostSnapshot:
    """A whole post as queued: identity, timing rules and one entry per channel."""

    post_id: str
    kind: str
    source_path: str
    source_text: str
    language: str
    publish_at: datetime | None
    channels: tuple[ChannelSnapshot, ...]
    # The post must be out strictly before this instant (closing date, event time).
    publish_before: datetime | None = None
    publish_before_reason: str | None = None
    closing_date: date | None = None
    event_at: datetime | None = None
    extra: dict[str, object] = field(default_factory=dict)
    reminders: tuple[ReminderSnapshot, ...] = ()

    def content_hash(self) -> str:
        """Hash of everything that is published: approval is given to this value."""
        doc = {
            "post_id": self.post_id,
            "language": self.language,
            "channels": [
                {
                    "channel": c.channel,
                    "adapter": c.adapter,
                    "caption": c.caption,
                    "images": [
                        {"sha256": i.sha256, "mime": i.mime, "alt": i.alt} for i in c.images
                    ],
                }
                for c in sorted(self.channels, key=lambda c: c.channel)
            ],
        }
        if self.reminders:  # only when present, so a post without keeps its hash
            doc["reminders"] = [
                {"channel": r.content.channel, "offset": r.offset,
                 "due_at": r.due_at.isoformat(), "caption": r.content.caption,
                 "images": [i.sha256 for i in r.content.images]}
                for r in sorted(self.reminders, key=lambda r: (r.content.channel, r.due_at))
            ]
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()
