"""Instagram: containers, carousels, polling, the publishing quota and exactly-once.

Run against :class:`tests.fakes.FakeGraphContainers`, which fetches images from
the URLs the adapter hands it (as Meta does) out of the folder the ``directory`` media
host writes, so a wrong URL or a missing file fails the test.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from scheduler.adapters.instagram import InstagramAdapter
from scheduler.adapters.meta import classify_graph_error
from scheduler.errors import (
    AuthError,
    ConfigError,
    DuplicateRefused,
    OutcomeUnknown,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeGraphContainers, meta_error
from tests.peers import jpeg_bytes

TOKEN = "IGQVJ-Recognisable-token-0a1b2c3d"


def instagram(server, tmp_path, fake, sleeps=None, **extra) -> InstagramAdapter:
    raw = {"adapter": "instagram", "base_url": server.base_url, "user_id": fake.user,
           "token_env": "IG_TOKEN",
           "media_host": {"kind": "directory", "path": str(tmp_path / "www"),
                          "public_base_url": fake.media_url}, **extra}
    record = sleeps if sleeps is not None else []
    return InstagramAdapter("ig", InstagramAdapter.parse_settings("ig", raw),
                            env={"IG_TOKEN": TOKEN}, clock=FixedClock(NOW),
                            data_dir=tmp_path / "data", sleep=record.append)


@pytest.fixture
def fake(local_server, tmp_path):
    return FakeGraphContainers(local_server, TOKEN, tmp_path / "www")


def calls(server):
    return [(r.method, r.path.split("?")[0]) for r in server.requests
            if not r.path.startswith("/media/")]


def test_single_image_flow(local_server, tmp_path, fake, make_post, make_image):
    fake.processing_polls = 2
    sleeps: list[float] = []
    image = make_image(alt="An officer at a desk.")
    post = make_post("We're hiring 🚀 #careers", (image,))
    published = instagram(local_server, tmp_path, fake, sleeps).publish(post)
    user = f"/{fake.user}"
    container = next(iter(fake.containers))
    assert calls(local_server) == [
        ("GET", f"{user}/content_publishing_limit"),
        ("POST", f"{user}/media"),
        ("GET", f"/{container}"), ("GET", f"/{container}"), ("GET", f"/{container}"),
        ("POST", f"{user}/media_publish"),
        ("GET", f"/{published.remote_id}"),
    ]
    assert sleeps == [1.0, 2.0]
    assert fake.fetched == [image.read_bytes()]
    form = fake.containers[container]["form"]
    assert form["caption"] == "We're hiring 🚀 #careers"
    assert form["alt_text"] == "An officer at a desk."
    assert form["image_url"].startswith(fake.media_url + "/")
    assert published.url == fake.posts[0]["permalink"]
    # The token travels in a header, never in a URL.
    assert all(TOKEN not in r.path for r in local_server.requests)
    assert local_server.requests[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_carousel(local_server, tmp_path, fake, make_post, make_image):
    images = tuple(make_image(alt=f"Picture {n}.", data=jpeg_bytes(color=(n * 40, 0, 0)))
                   for n in range(1, 4))
    published = instagram(local_server, tmp_path, fake).publish(make_post("Three views", images))
    boxes = list(fake.containers.values())
    assert len(boxes) == 4
    for n, child in enumerate(boxes[:3], start=1):
        assert child["form"]["is_carousel_item"] == "true"
        assert child["form"]["alt_text"] == f"Picture {n}."
        assert "caption" not in child["form"]
    parent = boxes[3]["form"]
    assert parent["media_type"] == "CAROUSEL"
    assert parent["children"] == ",".join(b["id"] for b in boxes[:3])
    assert parent["caption"] == "Three views"
    assert published.remote_id == fake.posts[0]["id"]


def test_quota_used_up_waits_without_building_anything(local_server, tmp_path, fake, make_post,
                                                      make_image):
    fake.quota_usage = fake.quota_total = 50
    with pytest.raises(RateLimited, match="50 of 50") as info:
        instagram(local_server, tmp_path, fake).publish(make_post("c", (make_image(),)))
    assert info.value.retry_after == InstagramAdapter.quota_wait
    assert fake.containers == {} and fake.publish_calls == 0


def test_quota_error_at_publish_is_rate_limited(local_server, tmp_path, fake, make_post,
                                                make_image):
    adapter = instagram(local_server, tmp_path, fake)
    original = fake._publish
    fake._publish = lambda form: meta_error(9, "Application request limit reached",
                                            subcode=2207042)
    with pytest.raises(RateLimited) as info:
        adapter.publish(make_post("c", (make_image(),)))
    assert info.value.retry_after == InstagramAdapter.quota_wait
    fake._publish = original


def test_retry_reuses_the_finished_container(local_server, tmp_path, fake, make_post,
                                             make_image):
    adapter = instagram(local_server, tmp_path, fake)
    post = make_post("c", (make_image(),))
    fake.fail_next("transient")
    with pytest.raises(TransientPublishError):
        adapter.publish(post)
    adapter.publish(post)
    assert len(fake.containers) == 1 and len(fake.posts) == 1


def test_recorded_container_already_published_is_not_published_again(
        local_server, tmp_path, fake, make_post, make_image):
    post = make_post("Published before the crash", (make_image(),))
    first = instagram(local_server, tmp_path, fake)
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        first.publish(post)
    container = next(iter(fake.containers))
    # A new process that only has what the publisher stored.
    later = instagram(local_server, tmp_path, fake)
    stored = make_post(post.caption, post.images, delivery_id=post.delivery_id,
                       remote_state={"container_id": container})
    again = later.publish(stored)
    assert again.remote_id == fake.posts[0]["id"]
    assert fake.publish_calls == 1 and len(fake.posts) == 1


def test_check_by_container_says_not_published_for_a_finished_one(
        local_server, tmp_path, fake, make_post, make_image):
    adapter = instagram(local_server, tmp_path, fake)
    post = make_post("c", (make_image(),))
    fake.fail_next("transient")
    with pytest.raises(TransientPublishError):
        adapter.publish(post)
    container = next(iter(fake.containers))
    stored = make_post("c", post.images, remote_state={"container_id": container})
    assert instagram(local_server, tmp_path, fake).check(stored) is None


def test_check_ignores_an_old_post_with_the_same_caption(local_server, tmp_path, fake,
                                                         make_post, make_image):
    adapter = instagram(local_server, tmp_path, fake)
    post = make_post("Same words every year", (make_image(),))
    adapter.publish(post)
    fake.posts[0]["timestamp"] = (NOW - timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert instagram(local_server, tmp_path, fake).check(post) is None


def test_container_error_is_permanent(local_server, tmp_path, fake, make_post, make_image):
    adapter = instagram(local_server, tmp_path, fake)
    original = fake.handle

    def refusing(req, path, query):
        reply = original(req, path, query)
        box = fake.containers.get(path.strip("/"))
        if req.method == "GET" and box is not None:
            return type(reply)(200, {"id": box["id"], "status_code": "ERROR",
                                     "status": "Error: unsupported aspect ratio"})
        return reply

    fake.handle = refusing
    with pytest.raises(PermanentPublishError, match="unsupported aspect ratio"):
        adapter.publish(make_post("c", (make_image(),)))
    assert fake.publish_calls == 0


def test_container_still_processing_is_transient_and_bounded(local_server, tmp_path, fake,
                                                             make_post, make_image):
    fake.processing_polls = 10_000
    sleeps: list[float] = []
    with pytest.raises(TransientPublishError, match="still being processed"):
        instagram(local_server, tmp_path, fake, sleeps).publish(make_post("c", (make_image(),)))
    assert len(sleeps) == InstagramAdapter.poll_attempts - 1
    assert max(sleeps) == InstagramAdapter.poll_max_interval


def test_expired_container_is_rebuilt(local_server, tmp_path, fake, make_post, make_image):
    adapter = instagram(local_server, tmp_path, fake)
    post = make_post("c", (make_image(),))
    fake.fail_next("transient")
    with pytest.raises(TransientPublishError):
        adapter.publish(post)
    first = next(iter(fake.containers))
    fake.containers[first]["status"] = "EXPIRED"
    adapter.publish(post)
    assert len(fake.containers) == 2
    assert fake.containers[first]["status"] == "EXPIRED" and len(fake.posts) == 1


def test_refused_without_images_or_with_png_before_any_request(local_server, tmp_path, fake,
                                                               make_post, make_image):
    adapter = instagram(local_server, tmp_path, fake)
    with pytest.raises(PermanentPublishError, match="at least one image"):
        adapter.publish(make_post("text only"))
    png = make_image()
    png = type(png)(**{**png.__dict__, "mime": "image/png"})
    with pytest.raises(PermanentPublishError, match="image 1 is image/png"):
        adapter.publish(make_post("c", (png,)))
    assert local_server.requests == []


def test_media_host_is_required(local_server, fake):
    with pytest.raises(ConfigError, match="channels.ig.media_host: Field required"):
        InstagramAdapter.parse_settings("ig", {"adapter": "instagram", "user_id": "1",
                                               "token_env": "T"})
    with pytest.raises(ConfigError, match=r"channels.ig.media_host: .*no media host kind 'ftp'"):
        InstagramAdapter.parse_settings("ig", {"adapter": "instagram", "user_id": "1",
                                               "token_env": "T", "media_host": {"kind": "ftp"}})


@pytest.mark.parametrize(("error", "kind"), [
    ({"code": 190, "error_subcode": 463, "message": "Session has expired"}, AuthError),
    ({"code": 10, "message": "Application does not have permission"}, AuthError),
    ({"code": 200, "message": "Permissions error"}, AuthError),
    ({"code": 1, "message": "An unknown error occurred"}, TransientPublishError),
    ({"code": 341, "message": "Application limit reached"}, TransientPublishError),
    ({"code": 100, "error_subcode": 2207001, "message": "Server error"}, TransientPublishError),
    ({"code": 100, "error_subcode": 2207003, "message": "Timeout"}, TransientPublishError),
    ({"code": 100, "error_subcode": 2207032, "message": "Create media failed"},
     TransientPublishError),
    ({"code": 100, "message": "Something", "is_transient": True}, TransientPublishError),
    ({"code": 100, "error_subcode": 2207020, "message": "The media has expired"},
     TransientPublishError),
    ({"code": 9, "error_subcode": 2207042, "message": "Limit reached"}, RateLimited),
    ({"code": 4, "message": "Application request limit reached"}, RateLimited),
    ({"code": 17, "message": "User request limit reached"}, RateLimited),
    ({"code": 506, "message": "Duplicate status message"}, DuplicateRefused),
    # Rows of https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes/
    ({"code": 4, "error_subcode": 2207051, "message": "We restrict certain activity to "
      "protect our community."}, PermanentPublishError),
    ({"code": -1, "error_subcode": 2207001, "message": "Instagram server error. Try again."},
     TransientPublishError),
    ({"code": -2, "error_subcode": 2207003, "message": "It takes too long to download the "
      "media."}, TransientPublishError),
    ({"code": -1, "error_subcode": 2207032, "message": "Create media fail, please try to "
      "re-create media"}, TransientPublishError),
    ({"code": 9007, "error_subcode": 2207027, "message": "The media is not ready for "
      "publishing, please wait for a moment"}, TransientPublishError),
    ({"code": 100, "error_subcode": 2207026, "message": "Invalid parameter"},
     PermanentPublishError),
])
def test_graph_error_classification(local_server, error, kind):
    import requests

    local_server.handler = lambda req: type(meta_error(1, ""))(400, {"error": error})
    response = requests.get(local_server.base_url + "/x", timeout=5)
    found = classify_graph_error(response, platform="instagram 'ig'", secrets=[TOKEN])
    assert type(found) is kind or (kind is TransientPublishError and isinstance(found, kind))
    assert error["message"] in str(found)


def test_plan_is_redacted_and_stores_nothing(local_server, tmp_path, fake, make_post,
                                             make_image):
    adapter = instagram(local_server, tmp_path, fake)
    planned = adapter.plan(make_post(f"caption {TOKEN}", (make_image(), make_image())))
    shown = json.dumps([p.as_dict() for p in planned])
    assert TOKEN not in shown
    assert [p.method for p in planned] == ["STORE", "STORE", "GET", "POST", "POST", "POST", "POST"]
    assert planned[3].body["image_url"] == planned[0].url
    assert planned[5].body["children"] == "<id of item 1>,<id of item 2>"
    assert planned[2].headers["Authorization"] == "***"
    assert not (tmp_path / "www").exists() and local_server.requests == []


def test_verify_names_the_account_and_warns_before_expiry(local_server, tmp_path, fake):
    assert instagram(local_server, tmp_path, fake).verify() == "signed in as @careers_gov"
    soon = (NOW.date() + timedelta(days=9)).isoformat()
    line = instagram(local_server, tmp_path, fake, token_expires=soon).verify()
    assert line == f"signed in as @careers_gov; token expires in 9 days ({soon}); renew it"
    later = instagram(local_server, tmp_path, fake, token_expires="2027-06-01")
    assert later.verify() == "signed in as @careers_gov"
    gone = instagram(local_server, tmp_path, fake, token_expires=date(2026, 11, 1).isoformat())
    with pytest.raises(AuthError, match="expired on 2026-11-01"):
        gone.verify()
    assert "the access token expired on 2026-11-01" in gone.readiness()


def test_wrong_token_is_auth_error_without_the_token(local_server, tmp_path, fake, make_post,
                                                     make_image):
    adapter = instagram(local_server, tmp_path, fake)
    adapter.env = {"IG_TOKEN": "IGQVJ-wrong-token-99999"}
    with pytest.raises(AuthError) as info:
        adapter.publish(make_post("c", (make_image(),)))
    assert "IGQVJ-wrong-token-99999" not in str(info.value)
