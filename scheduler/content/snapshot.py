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
from typing import Any


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
class VideoSnapshot:
    """One rendered video for one channel.

    The bytes stay in a file (``path``, named by the render's inputs under ``data_dir``)
    rather than in memory: a video may be hundreds of megabytes. ``sha256`` is what
    approval covers; the store copies the file into the media store and checks it.
    """

    path: str
    sha256: str
    size: int
    alt: str
    width: int
    height: int
    duration: float
    fps: float
    source: str
    #: What the render did (``pass``, ``remux`` or ``transcode``) and why.
    action: str
    why: tuple[str, ...] = ()
    #: The captions as WebVTT when they travel beside the video; None when burned in or
    #: when the video has no speech.
    captions_vtt: str | None = None
    burned: bool = False
    cover: ImageSnapshot | None = None
    mime: str = "video/mp4"
    #: The platform's limits the render was checked against, in words (for the preview).
    checks: str = ""

    @property
    def extension(self) -> str:
        return ".mp4"


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
    video: VideoSnapshot | None = None

    def media_parts(self) -> list[tuple[str, str, str]]:
        """``(sha256, mime, alt)`` of each media row this channel's delivery stores, in
        the stored order (images; then the video's cover, the video, its captions: see
        :func:`scheduler.store.video.insert_video`). The content hash covers exactly this
        list, so the publisher can recompute it from the rows at claim time."""
        parts = [(i.sha256, i.mime, i.alt) for i in self.images]
        v = self.video
        if v is not None:
            if v.cover is not None:
                parts.append((v.cover.sha256, v.cover.mime, v.alt))
            parts.append((v.sha256, v.mime, v.alt))
            if v.captions_vtt is not None:
                vtt = hashlib.sha256(v.captions_vtt.encode("utf-8")).hexdigest()
                parts.append((vtt, "text/vtt", ""))
        return parts


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
        return hash_content(self.post_id, self.language, [
            (c.channel, c.adapter, c.caption, c.media_parts()) for c in self.channels
        ], self.reminder_parts())

    def reminder_parts(self) -> list[ReminderContent]:
        """What each reminder publishes, for the hash and for the posts row's record of
        it: the claim-time check finds a reminder row edited in the database with these."""
        return [(r.content.channel, r.offset, r.content.caption,
                 [i.sha256 for i in r.content.images]) for r in self.reminders]


#: ``(channel, adapter, caption, [(sha256, mime, alt), ...])`` for one channel.
ChannelContent = tuple[str, str, str, Iterable[tuple[str, str, str]]]
#: ``(channel, offset, caption, [sha256, ...])`` for one Q&A reminder. Its due time is not
#: content: a reminder may be moved on its own, and the approval covers each due time.
ReminderContent = tuple[str, str, str, Iterable[str]]


def hash_content(post_id: str, language: str, channels: Iterable[ChannelContent],
                 reminders: Iterable[ReminderContent] = ()) -> str:
    """The content hash from its parts: the snapshot at queueing and the publisher at
    claim time (from the stored rows) compute it with this one function. Reminders are
    part of what is approved (one approval covers the series); a post without them keeps
    the hash it always had."""
    doc: dict[str, Any] = {
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
    ordered = sorted(reminders, key=lambda r: (r[0], r[1]))
    if ordered:
        doc["reminders"] = [
            {"channel": channel, "offset": offset, "caption": caption, "images": list(shas)}
            for channel, offset, caption, shas in ordered
        ]
    blob = json.dumps(doc, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()
