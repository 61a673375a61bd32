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

    # At claim time the adapter is never given a video it would publish as a still: the
    # store refuses to build the outgoing post, and the publisher holds it with this reason.
    from scheduler.config import load
    from scheduler.errors import PermanentPublishError
    from scheduler.store import Store

    store = Store.open(load(project.config))
    # The content hash recomputed from the stored rows (what the claim-time check does)
    # matches the one approved: cover, video and captions are covered by it.
    from scheduler.team.gate import why_held

    (row,) = store.list_deliveries()
    assert why_held(store, row) is None
    with pytest.raises(PermanentPublishError) as refused:
        store.outgoing(shown["deliveries"][0]["delivery_id"])
    assert str(refused.value) == ("the post has a video, and postq does not publish video "
                                  "to outbox yet")
