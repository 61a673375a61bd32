"""LinkedIn video: the Videos API (initializeUpload, parts with ETags, captions and
thumbnail, finalizeUpload), the post only once the video is AVAILABLE, failures quoting
LinkedIn's reason, expired upload addresses, and resuming after a crash or a slow tick.

Run against :class:`tests.fakes.FakeLinkedIn`, which splits the upload into small parts
so the two-second test clip takes several.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.adapters.base import VIDEO_WAIT_BUDGET
from scheduler.adapters.linkedin import LinkedInAdapter
from scheduler.errors import OutcomeUnknown, PermanentPublishError, StillProcessing
from scheduler.timeutil import FixedClock
from tests import video_posts
from tests.fakes import NOW, FakeLinkedIn, json_of
from tests.video_posts import Crash, Store

clip, make_video_post = video_posts.clip, video_posts.make_video_post
TOKEN = "AQV-Recognisable-linkedin-token-5f6e7d"
PART = 64 * 1024


def linkedin(server, sleeps=None, *, now=NOW) -> LinkedInAdapter:
    raw = {"adapter": "linkedin", "base_url": server.base_url, "organization": "2414183",
           "token_env": "LI_TOKEN"}
    record = sleeps if sleeps is not None else []
    return LinkedInAdapter("li", LinkedInAdapter.parse_settings("li", raw),
                           env={"LI_TOKEN": TOKEN}, clock=FixedClock(now), sleep=record.append)


@pytest.fixture
def fake(local_server):
    fake = FakeLinkedIn(local_server, TOKEN)
    fake.part_size = PART
    return fake


def calls(server):
    return [(r.method, r.path.split("?")[0]) for r in server.requests]


def test_video_post_flow(local_server, fake, make_video_post):
    sleeps: list[float] = []
    post = make_video_post()
    published = linkedin(local_server, sleeps).publish(post)
    (video,) = fake.videos.values()
    urn, key = video["urn"], video["urn"].rsplit(":", 1)[-1]
    data = post.video.path.read_bytes()
    parts = len(video["parts"])
    assert parts >= 2 and fake.video_bytes(urn) == data
    assert video["captions"].startswith("1\n00:00:00,200 --> 00:00:01,500\nWelcome")
    assert video["thumbnail"] == post.video.cover.read_bytes()
    assert calls(local_server) == [
        ("POST", "/rest/videos"),
        *[("PUT", f"/dms-uploads/video/{key}/part/{n}") for n in range(parts)],
        ("PUT", f"/dms-uploads/video/{key}/captions"),
        ("PUT", f"/dms-uploads/video/{key}/thumbnail"),
        ("POST", "/rest/videos"),
        ("GET", f"/rest/videos/{urn.replace(':', '%3A')}"),
        ("GET", f"/rest/videos/{urn.replace(':', '%3A')}"),
        ("POST", "/rest/posts"),
    ]
    init = json_of(local_server.requests[0])["initializeUploadRequest"]
    assert init == {"owner": fake.org, "fileSizeBytes": len(data), "uploadCaptions": True,
                    "uploadThumbnail": True}
    final = json_of(local_server.requests[parts + 3])["finalizeUploadRequest"]
    assert final["uploadedPartIds"] == [video["etags"][n] for n in range(parts)]
    assert fake.posts[0]["content"] == {"media": {"id": urn}}
    assert published.remote_id == fake.posts[0]["id"] and sleeps == [1.0]


def test_crash_between_parts_sends_only_the_rest(local_server, fake, make_video_post):
    post = make_video_post()
    store = Store(crash_at=3)  # the upload registered, then two parts acknowledged
    with pytest.raises(Crash):
        store.attach(linkedin(local_server)).publish(post)
    assert fake.posts == [] and len(fake.videos) == 1
    before = sum(1 for r in local_server.requests if "/part/" in r.path)
    assert before == 2
    published = store.attach(linkedin(local_server)).publish(store.resumed(post))
    (video,) = fake.videos.values()
    after = sum(1 for r in local_server.requests if "/part/" in r.path)
    assert after == len(video["parts"]), "no part was sent twice"
    assert fake.video_bytes(video["urn"]) == post.video.path.read_bytes()
    assert published.remote_id == fake.posts[0]["id"] and len(fake.posts) == 1


def test_expired_upload_addresses_start_a_new_upload(local_server, fake, make_video_post):
    post = make_video_post()
    store = Store(crash_at=2)
    with pytest.raises(Crash):
        store.attach(linkedin(local_server)).publish(post)
    later = NOW + timedelta(hours=2)
    fake.now = later
    store.attach(linkedin(local_server, now=later)).publish(store.resumed(post))
    assert len(fake.videos) == 2 and len(fake.posts) == 1
    assert fake.posts[0]["content"]["media"]["id"] == list(fake.videos)[1]


def test_processing_failure_quotes_linkedin(local_server, fake, make_video_post):
    store = Store()
    fake.video_error = "VIDEO_TOO_SHORT"
    with pytest.raises(PermanentPublishError) as info:
        store.attach(linkedin(local_server)).publish(make_video_post())
    assert "VIDEO_TOO_SHORT" in str(info.value) and TOKEN not in str(info.value)
    assert fake.posts == [] and "video" not in store.saved


def test_slow_processing_polls_the_same_video_next_time(local_server, fake, make_video_post):
    sleeps: list[float] = []
    store = Store()
    post = make_video_post()
    fake.hold_video = True
    with pytest.raises(StillProcessing):
        store.attach(linkedin(local_server, sleeps)).publish(post)
    assert sum(sleeps) <= VIDEO_WAIT_BUDGET and fake.posts == []
    fake.hold_video = False
    published = store.attach(linkedin(local_server)).publish(store.resumed(post))
    assert len(fake.videos) == 1 and published.remote_id == fake.posts[0]["id"]


def test_lost_answer_to_the_post_is_settled_by_check(local_server, fake, make_video_post):
    store = Store()
    post = make_video_post()
    fake.fail_next("gateway")
    with pytest.raises(OutcomeUnknown):
        store.attach(linkedin(local_server)).publish(post)
    again = store.attach(linkedin(local_server)).publish(store.resumed(post))
    assert again.remote_id == fake.posts[0]["id"] and fake.publish_calls == 1


def test_upload_address_off_linkedin_is_refused(local_server, fake, make_video_post):
    post = make_video_post()
    state = {"video": "urn:li:video:X", "upload_token": "", "etags": [],
             "parts": [{"url": "http://collector.example/part", "first": 0,
                        "last": post.video.size - 1}]}
    with pytest.raises(PermanentPublishError, match="token was not sent"):
        linkedin(local_server).publish(replace(post, remote_state=state))
    assert local_server.requests == []


def test_dry_run_shows_the_video_flow(local_server, fake, make_video_post):
    planned = linkedin(local_server).plan(make_video_post())
    shown = [(p.method, p.url.replace(local_server.base_url, "")) for p in planned]
    assert shown == [
        ("POST", "/rest/videos?action=initializeUpload"), ("PUT", "<uploadUrl of each part>"),
        ("PUT", "<captionsUploadUrl>"), ("PUT", "<thumbnailUploadUrl>"),
        ("POST", "/rest/videos?action=finalizeUpload"), ("GET", "/rest/videos/<video URN>"),
        ("POST", "/rest/posts"),
    ]
    assert planned[-1].body["content"] == {"media": {"id": "<video URN>"}}
    assert all(TOKEN not in str(p.as_dict()) for p in planned)
    assert local_server.requests == []
