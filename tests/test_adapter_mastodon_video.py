"""Mastodon video: the upload and the processing poll against Mastodon's API description
(Prism), and what only a stand-in can show (an upload removed before it was used, an
instance's size limit, dry runs). The scenarios every adapter shares are in
:mod:`tests.test_adapter_contract_video`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from scheduler.errors import PermanentPublishError, TransientPublishError
from tests import video_posts
from tests.fakes import FakeMastodon, form_of
from tests.peers import Reply
from tests.test_adapter_mastodon import TOKEN, ContractWatch, mastodon

pytest.importorskip("av")


clip, make_video_post = video_posts.clip, video_posts.make_video_post


def test_video_conforms_to_the_api_description(mastodon_peer, make_video_post):
    adapter = mastodon(mastodon_peer.base_url)
    watch = ContractWatch(adapter)
    saved: dict = {}
    adapter.save_progress = lambda d, state, t: (saved.clear(), saved.update(state))
    post = make_video_post("A day in the archive #careers", captions=False)
    assert adapter.publish(post).remote_id
    # A restart while the video was still processing asks about the same upload.
    state = {"video": {**saved["video"], "ready": False}}
    again = mastodon(mastodon_peer.base_url)
    watch_again = ContractWatch(again)
    again.publish(replace(post, delivery_id="d-2", remote_state=state))
    assert watch.violations == [] and watch_again.violations == []
    assert [(m, p) for m, p, _ in watch.seen] == [
        ("GET", "/api/v2/instance"), ("POST", "/api/v2/media"), ("POST", "/api/v1/statuses")]
    media_id = saved["video"]["id"]
    assert [(m, p) for m, p, _ in watch_again.seen] == [
        ("GET", "/api/v2/instance"), ("GET", f"/api/v1/media/{media_id}"),
        ("POST", "/api/v1/statuses")]


def test_an_upload_removed_by_the_instance_is_sent_again(local_server, make_video_post):
    fake = FakeMastodon(local_server, TOKEN)
    post = make_video_post("Hello", captions=False)
    gone = {"video": {"id": "999", "sha256": post.video.sha256, "ready": False,
                      "at": datetime.now(UTC).isoformat()}}
    adapter = mastodon(local_server.base_url)
    with pytest.raises(TransientPublishError, match="gone from the instance"):
        adapter.publish(replace(post, remote_state=gone))
    assert adapter.progress(post).get("video") is None
    published = adapter.publish(post)
    assert published.remote_id and len(fake.videos) == 1 and len(fake.statuses) == 1


def test_video_over_the_instance_limit_is_refused_before_upload(local_server,
                                                                make_video_post):
    limits = {"configuration": {"media_attachments": {"video_size_limit": 1000}}}
    local_server.handler = lambda req: (Reply(200, limits) if req.path == "/api/v2/instance"
                                        else Reply(500, {"error": "not expected"}))
    with pytest.raises(PermanentPublishError, match="this instance takes at most 1,000"):
        mastodon(local_server.base_url).publish(make_video_post("Hi"))
    assert [r.path for r in local_server.requests] == ["/api/v2/instance"]


def test_the_upload_sends_alt_text_and_cover(local_server, clip, make_video_post):
    fake = FakeMastodon(local_server, TOKEN)
    post = make_video_post("Hello", captions=False)
    cover = post.video.cover
    mastodon(local_server.base_url).publish(post)
    upload = next(r for r in local_server.requests if r.path == "/api/v2/media")
    form = form_of(upload)
    assert form["description"] == post.video.alt
    assert form["file"] == ("video.mp4", clip.read_bytes())
    assert form["thumbnail"] == ("cover.jpg", cover.read_bytes())
    assert fake.statuses


def test_dry_run_describes_the_video_without_the_token(clip, make_video_post):
    adapter = mastodon("https://social.example")
    plans = [p.as_dict() for p in adapter.plan(make_video_post("Hi"))]
    assert [(p["method"], p["url"]) for p in plans] == [
        ("POST", "https://social.example/api/v2/media"),
        ("GET", "https://social.example/api/v1/media/<video id>"),
        ("POST", "https://social.example/api/v1/statuses")]
    assert plans[0]["body"]["file"].startswith(f"video.mp4 <{clip.stat().st_size} bytes")
    assert plans[-1]["body"]["media_ids"] == ["<video id>"]
    assert TOKEN not in repr(plans)
