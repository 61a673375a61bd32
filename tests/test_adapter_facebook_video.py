"""Facebook Page video: Reels through ``/video_reels`` (start, rupload in pieces, finish
with ``video_state=PUBLISHED``), Page videos through ``/videos`` with a SubRip caption
file, processing polled, failures quoting Meta, and resuming after a crash or a slow tick.

Run against :class:`tests.fakes.FakeFacebookPage`, whose Reel shows only once it is
finished and processed, as Meta documents.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler.adapters.base import VIDEO_WAIT_BUDGET
from scheduler.adapters.facebook import FacebookAdapter
from scheduler.adapters.facebook_video import facebook_locale
from scheduler.errors import OutcomeUnknown, PermanentPublishError, StillProcessing
from scheduler.timeutil import FixedClock
from tests import video_posts
from tests.fakes import NOW, FakeFacebookPage
from tests.video_posts import Crash, Store

clip, make_video_post = video_posts.clip, video_posts.make_video_post
TOKEN = "EAAB-Recognisable-page-token-8c9d0e"
PIECE = 64 * 1024


def facebook(server, tmp_path, fake, sleeps=None, *, media_host=True, **extra):
    raw = {"adapter": "facebook", "base_url": server.base_url, "page_id": fake.page,
           "token_env": "FB_TOKEN", **extra}
    if media_host:
        raw["media_host"] = {"kind": "directory", "path": str(tmp_path / "www"),
                             "public_base_url": fake.media_url}
    record = sleeps if sleeps is not None else []
    adapter = FacebookAdapter("fb", FacebookAdapter.parse_settings("fb", raw),
                              env={"FB_TOKEN": TOKEN}, clock=FixedClock(NOW),
                              data_dir=tmp_path / "data", sleep=record.append)
    adapter.upload_piece = PIECE
    return adapter


@pytest.fixture
def fake(local_server, tmp_path):
    return FakeFacebookPage(local_server, TOKEN, media_dir=tmp_path / "www")


def calls(server):
    return [(r.method, r.path.split("?")[0]) for r in server.requests]


def test_reel_flow(local_server, tmp_path, fake, make_video_post):
    post = make_video_post(captions=False)  # Reels carry their captions burned in
    sleeps: list[float] = []
    published = facebook(local_server, tmp_path, fake, sleeps).publish(post)
    (video,) = fake.videos.values()
    data = post.video.path.read_bytes()
    pieces = -(-len(data) // PIECE)
    assert pieces >= 2
    assert video["bytes"] == data and video["kind"] == "reel"
    assert fake.visible_videos() == [video] and video["description"] == post.caption
    page = f"/{fake.page}"
    assert calls(local_server) == [
        ("POST", f"{page}/video_reels"),
        *[("POST", f"/video-upload/v25.0/{video['id']}")] * pieces,
        ("POST", f"{page}/video_reels"),
        ("GET", f"/{video['id']}"), ("GET", f"/{video['id']}"),
    ]
    uploads = [r for r in local_server.requests if r.path.startswith("/video-upload/")]
    assert [int(r.headers["offset"]) for r in uploads] == [n * PIECE for n in range(pieces)]
    assert all(r.headers["file_size"] == str(len(data)) for r in uploads)
    assert all(r.headers["Authorization"] == f"OAuth {TOKEN}" for r in uploads)
    assert published.remote_id == video["id"]
    assert published.url == f"https://www.facebook.com/reel/{video['id']}"
    assert sleeps == [1.0] and fake.publish_calls == 1


def test_crash_mid_upload_resumes_from_metas_offset(local_server, tmp_path, fake,
                                                    make_video_post):
    post = make_video_post(captions=False)
    store = Store(crash_at=2)  # the session, then the first piece
    with pytest.raises(Crash):
        store.attach(facebook(local_server, tmp_path, fake)).publish(post)
    (video,) = fake.videos.values()
    assert len(video["bytes"]) == PIECE and fake.visible_videos() == []
    published = store.attach(facebook(local_server, tmp_path, fake)).publish(
        store.resumed(post))
    assert fake.video_uploads == 1, "the same session continued"
    assert video["bytes"] == post.video.path.read_bytes()
    assert published.remote_id == video["id"] and len(fake.visible_videos()) == 1


def test_processing_failure_quotes_meta(local_server, tmp_path, fake, make_video_post):
    fake.video_error = "The video's aspect ratio is not supported for Reels."
    with pytest.raises(PermanentPublishError) as info:
        facebook(local_server, tmp_path, fake).publish(make_video_post(captions=False))
    assert "aspect ratio is not supported" in str(info.value)
    assert TOKEN not in str(info.value) and fake.visible_videos() == []


def test_slow_processing_is_polled_again_without_a_second_finish(
        local_server, tmp_path, fake, make_video_post):
    sleeps: list[float] = []
    store = Store()
    post = make_video_post(captions=False)
    fake.hold_video = True
    with pytest.raises(StillProcessing):
        store.attach(facebook(local_server, tmp_path, fake, sleeps)).publish(post)
    assert sum(sleeps) <= VIDEO_WAIT_BUDGET and fake.visible_videos() == []
    fake.hold_video = False
    published = store.attach(facebook(local_server, tmp_path, fake)).publish(
        store.resumed(post))
    assert fake.publish_calls == 1 and fake.video_uploads == 1
    assert published.remote_id == next(iter(fake.videos))


def test_lost_answer_to_finish_is_settled_by_the_video_status(local_server, tmp_path, fake,
                                                              make_video_post):
    store = Store()
    post = make_video_post(captions=False)
    fake.fail_next("gateway")
    with pytest.raises(OutcomeUnknown):
        store.attach(facebook(local_server, tmp_path, fake)).publish(post)
    published = store.attach(facebook(local_server, tmp_path, fake)).publish(
        store.resumed(post))
    assert fake.publish_calls == 1 and published.remote_id == next(iter(fake.videos))


def test_upload_address_off_facebook_is_refused(local_server, tmp_path, fake, make_video_post):
    # A session recorded with an address that is not Meta's (a tampered answer).
    session = {"video_id": "1", "upload_url": "http://collector.example/upload"}
    post = replace(make_video_post(captions=False), remote_state=session)
    with pytest.raises(PermanentPublishError, match="token was not sent"):
        facebook(local_server, tmp_path, fake).publish(post)
    assert not any(r.path.startswith("/video-upload/") for r in local_server.requests)


def test_page_video_is_published_with_srt_captions(local_server, tmp_path, fake,
                                                   make_video_post):
    post = make_video_post()
    published = facebook(local_server, tmp_path, fake, format="video").publish(post)
    (video,) = fake.videos.values()
    assert video["kind"] == "video" and video["published"]
    assert video["bytes"] == post.video.path.read_bytes()  # fetched from file_url
    locale, srt = video["captions"]
    assert locale == "en_GB"
    assert srt.startswith("1\n00:00:00,200 --> 00:00:01,500\nWelcome to the archive\n")
    assert "2\n00:00:01,600 --> 00:00:01,900\nApply by 14 December" in srt
    form = [r for r in local_server.requests if r.path.startswith(f"/{fake.page}/videos")][0]
    assert b"published=true" in form.body and b"video_reels" not in form.path.encode()
    assert published.url == f"https://www.facebook.com/{fake.page}/videos/{video['id']}/"
    assert fake.visible_videos() == [video]


def test_page_video_without_media_host_goes_as_bytes(local_server, tmp_path, fake,
                                                     make_video_post):
    post = make_video_post(captions=False)
    facebook(local_server, tmp_path, fake, media_host=False, format="video").publish(post)
    (video,) = fake.videos.values()
    assert video["bytes"] == post.video.path.read_bytes()


def test_lost_answer_to_a_page_video_is_found_on_the_page(local_server, tmp_path, fake,
                                                          make_video_post):
    store = Store()
    post = make_video_post()
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        store.attach(facebook(local_server, tmp_path, fake, format="video")).publish(post)
    published = store.attach(facebook(local_server, tmp_path, fake, format="video")).publish(
        store.resumed(post))
    assert fake.publish_calls == 1 and published.remote_id == next(iter(fake.videos))
    assert next(iter(fake.videos.values()))["captions"] is not None


@pytest.mark.parametrize("fmt", ["reel", "video"])
def test_dry_run_shows_the_video_flow(local_server, tmp_path, fake, make_video_post, fmt):
    planned = facebook(local_server, tmp_path, fake, format=fmt).plan(make_video_post())
    shown = [(p.method, p.url.replace(local_server.base_url, "")) for p in planned]
    page = f"/{fake.page}"
    if fmt == "reel":
        assert shown == [("POST", f"{page}/video_reels"), ("POST", "<upload_url of the Reel>"),
                         ("POST", "/<video id>/captions"), ("POST", f"{page}/video_reels"),
                         ("GET", "/<video id>?fields=status")]
        assert planned[3].body["video_state"] == "PUBLISHED"
    else:
        assert shown == [("POST", f"{page}/videos"), ("POST", "/<video id>/captions"),
                         ("GET", "/<video id>?fields=status")]
        assert planned[0].body["published"] == "true"
        assert planned[0].body["file_url"].startswith(fake.media_url)
    assert all(TOKEN not in str(p.as_dict()) for p in planned)
    assert local_server.requests == []


def test_caption_locales():
    assert facebook_locale("en") == "en_GB" and facebook_locale("cy") == "cy_GB"
    assert facebook_locale("fr-CA") == "fr_CA" and facebook_locale("nl") == "nl_NL"


# -- Page Stories -----------------------------------------------------------------------


def test_video_story(local_server, tmp_path, fake, make_video_post):
    post = make_video_post()
    published = facebook(local_server, tmp_path, fake, format="story").publish(post)
    (video,) = fake.videos.values()
    page = f"/{fake.page}"
    shown = [c for c in calls(local_server) if not c[1].startswith("/video-upload/")]
    assert shown == [("POST", f"{page}/video_stories"), ("POST", f"{page}/video_stories"),
                     ("GET", f"/{video['id']}"), ("GET", f"/{video['id']}")]
    finish = [r for r in local_server.requests if r.path == f"{page}/video_stories"][1]
    assert b"video_state" not in finish.body and b"description" not in finish.body
    assert video["captions"] is None  # a Story's captions are burned in
    assert [s["media_id"] for s in fake.stories()] == [video["id"]]
    assert published.remote_id == video["id"]


def test_photo_story_and_its_lost_answer(local_server, tmp_path, fake, make_post, make_image):
    store = Store()
    post = make_post("A Story", (make_image(alt="Desk."),))
    fake.fail_next("gateway")
    with pytest.raises(OutcomeUnknown):
        store.attach(facebook(local_server, tmp_path, fake, format="story")).publish(post)
    (story,) = fake.stories()
    published = store.attach(facebook(local_server, tmp_path, fake, format="story")).publish(
        store.resumed(post))
    assert published.remote_id == story["post_id"] and fake.publish_calls == 1
    (photo,) = fake.photos.values()
    assert photo["form"]["published"] == "false" and len(fake.photos) == 1
    with pytest.raises(PermanentPublishError, match="Page Story takes one image"):
        facebook(local_server, tmp_path, fake, format="story").publish(
            make_post("Two", (make_image(), make_image())))


def test_story_dry_runs(local_server, tmp_path, fake, make_video_post, make_post, make_image):
    ad = facebook(local_server, tmp_path, fake, format="story")
    shown = [(p.method, p.url.replace(local_server.base_url, ""))
             for p in ad.plan(make_video_post())]
    page = f"/{fake.page}"
    assert shown == [("POST", f"{page}/video_stories"), ("POST", "<upload_url of the Story>"),
                     ("POST", f"{page}/video_stories"), ("GET", "/<video id>?fields=status")]
    photo = [(p.method, p.url.replace(local_server.base_url, ""))
             for p in ad.plan(make_post("A Story", (make_image(),)))]
    assert photo == [("POST", f"{page}/photos"), ("POST", f"{page}/photo_stories")]
    assert local_server.requests == []
