"""X video against the fake: the documented fields, resuming, expiry, dry runs.

The request check against X's API description (Prism) is in :mod:`tests.test_adapter_x`,
which owns the session's X peer. The scenarios every adapter shares (crash and resume,
processing failed or slow) are in :mod:`tests.test_adapter_contract_video`.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.adapters.base import OutgoingVideo
from scheduler.adapters.outgoing import OutgoingPost
from scheduler.errors import RateLimited
from tests.fakes import NOW, FakeX, form_of, json_of
from tests.test_adapter_x import TOKEN, x_adapter

pytest.importorskip("av")

VTT = "WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nCroeso i'r archif\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.video_samples import make_video

    return make_video(tmp_path_factory.mktemp("xclip") / "clip.mp4", size=(320, 180),
                      seconds=2, moving=True)


def with_video(post: OutgoingPost, clip: Path, captions: str | None = VTT) -> OutgoingPost:
    data = clip.read_bytes()
    return replace(post, video=OutgoingVideo(
        path=clip, sha256=hashlib.sha256(data).hexdigest(), size=len(data), mime="video/mp4",
        alt="An officer walks through the archive.", width=320, height=180,
        captions_vtt=captions))


@pytest.fixture
def fake(local_server):
    return FakeX(local_server, TOKEN)


def test_requests_carry_the_documented_fields(local_server, fake, clip, make_post):
    adapter = x_adapter(local_server.base_url)
    adapter.sleep = lambda s: None
    adapter.video.chunk = 64 * 1024
    adapter.publish(with_video(make_post("Hello", language="cy-GB"), clip))
    calls = {(r.method, r.path.split("?")[0]): r for r in local_server.requests}
    init = json_of(local_server.requests[0])
    assert init == {"media_type": "video/mp4", "total_bytes": clip.stat().st_size,
                    "media_category": "tweet_video"}
    appends = [form_of(r) for r in local_server.requests if r.path.endswith("/append")]
    assert [a["segment_index"] for a in appends[:-1]] == [str(n) for n in range(len(appends) - 1)]
    assert b"".join(a["media"][1] for a in appends[:-1]) == clip.read_bytes()
    statuses = [r for r in local_server.requests if r.method == "GET"]
    assert len(statuses) == 2, "in_progress once, then succeeded"
    assert all("command=STATUS" in r.path and "media_id=" in r.path for r in statuses)
    sub = json_of(calls[("POST", "/2/media/subtitles")])
    assert sub["media_category"] == "TweetVideo"
    assert sub["subtitles"]["language_code"] == "CY"
    assert sub["subtitles"]["display_name"] == "Cymraeg"
    (upload,) = fake.video.videos()
    (track,) = upload.subtitles
    assert track["vtt"].decode() == VTT
    (tweet,) = fake.tweets
    assert tweet["media"] == [next(k for k, v in fake.video.uploads.items() if v is upload)]


def test_a_resumed_upload_sends_only_the_missing_segments(local_server, fake, clip, make_post):
    saved: dict = {}
    adapter = x_adapter(local_server.base_url)
    adapter.video.chunk = 64 * 1024
    adapter.sleep = lambda s: None
    fake.fail_next("rate_limit")  # the post call is refused once, after the whole upload
    post = with_video(make_post("Hello"), clip, captions=None)

    def save(delivery_id: str, state: dict, token: int | None) -> None:
        saved.clear()
        saved.update(state)

    adapter.save_progress = save
    with pytest.raises(RateLimited):
        adapter.publish(post)
    before = len(local_server.requests)
    fresh = x_adapter(local_server.base_url)
    fresh.publish(replace(post, remote_state=dict(saved)))
    again = [(r.method, r.path) for r in local_server.requests[before:]]
    assert again == [("POST", "/2/tweets")], "nothing was uploaded or processed again"
    assert len(fake.video.videos()) == 1 and len(fake.tweets) == 1


def test_an_upload_older_than_x_keeps_it_is_made_again(local_server, fake, clip, make_post):
    adapter = x_adapter(local_server.base_url)
    adapter.sleep = lambda s: None
    post = with_video(make_post("Hello"), clip, captions=None)
    stale = {"video": {"id": "1234", "sha256": post.video.sha256, "next": 9, "sent": 1,
                       "finalized": True, "processed": True,
                       "at": (NOW - timedelta(hours=23)).isoformat()}}
    adapter.publish(replace(post, remote_state=stale))
    assert len(fake.video.videos()) == 1
    (tweet,) = fake.tweets
    assert tweet["media"] != ["1234"]


def test_dry_run_plan_shows_each_call_without_the_token(local_server, clip, make_post):
    adapter = x_adapter(local_server.base_url)
    adapter.video.chunk = 64 * 1024
    plans = [p.as_dict() for p in adapter.plan(with_video(make_post("Hello"), clip))]
    urls = [(p["method"], p["url"].removeprefix(local_server.base_url)) for p in plans]
    pieces = -(-clip.stat().st_size // adapter.video.chunk)
    assert urls[0] == ("POST", "/2/media/upload/initialize")
    assert urls[1:1 + pieces] == [("POST", "/2/media/upload/<video id>/append")] * pieces
    assert ("POST", "/2/media/subtitles") in urls and urls[-1] == ("POST", "/2/tweets")
    assert plans[-1]["body"]["media"] == {"media_ids": ["<video id>"]}
    assert TOKEN not in repr(plans) and local_server.requests == []
