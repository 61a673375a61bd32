"""Threads: text-only, image and carousel containers; limits checked before sending."""

from __future__ import annotations

import json

import pytest

from scheduler.adapters.threads import ThreadsAdapter
from scheduler.errors import PermanentPublishError, RateLimited
from scheduler.platforms import get_profile
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeGraphContainers
from tests.peers import jpeg_bytes

TOKEN = "THQWJ-Recognisable-token-4e5f6a7b"


def threads(server, tmp_path, fake, with_host=True, **extra) -> ThreadsAdapter:
    raw = {"adapter": "threads", "base_url": server.base_url, "user_id": fake.user,
           "token_env": "TH_TOKEN", **extra}
    if with_host:
        raw["media_host"] = {"kind": "directory", "path": str(tmp_path / "www"),
                             "public_base_url": fake.media_url}
    return ThreadsAdapter("th", ThreadsAdapter.parse_settings("th", raw),
                          env={"TH_TOKEN": TOKEN}, clock=FixedClock(NOW),
                          data_dir=tmp_path / "data", sleep=lambda s: None)


@pytest.fixture
def fake(local_server, tmp_path):
    return FakeGraphContainers(local_server, TOKEN, tmp_path / "www", flavour="threads")


def test_text_only_post_needs_no_media_host(local_server, tmp_path, fake, make_post):
    published = threads(local_server, tmp_path, fake, with_host=False).publish(
        make_post("Rydym yn recriwtio. https://www.example.gov.uk/gyrfaoedd #gyrfaoedd"))
    (box,) = fake.containers.values()
    assert box["form"] == {"media_type": "TEXT",
                           "text": "Rydym yn recriwtio. https://www.example.gov.uk/gyrfaoedd "
                                   "#gyrfaoedd"}
    assert published.url == fake.posts[0]["permalink"]
    paths = [r.path.split("?")[0] for r in local_server.requests]
    assert paths[0] == f"/{fake.user}/threads_publishing_limit"
    assert f"/{fake.user}/threads_publish" in paths


def test_image_and_carousel(local_server, tmp_path, fake, make_post, make_image):
    adapter = threads(local_server, tmp_path, fake)
    adapter.publish(make_post("One", (make_image(alt="Desk."),)))
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "IMAGE" and box["form"]["alt_text"] == "Desk."
    assert box["form"]["text"] == "One"
    fake.containers.clear()
    images = (make_image(data=jpeg_bytes(color=(1, 2, 3))), make_image(data=jpeg_bytes()))
    adapter.publish(make_post("Two", images, delivery_id="d-2"))
    boxes = list(fake.containers.values())
    assert [b["form"].get("is_carousel_item") for b in boxes] == ["true", "true", None]
    assert boxes[2]["form"]["media_type"] == "CAROUSEL"
    assert boxes[2]["form"]["children"] == f"{boxes[0]['id']},{boxes[1]['id']}"


def test_images_without_a_media_host_are_refused(local_server, tmp_path, fake, make_post,
                                                 make_image):
    adapter = threads(local_server, tmp_path, fake, with_host=False)
    with pytest.raises(PermanentPublishError, match="images need a media_host"):
        adapter.publish(make_post("c", (make_image(),)))


def test_profile_has_the_five_link_limit_and_the_adapter_enforces_it(local_server, tmp_path,
                                                                      fake, make_post):
    assert get_profile("threads").max_links == 5
    caption = " ".join(f"https://example.gov.uk/{n}" for n in range(6))
    with pytest.raises(PermanentPublishError, match="6 links; Threads allows 5"):
        threads(local_server, tmp_path, fake).publish(make_post(caption))
    assert local_server.requests == []


def test_emoji_count_by_bytes(local_server, tmp_path, fake, make_post):
    # 125 rockets are 125 characters but 500 bytes' worth: at the limit, not over it.
    threads(local_server, tmp_path, fake).publish(make_post("🚀" * 125))
    with pytest.raises(PermanentPublishError, match="504 characters, emoji by UTF-8 bytes"):
        threads(local_server, tmp_path, fake).publish(make_post("🚀" * 126))


def test_quota(local_server, tmp_path, fake, make_post):
    fake.quota_usage, fake.quota_total = 250, 250
    with pytest.raises(RateLimited, match="250 of 250"):
        threads(local_server, tmp_path, fake).publish(make_post("c"))


def test_plan_and_verify(local_server, tmp_path, fake, make_post):
    adapter = threads(local_server, tmp_path, fake)
    planned = adapter.plan(make_post(f"hello {TOKEN}"))
    assert TOKEN not in json.dumps([p.as_dict() for p in planned])
    assert [p.url.rsplit("/", 1)[-1] for p in planned] == [
        "threads_publishing_limit", "threads", "threads_publish"]
    assert adapter.verify() == "signed in as @careers_gov"


def test_default_base_url_and_user():
    settings = ThreadsAdapter.parse_settings("th", {"adapter": "threads", "token_env": "T"})
    assert settings.base_url == "https://graph.threads.net/v1.0"
    assert settings.user_id == "me"
