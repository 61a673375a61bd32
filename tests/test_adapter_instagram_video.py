"""Instagram and Threads video: Reels, Stories, video containers polled while Meta
transcodes, failures quoting Meta's reason, and resuming after a crash or a slow tick.

Run against :class:`tests.fakes.FakeGraphContainers`, which fetches the video from the
URL the adapter hands it (out of the folder the ``directory`` media host writes) only
when it "processes" the container, as Meta does.
"""

from __future__ import annotations

import pytest

from scheduler.adapters.base import VIDEO_WAIT_BUDGET
from scheduler.adapters.instagram import InstagramAdapter, carousel_item
from scheduler.adapters.threads import ThreadsAdapter
from scheduler.errors import OutcomeUnknown, PermanentPublishError, StillProcessing
from scheduler.timeutil import FixedClock
from tests import video_posts
from tests.fakes import NOW, FakeGraphContainers
from tests.video_posts import ALT, Crash, Store

clip, make_video_post = video_posts.clip, video_posts.make_video_post

TOKEN = "IGQVJ-Recognisable-token-0a1b2c3d"


def adapter(kind, server, tmp_path, fake, sleeps=None, **extra):
    cls = InstagramAdapter if kind == "instagram" else ThreadsAdapter
    raw = {"adapter": kind, "base_url": server.base_url, "user_id": fake.user,
           "token_env": "META_TOKEN",
           "media_host": {"kind": "directory", "path": str(tmp_path / "www"),
                          "public_base_url": fake.media_url}, **extra}
    record = sleeps if sleeps is not None else []
    return cls(kind, cls.parse_settings(kind, raw), env={"META_TOKEN": TOKEN},
               clock=FixedClock(NOW), data_dir=tmp_path / "data", sleep=record.append)


@pytest.fixture(params=["instagram", "threads"])
def kind(request):
    return request.param


@pytest.fixture
def fake(local_server, tmp_path, kind):
    return FakeGraphContainers(local_server, TOKEN, tmp_path / "www", flavour=kind)


def calls(server):
    return [(r.method, r.path.split("?")[0]) for r in server.requests
            if not r.path.startswith("/media/")]


def test_reel_and_threads_video(kind, local_server, tmp_path, fake, make_video_post):
    fake.video_polls = 2
    sleeps: list[float] = []
    post = make_video_post()
    published = adapter(kind, local_server, tmp_path, fake, sleeps).publish(post)
    (box,) = fake.containers.values()
    form = box["form"]
    assert fake.video_fetches == [post.video.path.read_bytes()]
    assert form["video_url"].startswith(fake.media_url + "/")
    if kind == "instagram":
        assert form["media_type"] == "REELS" and form["share_to_feed"] == "true"
        assert form["caption"] == post.caption
        assert fake.fetched == [post.video.cover.read_bytes()]  # cover_url was fetchable
        assert fake.posts[0]["media_product_type"] == "REELS"
    else:
        assert form["media_type"] == "VIDEO" and form["text"] == post.caption
        assert form["alt_text"] == ALT
    assert published.remote_id == fake.posts[0]["id"] and fake.publish_calls == 1
    # Polled with back-off while Meta transcoded, within one call's budget.
    assert sleeps == [1.0, 2.0]
    status_polls = [c for c in calls(local_server) if c == ("GET", f"/{box['id']}")]
    assert len(status_polls) == 3


def test_processing_failure_quotes_meta_and_publishes_nothing(kind, local_server, tmp_path,
                                                               fake, make_video_post):
    store = Store()
    ad = store.attach(adapter(kind, local_server, tmp_path, fake))
    fake.video_error = ("FAILED_PROCESSING_VIDEO" if kind == "threads"
                        else "2207026: Unsupported video format.")
    with pytest.raises(PermanentPublishError) as info:
        ad.publish(make_video_post())
    assert fake.video_error is None
    assert ("FAILED_PROCESSING_VIDEO" if kind == "threads" else "2207026") in str(info.value)
    assert TOKEN not in str(info.value)
    assert fake.posts == [] and fake.publish_calls == 0
    # The refused container is forgotten: a retry after the file is fixed builds anew.
    assert "container_id" not in store.saved


