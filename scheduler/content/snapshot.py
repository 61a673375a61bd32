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
        videos = {c.channel: c.video for c in self.channels if c.video is not None}
        if videos:  # only when present, so a post of images keeps its hash
            doc["videos"] = {
                ch: {"sha256": v.sha256, "alt": v.alt, "captions": v.captions_vtt,
                     "cover": v.cover.sha256 if v.cover else None}
                for ch, v in sorted(videos.items())
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
