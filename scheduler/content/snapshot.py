"""The frozen snapshot of a post that is queued, approved and published.

Queueing turns a post file into a :class:`PostSnapshot`: every channel's composed caption
and rendered image bytes. The store keeps it byte for byte, approval is given to its
:meth:`PostSnapshot.content_hash`, and adapters publish exactly it, so editing the file
afterwards changes nothing that goes out.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
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

    def content_hash(self) -> str:
        """Hash of everything that is published: approval is given to this value."""
        return hash_content(self.post_id, self.language, [
            (c.channel, c.adapter, c.caption, [(i.sha256, i.mime, i.alt) for i in c.images])
            for c in self.channels
        ])


#: ``(channel, adapter, caption, [(sha256, mime, alt), ...])`` for one channel.
ChannelContent = tuple[str, str, str, Iterable[tuple[str, str, str]]]


def hash_content(post_id: str, language: str, channels: Iterable[ChannelContent]) -> str:
    """The content hash from its parts: the snapshot at queueing and the publisher at
    claim time (from the stored rows) compute it with this one function."""
    doc = {
        "post_id": post_id,
        "language": language,
        "channels": [
            {
                "channel": channel,
                "adapter": adapter,
                "caption": caption,
                "images": [{"sha256": sha, "mime": mime, "alt": alt}
                           for sha, mime, alt in images],
            }
            for channel, adapter, caption, images in sorted(channels, key=lambda c: c[0])
        ],
    }
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()