def test_slow_processing_hands_back_and_the_next_attempt_polls_the_same_container(
        kind, local_server, tmp_path, fake, make_video_post):
    sleeps: list[float] = []
    store = Store()
    post = make_video_post()
    fake.hold_video = True
    with pytest.raises(StillProcessing) as info:
        store.attach(adapter(kind, local_server, tmp_path, fake, sleeps)).publish(post)
    assert info.value.retry_after and sum(sleeps) <= VIDEO_WAIT_BUDGET
    assert fake.posts == [] and len(fake.containers) == 1
    fake.hold_video = False
    later = store.attach(adapter(kind, local_server, tmp_path, fake))
    published = later.publish(store.resumed(post))
    assert len(fake.containers) == 1, "the recorded container was polled, not rebuilt"
    assert published.remote_id == fake.posts[0]["id"] and fake.publish_calls == 1


def test_crash_after_the_container_is_recorded_resumes_it(kind, local_server, tmp_path, fake,
                                                          make_video_post):
    store = Store(crash_at=1)
    post = make_video_post()
    with pytest.raises(Crash):
        store.attach(adapter(kind, local_server, tmp_path, fake)).publish(post)
    assert len(fake.containers) == 1 and fake.posts == []
    published = store.attach(adapter(kind, local_server, tmp_path, fake)).publish(
        store.resumed(post))
    assert len(fake.containers) == 1 and len(fake.posts) == 1
    assert published.remote_id == fake.posts[0]["id"]


def test_lost_answer_to_publish_is_settled_without_a_second_post(kind, local_server, tmp_path,
                                                                 fake, make_video_post):
    store = Store()
    post = make_video_post()
    fake.fail_next("gateway")
    with pytest.raises(OutcomeUnknown):
        store.attach(adapter(kind, local_server, tmp_path, fake)).publish(post)
    again = store.attach(adapter(kind, local_server, tmp_path, fake)).publish(
        store.resumed(post))
    assert again.remote_id == fake.posts[0]["id"]
    assert fake.publish_calls == 1 and len(fake.posts) == 1


def test_dry_run_shows_every_call_of_the_video_flow(kind, local_server, tmp_path, fake,
                                                    make_video_post):
    planned = adapter(kind, local_server, tmp_path, fake).plan(make_video_post())
    shown = [(p.method, p.url.replace(local_server.base_url, "")) for p in planned]
    stores = [s for s in shown if s[0] == "STORE"]
    assert len(stores) == (2 if kind == "instagram" else 1)  # the video (and the cover)
    assert all(url.startswith(fake.media_url.replace(local_server.base_url, ""))
               for _, url in stores)
    path = "media" if kind == "instagram" else "threads"
    limit = "content_publishing_limit" if kind == "instagram" else "threads_publishing_limit"
    assert [s for s in shown if s[0] != "STORE"] == [
        ("GET", f"/{fake.user}/{limit}"),
        ("POST", f"/{fake.user}/{path}"),
        ("GET", f"/<id of the container>?fields={'status_code' if kind == 'instagram' else 'status'}"),
        ("POST", f"/{fake.user}/{path}_publish"),
    ]
    assert all(TOKEN not in str(p.as_dict()) for p in planned)
    assert local_server.requests == [] and not (tmp_path / "www").exists()


# -- Instagram only ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["instagram"])
def test_video_story(kind, local_server, tmp_path, fake, make_video_post):
    post = make_video_post()
    ad = adapter(kind, local_server, tmp_path, fake, format="story")
    published = ad.publish(post)
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "STORIES" and "caption" not in box["form"]
    assert fake.posts == [] and published.remote_id == fake.stories[0]["id"]
    assert published.url == fake.stories[0]["permalink"]
    # A Story is found by check among the account's Stories, not the feed.
    assert ad.check(post).remote_id == published.remote_id


@pytest.mark.parametrize("kind", ["instagram"])
def test_image_story_and_the_one_item_rule(kind, local_server, tmp_path, fake, make_post,
                                           make_image):
    ad = adapter(kind, local_server, tmp_path, fake, format="story")
    published = ad.publish(make_post("Story", (make_image(),)))
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "STORIES" and "image_url" in box["form"]
    assert published.remote_id == fake.stories[0]["id"]
    with pytest.raises(PermanentPublishError, match="Story takes one image or one video"):
        ad.publish(make_post("Two", (make_image(), make_image())))


@pytest.mark.parametrize("kind", ["instagram"])
def test_lost_answer_to_a_story_is_found_among_the_stories(kind, local_server, tmp_path, fake,
                                                           make_video_post):
    store = Store()
    post = make_video_post()
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        store.attach(adapter(kind, local_server, tmp_path, fake, format="story")).publish(post)
    found = store.attach(adapter(kind, local_server, tmp_path, fake, format="story")).check(
        store.resumed(post))
    assert found is not None and found.remote_id == fake.stories[0]["id"]


