"""The ``outbox`` adapter: each publication becomes a new folder on disk.

It is the embedded default channel: rehearsals, demos and organisations that hand posts
to another system all get the exact bytes that would have gone out, with no network.
A folder is written under a hidden temporary name and renamed into place, so a reader
never sees half a publication, and an existing folder is never replaced: a second
publication of the same delivery is visible as a second folder, which is precisely the
double-post a test or an auditor wants to catch.

Folder layout (``<UTC time>_<post id>@<channel>/``)::

    caption.txt   the caption, UTF-8
    1.jpg 2.jpg   the images, in order, byte for byte as approved
    video.mp4     or the video, byte for byte as approved (streamed, re-hashed as read),
    captions.vtt  with its captions file (when it has one)
    cover.jpg     and its cover image
    meta.json     post_id, channel, delivery_id, content_hash, due_at, published_at, ...

A channel with ``profile = "instagram"`` (or another platform) receives that platform's
renders, so its folders rehearse exactly the video, captions and cover the platform would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.adapters.base import (
    Adapter,
    AdapterSettings,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.errors import TransientPublishError

_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
               "image/gif": ".gif"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
_TMP_PREFIX = ".postq-tmp-"
# A temporary folder older than this was left by a crash mid-write and can go.
_STALE_TMP_SECONDS = 3600
# How often a running publisher looks for such folders. Looking lists the whole outbox,
# which grows with every publication, so it is done when the adapter first publishes
# and then on this timer, never on every publish.
SWEEP_EVERY_SECONDS = 600.0


class OutboxSettings(AdapterSettings):
    """``path``: where folders are written.

    An absolute path is used as given. A relative one is resolved against the parent of
    the adapter's ``data_dir`` (the configuration folder in the usual layout, where
    ``data_dir = ".postq"``), or against the current directory when there is no
    ``data_dir``; callers that know the configuration folder should pass an absolute
    path. Unset means ``<data_dir>/outbox``.
    """

    path: str | None = None


class OutboxAdapter(Adapter):
    """Writes each delivery to ``<path>/<UTC time>_<post id>@<channel>/``."""

    platform = "outbox"
    settings_model = OutboxSettings
    publishes_video = True
    #: ``time.monotonic()`` of the last sweep for stale temporary folders; None: not yet.
    swept_at: float | None = None

    @property
    def root(self) -> Path:
        """The resolved outbox folder."""
        raw = getattr(self.settings, "path", None)
        if not raw:
            return (self.data_dir or Path(".postq")) / "outbox"
        path = Path(raw).expanduser()
        if path.is_absolute():
            return path
        base = self.data_dir.parent if self.data_dir is not None else Path.cwd()
        return base / path

    # -- publishing ---------------------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        root = self.root
        now = self.clock.now().astimezone(UTC)
        try:
            root.mkdir(parents=True, exist_ok=True)
            if self.swept_at is None or time.monotonic() - self.swept_at >= SWEEP_EVERY_SECONDS:
                self.swept_at = time.monotonic()
                remove_stale_temp(root)
            left = self.progress(post).get("folder")
            if left:
                # An earlier attempt died while writing: its folder may have been renamed
                # into place before the crash, and then it is the publication; else what
                # it half wrote goes.
                found = self.check(post)
                if found is not None:
                    return found
                shutil.rmtree(root / _safe(str(left)), ignore_errors=True)
            tmp = root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
            if post.video is not None:
                # A video takes a while to write: a restart after a crash cleans up after it.
                self.remember(post, folder=tmp.name)
            tmp.mkdir()
            try:
                self._write_contents(tmp, post, now.isoformat(timespec="seconds"))
                final = self._rename_into_place(tmp, root, self._folder_name(post, now))
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            _fsync_dir(root)
            if post.video is not None:
                self.remember(post, folder=None)  # done: a deliberate second run writes anew
        except OSError as exc:
            # A full or unavailable disk may recover; the publisher retries.
            raise TransientPublishError(f"outbox {root}: cannot write: {exc}") from None
        return Published(remote_id=final.name, url=final.resolve().as_uri())

    def check(self, post: OutgoingPost) -> Published | None:
        """The earliest folder whose ``meta.json`` names this delivery, if any."""
        root = self.root
        if not root.is_dir():
            return None
        for folder in sorted(root.iterdir()):
            if folder.name.startswith(".") or not folder.is_dir():
                continue
            meta = _read_meta(folder)
            if meta is not None and meta.get("delivery_id") == post.delivery_id:
                return Published(remote_id=folder.name, url=folder.resolve().as_uri())
        return None

    def retract(self, post: PublishedPost) -> None:
        """Move the delivery's folder into ``retracted/`` with ``retraction.json`` (the
        reason and time), so what was handed over is kept but no longer offered."""
        root = self.root
        folder = root / post.remote_id
        target = root / "retracted" / post.remote_id
        if not folder.is_dir():
            return  # moved already (an earlier attempt), or removed by hand
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            note = {"reason": post.reason, "delivery_id": post.delivery_id,
                    "retracted_at": self.clock.now().astimezone(UTC).isoformat(
                        timespec="seconds")}
            path = folder / "retraction.json"
            if not path.exists():
                _write_file(path, (json.dumps(note, ensure_ascii=False, indent=2)
                                   + "\n").encode("utf-8"))
            os.rename(folder, target)
            _fsync_dir(root)
        except OSError as exc:
            raise TransientPublishError(f"outbox {root}: cannot move {post.remote_id} to "
                                        f"retracted/: {exc}") from None

    def is_gone(self, post: PublishedPost) -> bool | None:
        return not (self.root / post.remote_id).exists()

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        now = self.clock.now().astimezone(UTC)
        target = self.root / self._folder_name(post, now)
        files: dict[str, Any] = {"caption.txt": post.caption}
        # Imported here: the HTTP module pulls in requests, which the outbox never needs.
        from scheduler.adapters.http import describe_bytes

        for index, image in enumerate(post.images, start=1):
            files[_image_name(index, image.mime)] = describe_bytes(image.read_bytes(), image.mime)
        video = post.video
        if video is not None:
            files[_VIDEO_NAME] = f"<{video.size} bytes {video.mime} sha256={video.sha256}>"
            if video.captions_vtt is not None:
                files[_CAPTIONS_NAME] = f"<{len(video.captions_bytes or b'')} bytes text/vtt>"
            if video.cover is not None:
                files[_cover_name(video.cover.mime)] = describe_bytes(
                    video.cover.read_bytes(), video.cover.mime)
        files["meta.json"] = self._meta(post, now.isoformat(timespec="seconds"))
        return [PlannedRequest(method="WRITE", url=target.resolve().as_uri(), body=files)]

    def verify(self) -> str:
        root = self.root
        probe = root if root.exists() else next((p for p in root.parents if p.exists()), root)
        if not os.access(probe, os.W_OK):
            return f"cannot write to {root}"
        return f"writes to {root}"

    # -- internals ----------------------------------------------------------------------
    @staticmethod
    def _folder_name(post: OutgoingPost, now: datetime) -> str:
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        return f"{stamp}_{_safe(post.post_id)}@{_safe(post.channel)}"

    def _meta(self, post: OutgoingPost, published_at: str) -> dict[str, Any]:
        return {
            "post_id": post.post_id,
            "channel": post.channel,
            "delivery_id": post.delivery_id,
            "content_hash": post.content_hash,
            "due_at": post.due_at.isoformat(),
            "published_at": published_at,
            "language": post.language,
            "images": [
                {
                    "file": _image_name(i, img.mime),
                    "alt": img.alt,
                    "mime": img.mime,
                    "width": img.width,
                    "height": img.height,
                    "sha256": img.sha256,
                }
                for i, img in enumerate(post.images, start=1)
            ],
            **({"video": self._video_meta(post)} if post.video is not None else {}),
        }

    @staticmethod
    def _video_meta(post: OutgoingPost) -> dict[str, Any]:
        video = post.video
        assert video is not None
        cover = video.cover
        return {"file": _VIDEO_NAME, "alt": video.alt, "mime": video.mime,
                "width": video.width, "height": video.height, "size": video.size,
                "sha256": video.sha256,
                "captions": _CAPTIONS_NAME if video.captions_vtt is not None else None,
                "cover": None if cover is None else {
                    "file": _cover_name(cover.mime), "mime": cover.mime,
                    "width": cover.width, "height": cover.height, "sha256": cover.sha256}}

    def _write_contents(self, folder: Path, post: OutgoingPost, published_at: str) -> None:
        _write_file(folder / "caption.txt", post.caption.encode("utf-8"))
        for index, image in enumerate(post.images, start=1):
            _write_file(folder / _image_name(index, image.mime), image.read_bytes())
        video = post.video
        if video is not None:
            if video.cover is not None:
                _write_file(folder / _cover_name(video.cover.mime), video.cover.read_bytes())
            if video.captions_bytes is not None:
                _write_file(folder / _CAPTIONS_NAME, video.captions_bytes)
            with open(folder / _VIDEO_NAME, "xb") as fh:
                for piece in video.chunks():  # re-hashed as read: a changed file stops here
                    fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
        meta = json.dumps(self._meta(post, published_at), ensure_ascii=False, indent=2) + "\n"
        # meta.json last: its presence marks a complete folder even to a careless reader.
        _write_file(folder / "meta.json", meta.encode("utf-8"))
        _fsync_dir(folder)

    @staticmethod
    def _rename_into_place(tmp: Path, root: Path, name: str) -> Path:
        for n in range(1, 1000):
            final = root / (name if n == 1 else f"{name}~{n}")
            if final.exists():
                continue
            try:
                # POSIX rename refuses a non-empty target, so a folder that appeared
                # between the check and here is never replaced; we move on to ~n+1.
                os.rename(tmp, final)
            except OSError:
                if final.exists():
                    continue
                raise
            return final
        raise OSError(f"too many folders named {name}")


def remove_stale_temp(root: Path) -> int:
    """Remove the temporary folders a crash mid-write left (older than an hour: a
    younger one may be another publisher's write in progress); returns how many."""
    cutoff = time.time() - _STALE_TMP_SECONDS
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(_TMP_PREFIX):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
                removed += 1
        except OSError:
            pass
    return removed


def _safe(name: str) -> str:
    return _UNSAFE.sub("_", name) or "_"


def _image_name(index: int, mime: str) -> str:
    return f"{index}{_EXTENSIONS.get(mime, '.bin')}"


_VIDEO_NAME = "video.mp4"
_CAPTIONS_NAME = "captions.vtt"


def _cover_name(mime: str) -> str:
    return f"cover{_EXTENSIONS.get(mime, '.bin')}"


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (Windows); rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
