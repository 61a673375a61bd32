"""What one delivery publishes, as the adapters receive it.

The store builds these from the rows that were approved and checks every byte against the
hash approval covered; the adapters only read them. Images travel as bytes (they are small);
a video stays in its file (it may be hundreds of megabytes) and is re-hashed as it is read,
so a file swapped on disk during an upload is refused before the post is created.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.errors import PermanentPublishError

__all__ = ["OutgoingImage", "OutgoingPost", "OutgoingVideo"]

#: Read size for streaming a video; also the default chunk of chunked uploads.
CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class OutgoingImage:
    """One rendered image of the snapshot, stored content-addressed under ``data_dir``.

    ``data`` holds the bytes the store read and checked against ``sha256`` when it built
    the post; they are what is sent, so a file swapped on disk afterwards cannot be.
    """

    path: Path
    mime: str
    alt: str
    width: int
    height: int
    sha256: str
    focus: tuple[float, float] | None = None
    data: bytes | None = field(default=None, repr=False, compare=False)

    def read_bytes(self) -> bytes:
        """The verified bytes; a post built without them (a plug-in's own test) reads the
        file and checks it against ``sha256`` the same way."""
        if self.data is not None:
            return self.data
        import hashlib

        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise PermanentPublishError(f"media file {self.path} has changed since it was "
                                        "queued; it is not sent")
        return data


@dataclass(frozen=True)
class OutgoingVideo:
    """The channel's rendered video, its captions and its cover, as approved.

    ``captions_vtt`` is None when the captions are burned into the picture or the video
    has no speech.
    """

    path: Path
    sha256: str
    size: int
    mime: str
    alt: str
    width: int
    height: int
    captions_vtt: str | None = None
    cover: OutgoingImage | None = None

    def chunks(self, size: int = CHUNK, start: int = 0) -> Iterator[bytes]:
        """The file in pieces of ``size`` bytes from byte ``start`` (a resumed upload).

        The whole file is hashed as it is read (the part before ``start`` too), and the
        last piece is withheld until the hash matches: a caller that creates the post only
        after the last piece can never publish bytes nobody approved.
        """
        digest = hashlib.sha256()
        pending: bytes | None = None
        offset = 0
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise PermanentPublishError(f"video file {self.path} cannot be read: "
                                        f"{exc.strerror or exc}") from None
        with fh:
            while True:
                block = fh.read(size)
                if not block:
                    break
                digest.update(block)
                if offset + len(block) > start:
                    piece = block[max(start - offset, 0):]
                    if pending is not None:
                        yield pending
                    pending = piece
                offset += len(block)
        if digest.hexdigest() != self.sha256:
            raise PermanentPublishError(f"video file {self.path} has changed since it was "
                                        "queued; it is not sent")
        if pending is not None:
            yield pending

    def read_bytes(self) -> bytes:
        """The whole verified file, for platforms that take a video in one request."""
        return b"".join(self.chunks())

    def body(self, size: int = CHUNK) -> VideoBody:
        """The file as a request body that is streamed, not held: ``requests`` sends an
        iterable with a length piece by piece, with ``Content-Length``."""
        return VideoBody(self, size)

    @property
    def captions_bytes(self) -> bytes | None:
        return None if self.captions_vtt is None else self.captions_vtt.encode("utf-8")


class VideoBody:
    """A video as a streamed request body: iterating reads the file anew (a resend
    starts again), each pass re-hashed, the last piece withheld unless it matches."""

    def __init__(self, video: OutgoingVideo, size: int) -> None:
        self.video = video
        self.size = size

    def __iter__(self) -> Iterator[bytes]:
        return self.video.chunks(self.size)

    def __len__(self) -> int:
        return self.video.size


class StreamedForm:
    """A ``multipart/form-data`` body (RFC 7578) whose file parts may be streamed videos:
    sent piece by piece with its exact ``Content-Length``, never held in memory whole.

    ``files`` maps a field to ``(filename, content, mime)``, the content bytes or a
    :class:`VideoBody`.
    """

    def __init__(self, fields: Mapping[str, str],
                 files: Mapping[str, tuple[str, bytes | VideoBody, str]]) -> None:
        import uuid

        self.boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        self._parts: list[bytes | VideoBody] = []
        for name, value in fields.items():
            self._parts += [self._head(name), value.encode("utf-8"), b"\r\n"]
        for name, (filename, content, mime) in files.items():
            self._parts += [self._head(name, filename, mime), content, b"\r\n"]
        self._parts.append(f"--{self.boundary}--\r\n".encode())

    def _head(self, name: str, filename: str | None = None, mime: str | None = None) -> bytes:
        disposition = f'form-data; name="{name}"' + (
            f'; filename="{filename}"' if filename is not None else "")
        lines = [f"--{self.boundary}", f"Content-Disposition: {disposition}"]
        if mime is not None:
            lines.append(f"Content-Type: {mime}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    def __iter__(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, bytes):
                yield part
            else:
                yield from part

    def __len__(self) -> int:
        return sum(len(part) for part in self._parts)


@dataclass(frozen=True)
class OutgoingPost:
    """Exactly what one delivery publishes: caption and images (or one video) of the
    approved snapshot."""

    delivery_id: str
    post_id: str
    channel: str
    caption: str
    images: tuple[OutgoingImage, ...]
    language: str
    content_hash: str
    due_at: datetime
    attempt: int = 1
    # What the adapter recorded from an earlier attempt (container ids and the like).
    remote_state: Mapping[str, Any] = field(default_factory=dict)
    #: The fencing token of the claim this post is sent under; progress is recorded only
    #: while that claim is still current.
    claim_token: int | None = None
    #: The channel's video, when the post has one (then ``images`` is empty).
    video: OutgoingVideo | None = None
    #: Which part of a thread this is (1: the post itself, or the whole thread before
    #: :meth:`~scheduler.adapters.base.Adapter.publish_thread` splits it).
    part: int = 1
    #: The published part this one replies to, and the thread's first part: what
    #: ``publish_thread`` recorded of each (``{"id", "url", ...}`` and the platform's own
    #: reference, such as a Bluesky ``cid``).
    reply_to: Mapping[str, Any] | None = None
    thread_root: Mapping[str, Any] | None = None

    @property
    def parts(self) -> list[str]:
        """The texts this delivery publishes in order: one, or a thread's parts (or a
        post and its first comment), as the approved caption holds them."""
        from scheduler.platforms import thread_parts

        return thread_parts(self.caption)

    @property
    def key(self) -> str:
        """What this part's idempotency keys and record keys derive from: the delivery id
        for the first part, and a key of its own for each later one."""
        return self.delivery_id if self.part == 1 else f"{self.delivery_id}+{self.part}"