@pytest.mark.parametrize("kind", ["instagram"])
def test_reel_options_and_video_carousel_items(kind, local_server, tmp_path, fake,
                                               make_video_post):
    ad = adapter(kind, local_server, tmp_path, fake, share_to_feed=False)
    post = make_video_post(cover=False)
    ad.publish(post)
    (box,) = fake.containers.values()
    assert box["form"]["share_to_feed"] == "false" and "cover_url" not in box["form"]
    item = carousel_item(post.video, lambda media: "https://media.example/v.mp4")
    assert item == {"media_type": "VIDEO", "video_url": "https://media.example/v.mp4",
                    "is_carousel_item": True}
    with pytest.raises(Exception, match="format"):
        adapter(kind, local_server, tmp_path, fake, format="reel")


def test_a_channel_format_picks_the_product_limits():
    from types import SimpleNamespace

    from scheduler.config import ChannelSettings
    from scheduler.content.video import channel_video_profile
    from scheduler.platforms import get_profile

    channels = {"story": ChannelSettings(adapter="instagram", format="story"),
                "reels": ChannelSettings(adapter="instagram"),
                "page": ChannelSettings(adapter="facebook", format="video"),
                "fb-reels": ChannelSettings(adapter="facebook"),
                "fb-story": ChannelSettings(adapter="facebook", format="story")}
    settings = SimpleNamespace(channels=channels)
    ig, fb = get_profile("instagram"), get_profile("facebook")
    assert channel_video_profile(settings, "story", ig).max_seconds == 60
    assert channel_video_profile(settings, "reels", ig).title == "Instagram Reels"
    page = channel_video_profile(settings, "page", fb)
    assert page.title == "Facebook Page videos" and page.captions_sidecar
    assert channel_video_profile(settings, "fb-story", fb).max_seconds == 60
    reels = channel_video_profile(settings, "fb-reels", fb)
    assert reels.title == "Facebook Reels" and not reels.captions_sidecar


# -- Instagram's resumable upload -------------------------------------------------------


def resumable(server, tmp_path, fake, sleeps=None, **extra):
    ad = adapter("instagram", server, tmp_path, fake, sleeps, video_upload="resumable", **extra)
    ad.upload_piece = 64 * 1024
    return ad


