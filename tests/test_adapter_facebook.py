"""Facebook Pages: one photo, several photos through ``attached_media``, text only."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.adapters.facebook import FacebookAdapter
from scheduler.errors import OutcomeUnknown, PermanentPublishError, TransientPublishError
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeFacebookPage, form_of
from tests.peers import jpeg_bytes

TOKEN = "EAAB-Recognisable-page-token-8c9d0e"


def facebook(server, tmp_path, fake, media_host=None) -> FacebookAdapter:
    raw = {"adapter": "facebook", "base_url": server.base_url, "page_id": fake.page,
           "token_env": "FB_TOKEN"}
    if media_host:
        raw["media_host"] = media_host
    return FacebookAdapter("fb", FacebookAdapter.parse_settings("fb", raw),
                           env={"FB_TOKEN": TOKEN}, clock=FixedClock(NOW),
                           data_dir=tmp_path / "data")


@pytest.fixture
def fake(local_server):
    return FakeFacebookPage(local_server, TOKEN)


def test_single_photo_uploaded_as_bytes(local_server, tmp_path, fake, make_post, make_image):
    image = make_image(alt="Desk.")
    published = facebook(local_server, tmp_path, fake).publish(make_post("Hello", (image,)))
    form = form_of(local_server.requests[0])
    assert form["caption"] == "Hello" and form["alt_text_custom"] == "Desk."
    assert form["source"][1] == image.read_bytes()
    assert published.remote_id == fake.posts[0]["id"]
    assert published.url == fake.posts[0]["permalink_url"]


def test_single_photo_by_url_with_a_media_host(local_server, tmp_path, fake, make_post,
                                               make_image):
    host = {"kind": "directory", "path": str(tmp_path / "www"),
            "public_base_url": "https://media.example.gov.uk/postq"}
    facebook(local_server, tmp_path, fake, host).publish(make_post("Hello", (make_image(),)))
    form = form_of(local_server.requests[0])
    assert form["url"].startswith("https://media.example.gov.uk/postq/")
    assert (tmp_path / "www" / form["url"].rsplit("/", 1)[-1]).is_file()
    assert "source" not in form


def test_several_photos_then_one_feed_post(local_server, tmp_path, fake, make_post, make_image):
    images = tuple(make_image(alt=f"Photo {n}.", data=jpeg_bytes(color=(n, 9, 9)))
                   for n in range(1, 4))
    published = facebook(local_server, tmp_path, fake).publish(make_post("Three", images))
    uploads = [form_of(r) for r in local_server.requests if r.path.endswith("/photos")]
    assert [u["published"] for u in uploads] == ["false"] * 3
    feed = form_of(next(r for r in local_server.requests if r.path.endswith("/feed")))
    photo_ids = list(fake.photos)
    assert feed == {"message": "Three", **{f"attached_media[{n}]": json.dumps({"media_fbid": i})
                                           for n, i in enumerate(photo_ids)}}
    assert len(fake.posts) == 1 and published.remote_id == fake.posts[0]["id"]


def test_text_only_post(local_server, tmp_path, fake, make_post):
    facebook(local_server, tmp_path, fake).publish(make_post("Just words"))
    assert fake.posts[0]["message"] == "Just words" and fake.posts[0]["photos"] == []


def test_lost_answer_to_the_feed_post_is_unknown_and_check_finds_it(local_server, tmp_path,
                                                                     fake, make_post, make_image):
    adapter = facebook(local_server, tmp_path, fake)
    post = make_post("Two photos", (make_image(), make_image(data=jpeg_bytes(color=(1, 1, 1)))))
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post)
    assert adapter.check(post).remote_id == fake.posts[0]["id"]


def test_throttled_page_and_duplicates(local_server, tmp_path, fake, make_post):
    adapter = facebook(local_server, tmp_path, fake)
    fake.fail_next("transient")
    with pytest.raises(TransientPublishError):
        adapter.publish(make_post("c"))
    fake.fail_next("permanent")
    with pytest.raises(PermanentPublishError, match=r"too long for a Page post"):
        adapter.publish(make_post("c"))
    first = adapter.publish(make_post("c", delivery_id="d-1"))
    # Code 506 for the same delivery sent again: asked, found, published once.
    assert facebook(local_server, tmp_path, fake).publish(make_post("c", delivery_id="d-1")) \
        == first
    assert len(fake.posts) == 1
    later = replace(make_post("c", delivery_id="d-2"), due_at=NOW + timedelta(days=2))
    with pytest.raises(PermanentPublishError, match=r"\[code 506\].*identical post"):
        facebook(local_server, tmp_path, fake).publish(later)


def test_plan_and_verify(local_server, tmp_path, fake, make_post, make_image):
    adapter = facebook(local_server, tmp_path, fake)
    planned = adapter.plan(make_post(f"x {TOKEN}", (make_image(), make_image())))
    shown = json.dumps([p.as_dict() for p in planned])
    assert TOKEN not in shown
    assert planned[-1].body["attached_media[1]"] == json.dumps({"media_fbid": "<id of photo 2>"})
    assert "bytes image/jpeg sha256=" in planned[0].body["source"]
    assert adapter.verify() == "posts to the Page Careers at the Department"
