"""A channel's video in the queue: cover, render and captions as three media rows.

They go in the same content-addressed media table as images, so they are verified the
same way and shared between posts. The cover comes first, so everything that shows a
delivery's first picture (the calendar's thumbnails) shows the cover.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from scheduler.store.media import MediaStore
from scheduler.store.schema import T

#: ``delivery_media.source`` of the captions row.
CAPTIONS_SOURCE = "captions"
#: How the cover row's ``delivery_media.source`` begins (then where the cover came
#: from: an image under assets/ or a time in the video), so the publisher tells it from
#: the post's own images, which travel beside the video in a carousel.
COVER_SOURCE = "cover:"
VIDEO_MIMES = ("video/mp4",)


def _media_row(conn: Connection, sha: str, mime: str, size: int, path: Path,
               root: Path) -> None:
    m = T["media"]
    if conn.execute(select(m.c.sha256).where(m.c.sha256 == sha)).first() is None:
        conn.execute(m.insert().values(sha256=sha, mime=mime, size=size,
                                       file_name=str(path.relative_to(root))))


def insert_video(conn: Connection, media: MediaStore, did: str, video: Any, start: int,
                 created: list[Path]) -> None:
    """Cover, video and captions rows after the images, in the order
    :meth:`~scheduler.content.snapshot.ChannelSnapshot.media_parts` hashes them."""
    dm = T["delivery_media"]
    pos = start
    rows: list[tuple[str, str, int, Path, str, int, int, str]] = []
    if video.cover is not None:
        c = video.cover
        path = media.ensure(c.data, c.sha256, c.extension, created)
        rows.append((c.sha256, c.mime, len(c.data), path, video.alt, c.width, c.height,
                     COVER_SOURCE + c.source))
    path = media.ensure_file(Path(video.path), video.sha256, video.extension, created)
    rows.append((video.sha256, video.mime, video.size, path, video.alt, video.width,
                 video.height, video.source))
    if video.captions_vtt is not None:
        data = video.captions_vtt.encode("utf-8")
        sha = hashlib.sha256(data).hexdigest()
        path = media.ensure(data, sha, ".vtt", created)
        rows.append((sha, "text/vtt", len(data), path, "", 0, 0, CAPTIONS_SOURCE))
    for sha, mime, size, path, alt, w, h, source in rows:
        _media_row(conn, sha, mime, size, path, media.root)
        conn.execute(dm.insert().values(delivery_id=did, position=pos, sha256=sha, alt=alt,
                                        width=w, height=h, source=source))
        pos += 1