@pytest.mark.parametrize("kind", ["instagram"])
def test_resumable_upload_sends_the_file_in_pieces(kind, local_server, tmp_path, fake,
                                                   make_video_post):
    post = make_video_post()
    published = resumable(local_server, tmp_path, fake).publish(post)
    (box,) = fake.containers.values()
    data = post.video.path.read_bytes()
    assert box["form"]["upload_type"] == "resumable" and "video_url" not in box["form"]
    assert box["upload"] == data and fake.video_fetches == [data]
    uploads = [r for r in local_server.requests if r.path.startswith("/ig-api-upload/")]
    assert len(uploads) == -(-len(data) // (64 * 1024)) >= 2
    assert [int(r.headers["offset"]) for r in uploads] == [n * 64 * 1024
                                                           for n in range(len(uploads))]
    assert all(r.headers["Authorization"] == f"OAuth {TOKEN}" for r in uploads)
    # Only the cover went to the media host.
    assert len(list((tmp_path / "www").rglob("*.*"))) == 1
    assert published.remote_id == fake.posts[0]["id"]


@pytest.mark.parametrize("kind", ["instagram"])
def test_resumable_upload_continues_after_a_crash(kind, local_server, tmp_path, fake,
                                                  make_video_post):
    post = make_video_post()
    store = Store(crash_at=2)  # the container, then the first piece
    with pytest.raises(Crash):
        store.attach(resumable(local_server, tmp_path, fake)).publish(post)
    (box,) = fake.containers.values()
    assert len(box["upload"]) == 64 * 1024 and fake.posts == []
    sent = fake.rupload_requests
    store.attach(resumable(local_server, tmp_path, fake)).publish(store.resumed(post))
    assert len(fake.containers) == 1 and box["upload"] == post.video.path.read_bytes()
    assert fake.rupload_requests == sent + len(box["upload"]) // (64 * 1024)
    assert len(fake.posts) == 1


@pytest.mark.parametrize("kind", ["instagram"])
def test_refused_offset_builds_a_new_container_next_time(kind, local_server, tmp_path, fake,
                                                         make_video_post):
    from scheduler.adapters.meta import ContainerExpired

    post = make_video_post()
    store = Store(crash_at=2)
    with pytest.raises(Crash):
        store.attach(resumable(local_server, tmp_path, fake)).publish(post)
    next(iter(fake.containers.values()))["upload"] = b""  # Meta lost the session's bytes
    with pytest.raises(ContainerExpired, match="new container"):
        store.attach(resumable(local_server, tmp_path, fake)).publish(store.resumed(post))
    assert "container_id" not in store.saved
    store.attach(resumable(local_server, tmp_path, fake)).publish(store.resumed(post))
    assert len(fake.containers) == 2 and len(fake.posts) == 1


@pytest.mark.parametrize("kind", ["instagram"])
def test_resumable_dry_run(kind, local_server, tmp_path, fake, make_video_post):
    planned = resumable(local_server, tmp_path, fake).plan(make_video_post())
    shown = [p.method + " " + p.url.replace(local_server.base_url, "") for p in planned]
    assert shown[-4:] == [f"POST /{fake.user}/media", "POST <uri of the container>",
                          "GET /<id of the container>?fields=status_code",
                          f"POST /{fake.user}/media_publish"]
    assert planned[-4].body["upload_type"] == "resumable"
    assert sum(1 for p in planned if p.method == "STORE") == 1  # the cover only


def test_threads_items_carry_video_and_images_with_their_alt_text(make_video_post, make_image):
    from scheduler.adapters.threads import threads_item

    post = make_video_post()
    image = make_image(alt="A desk.")
    url_of = {post.video: "https://m.example/v.mp4", image: "https://m.example/i.jpg"}.get
    assert threads_item(post.video, url_of) == {
        "media_type": "VIDEO", "video_url": "https://m.example/v.mp4", "alt_text": ALT}
    assert threads_item(image, url_of) == {
        "media_type": "IMAGE", "image_url": "https://m.example/i.jpg", "alt_text": "A desk."}


def test_a_carousel_of_images_and_a_video_resumes_without_building_an_item_twice(
        kind, local_server, tmp_path, fake, make_video_post, make_image):
    """Images then the video, one carousel: a crash after the first item is recorded, then
    a video item still transcoding when the wait ends; each resume reuses the recorded
    items, the video item is polled to FINISHED and the carousel is published once.
    Instagram's resumable upload setting does not apply to a carousel item (video_url)."""
    from dataclasses import replace

    extra = {"video_upload": "resumable"} if kind == "instagram" else {}
    post = replace(make_video_post(), images=(make_image(alt="A desk."),
                                              make_image(alt="A lamp.")))
    store = Store(crash_at=1)
    with pytest.raises(Crash):
        store.attach(adapter(kind, local_server, tmp_path, fake, **extra)).publish(post)
    assert len(fake.containers) == 1 and store.saved["children"]
    fake.hold_video = True
    with pytest.raises(StillProcessing) as waiting:
        store.attach(adapter(kind, local_server, tmp_path, fake, **extra)).publish(
            store.resumed(post))
    assert len(fake.containers) == 3 and fake.posts == []
    video_item = list(fake.containers)[2]
    assert f"'{kind}': carousel item {video_item} is still being processed" in str(
        waiting.value)
    fake.hold_video = False
    published = store.attach(adapter(kind, local_server, tmp_path, fake, **extra)).publish(
        store.resumed(store.resumed(post)))
    forms = [box["form"] for box in fake.containers.values()]
    assert [f.get("media_type", "IMAGE") for f in forms] == ["IMAGE", "IMAGE", "VIDEO",
                                                              "CAROUSEL"]
    assert [f.get("alt_text") for f in forms[:2]] == ["A desk.", "A lamp."]
    assert forms[2]["video_url"].startswith(fake.media_url + "/")
    assert "upload_type" not in forms[2] and fake.rupload_requests == 0
    assert forms[3]["children"].split(",") == list(fake.containers)[:3]
    assert fake.video_fetches == [post.video.path.read_bytes()]
    assert published.remote_id == fake.posts[0]["id"] and fake.publish_calls == 1


def test_images_and_a_video_are_refused_by_a_story_and_beyond_the_carousel_limit(
        kind, local_server, tmp_path, fake, make_video_post, make_image):
    from dataclasses import replace

    limit = 10 if kind == "instagram" else 20
    full = replace(make_video_post(), images=tuple(make_image() for _ in range(limit)))
    with pytest.raises(PermanentPublishError, match=f"{limit} images and a video; .* "
                       f"allows {limit} items in a carousel"):
        adapter(kind, local_server, tmp_path, fake).publish(full)
    if kind == "instagram":
        mixed = replace(full, images=full.images[:1])
        with pytest.raises(PermanentPublishError, match="takes images or one video, not both"):
            adapter(kind, local_server, tmp_path, fake, format="story").publish(mixed)
    assert fake.containers == {} and local_server.requests == []
