"""Shared pieces of the store and queue-command tests: snapshots and database URLs.

``POSTQ_TEST_DATABASE_URLS`` (space separated SQLAlchemy URLs of empty, disposable
databases, e.g. PostgreSQL) adds those databases to every store test next to SQLite.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

from PIL import Image

from scheduler.content.snapshot import ChannelSnapshot, ImageSnapshot, PostSnapshot


def extra_db_urls() -> list[str]:
    return os.environ.get("POSTQ_TEST_DATABASE_URLS", "").split()


#: Parameters of every ``db_url`` fixture: SQLite always, then the extra databases.
DB_PARAMS = ["sqlite", *extra_db_urls()]


def make_db_url(param: str, tmp_path: Path) -> str:
    """A fresh SQLite file, or the extra database emptied of postq's tables."""
    if param == "sqlite":
        return f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    from sqlalchemy import create_engine

    from scheduler.store.schema import build_metadata

    engine = create_engine(param)
    build_metadata().drop_all(engine)
    engine.dispose()
    return param


def png(color: str = "#336699", size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


def image(color: str = "#336699", alt: str = "A desk with case notes.") -> ImageSnapshot:
    data = png(color)
    return ImageSnapshot(data=data, mime="image/png", alt=alt, width=32, height=24,
                         source="careers/desk.jpg", focus=(0.5, 0.4))


def snap(
    post_id: str = "io",
    channels: tuple[str, ...] = ("outbox",),
    *,
    caption: str = "Join us.",
    images: tuple[ImageSnapshot, ...] | None = None,
    publish_at: datetime | None = None,
    publish_before: datetime | None = None,
    reason: str | None = "closing date",
    kind: str = "careers_promo",
) -> PostSnapshot:
    imgs = (image(),) if images is None else images
    return PostSnapshot(
        post_id=post_id, kind=kind, source_path=f"posts/{post_id}.md",
        source_text=f"---\nid: {post_id}\n---\n{caption}\n", language="en",
        publish_at=publish_at,
        channels=tuple(
            ChannelSnapshot(channel=c, adapter=c, caption=f"{caption} ({c})", count=10,
                            limit=500, images=imgs)
            for c in channels
        ),
        publish_before=publish_before,
        publish_before_reason=reason if publish_before else None,
    )


def test_snapshot_helper_is_stable() -> None:
    assert snap().content_hash() == snap().content_hash()
    assert snap(caption="x").content_hash() != snap().content_hash()
