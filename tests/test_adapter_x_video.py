"""X video against the fake: the documented fields, resuming, expiry, dry runs.

The request check against X's API description (Prism) is in :mod:`tests.test_adapter_x`,
which owns the session's X peer. The scenarios every adapter shares (crash and resume,
processing failed or slow) are in :mod:`tests.test_adapter_contract_video`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.errors import PermanentPublishError, RateLimited
from tests import video_posts
from tests.fakes import NOW, FakeX, form_of, json_of
from tests.test_adapter_x import TOKEN, x_adapter
from tests.video_posts import CAPTIONS

pytest.importorskip("av")

clip, make_video_post = video_posts.clip, video_posts.make_video_post


@pytest.fixture
def fake(local_server):
    return FakeX(local_server, TOKEN)


def test_requests_carry_the_documented_fields(local_server, fake, clip, make_video_post):
    adapter = x_adapter(local_server.base_url)
    adapter.sleep = lambda s: None
    adapter.video.chunk = 64 * 1024
    adapter.publish(replace(make_video_post("Hello"), language="cy-GB"))
    calls = {(r.method, r.path.split("?")[0]): r for r in local_server.requests}
    init = json_of(local_server.requests[0])
    assert init == {"media_type": "video/mp4", "total_bytes": clip.stat().st_size,
                    "media_category": "tweet_video"}
    appends = [form_of(r) for r in local_server.requests if r.path.endswith("/append")]
    assert [a["segment_index"] for a in appends] == [str(n) for n in range(len(appends))]
    assert b"".join(a["media"][1] for a in appends) == clip.read_bytes()
    (subtitles,) = [form_of(r) for r in local_server.requests if r.path == "/2/media/upload"
                    and r.method == "POST"]
    assert subtitles["media_category"] == "subtitles"
    assert subtitles["media"] == ("captions.vtt", CAPTIONS.encode())
    statuses = [r for r in local_server.requests if r.method == "GET"]
    assert len(statuses) == 2, "in_progress once, then succeeded"
    assert all("command=STATUS" in r.path and "media_id=" in r.path for r in statuses)
    sub = json_of(calls[("POST", "/2/media/subtitles")])
    assert sub["media_category"] == "TweetVideo"
    assert sub["subtitles"]["language_code"] == "CY"
    assert sub["subtitles"]["display_name"] == "Cymraeg"
    (upload,) = fake.video.videos()
    (track,) = upload.subtitles
    assert track["vtt"].decode() == CAPTIONS
    (tweet,) = fake.tweets
    assert tweet["media"] == [next(k for k, v in fake.video.uploads.items() if v is upload)]


def test_a_resumed_upload_sends_only_the_missing_segments(local_server, fake,
                                                          make_video_post):
    saved: dict = {}
    adapter = x_adapter(local_server.base_url)
    adapter.video.chunk = 64 * 1024
    adapter.sleep = lambda s: None
    fake.fail_next("rate_limit")  # the post call is refused once, after the whole upload
    post = make_video_post("Hello", captions=False)

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


def test_an_upload_older_than_x_keeps_it_is_made_again(local_server, fake, make_video_post):
    adapter = x_adapter(local_server.base_url)
    adapter.sleep = lambda s: None
    post = make_video_post("Hello", captions=False)
    stale = {"video": {"id": "1234", "sha256": post.video.sha256, "next": 9, "sent": 1,
                       "finalized": True, "processed": True,
                       "at": (NOW - timedelta(hours=23)).isoformat()}}
    adapter.publish(replace(post, remote_state=stale))
    assert len(fake.video.videos()) == 1
    (tweet,) = fake.tweets
    assert tweet["media"] != ["1234"]


def test_dry_run_plan_shows_each_call_without_the_token(local_server, clip, make_video_post):
    adapter = x_adapter(local_server.base_url)
    adapter.video.chunk = 64 * 1024
    plans = [p.as_dict() for p in adapter.plan(make_video_post("Hello"))]
    urls = [(p["method"], p["url"].removeprefix(local_server.base_url)) for p in plans]
    pieces = -(-clip.stat().st_size // adapter.video.chunk)
    assert urls[0] == ("POST", "/2/media/upload/initialize")
    assert urls[1:1 + pieces] == [("POST", "/2/media/upload/<video id>/append")] * pieces
    assert ("POST", "/2/media/subtitles") in urls and urls[-1] == ("POST", "/2/tweets")
    assert plans[-1]["body"]["media"] == {"media_ids": ["<video id>"]}
    assert TOKEN not in repr(plans) and local_server.requests == []


def test_alt_text_over_the_limit_is_refused_before_any_upload(local_server, fake,
                                                              make_video_post):
    post = make_video_post("Hello")
    post = replace(post, video=replace(post.video, alt="A" * 1001))
    with pytest.raises(PermanentPublishError,
                       match="the video's alt text is 1001 characters; X allows 1000"):
        x_adapter(local_server.base_url).publish(post)
    assert local_server.requests == []
