"""``queue add`` snapshots the video renders; the publisher holds a video it cannot send."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.timeutil import get_zone
from tests.test_video_content import video_post
from tests.video_samples import make_video

pytest.importorskip("av")

LONDON = get_zone("Europe/London")


def soon(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).astimezone(LONDON) \
        .strftime("%Y-%m-%d %H:%M")


def test_queue_add_keeps_render_cover_and_captions_and_publisher_holds_video(project):
    assets = project.root / "assets"
    make_video(assets / "clip.mp4", size=(320, 180), seconds=3)
    (assets / "clip.vtt").write_text("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello\n",
                                     encoding="utf-8")
    path = video_post(project, channels="outbox", extra="  captions: clip.vtt\n  cover: 1")
    r = project.run("queue", "add", str(path), "--at", soon(90),
                    env={"POSTQ_USER": "alice"})
    assert r.exit_code == 0, r.stderr
    text = project.run("queue", "show", "clip").stdout
    assert "  image 1: " in text and "(320x180, image/jpeg) alt: An officer walks" in text
    assert "  video 2: " in text and "(320x180, video/mp4) alt: An officer walks" in text
    assert "  captions: " in text and text.count(".vtt") == 1
    shown = json.loads(project.run("queue", "show", "clip", "--json").stdout)
    media = shown["deliveries"][0]["media"]
    assert [m["mime"] for m in media] == ["image/jpeg", "video/mp4", "text/vtt"]
    source = (assets / "clip.mp4").read_bytes()
    # The source already fits the outbox: the queued video is the very same bytes.
    assert media[1]["sha256"] == hashlib.sha256(source).hexdigest()
    stored = project.root / ".postq" / "media" / media[1]["sha256"][:2]
    assert (stored / f"{media[1]['sha256']}.mp4").read_bytes() == source
    vtt = (stored.parent / media[2]["sha256"][:2] / f"{media[2]['sha256']}.vtt").read_text()
    assert vtt == "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello\n"

    # At claim time the store hands the adapter the video, its cover and its captions,
    # each checked against the hash approval covered.
    from scheduler.config import load
    from scheduler.errors import PermanentPublishError
    from scheduler.store import Store

    store = Store.open(load(project.config))
    # The content hash recomputed from the stored rows (what the claim-time check does)
    # matches the one approved: cover, video and captions are covered by it.
    from scheduler.team.gate import why_held

    (row,) = store.list_deliveries()
    assert why_held(store, row) is None
    post = store.outgoing(shown["deliveries"][0]["delivery_id"])
    assert post.images == () and post.video is not None
    assert post.video.sha256 == media[1]["sha256"] and post.video.size == len(source)
    assert post.video.cover is not None and post.video.cover.sha256 == media[0]["sha256"]
    assert post.video.captions_vtt == vtt
    # Rows queued before images and a video could travel together have no marked cover:
    # the one image row beside the video is still taken for its cover.
    from sqlalchemy import update

    from scheduler.store.schema import T

    dm = T["delivery_media"]
    with store.engine.begin() as conn:
        conn.execute(update(dm).where(dm.c.delivery_id == row.id, dm.c.position == 0)
                     .values(source="clip.mp4"))
    older = store.outgoing(row.id)
    assert older.images == () and older.video is not None
    assert older.video.cover is not None and older.video.cover.sha256 == media[0]["sha256"]
    assert b"".join(post.video.chunks(size=1000)) == source
    assert b"".join(post.video.chunks(size=1000, start=1500)) == source[1500:]
    # A file changed on disk after the claim is refused before its last piece is handed
    # over, so an upload of it never reaches the call that creates the post.
    post.video.path.write_bytes(source[:-10] + b"0123456789")
    pieces = post.video.chunks(size=len(source) // 3 + 1)
    first = next(pieces)
    assert first == source[:len(first)]
    with pytest.raises(PermanentPublishError) as refused:
        list(pieces)
    assert "has changed since it was queued" in str(refused.value)
