"""Bluesky video on the real PDS (``bsky_peer``), processed by the video-service stand-in.

The PDS peer has no video service, so :class:`tests.fakes.bluesky_video.FakeVideoService`
plays video.bsky.app on a local server. Everything on the account's side is the real PDS:
it signs the service tokens, accepts the processed video from the stand-in with the
token whose audience is its own DID (and refuses one addressed elsewhere), validates the
``app.bsky.embed.video`` record, and serves the blobs back; the record is read with plain
``requests`` calls.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from scheduler.adapters.bluesky import BlueskyAdapter
from scheduler.errors import PermanentPublishError, RateLimited
from tests import video_posts
from tests.fakes.bluesky_video import FakeVideoService
from tests.test_adapter_bluesky import COLLECTION, CallLog, bluesky, get_record
from tests.video_posts import CAPTIONS

clip, make_video_post = video_posts.clip, video_posts.make_video_post


def test_video_post_on_the_real_pds(bsky_peer, local_server, tmp_path, clip,
                                    make_video_post):
    service = FakeVideoService(bsky_peer.base_url)
    local_server.handler = service
    adapter = bluesky(bsky_peer, tmp_path / "data", video_service=local_server.base_url)
    adapter.sleep = lambda s: None
    log = CallLog(adapter)
    post = replace(make_video_post("A day in the archive #careers",
                                   delivery_id="bsky-video-1"), language="en-GB")
    published = adapter.publish(post)
    assert [n for n in log.names() if n != "createSession"] == [
        "getRecord", "getServiceAuth", "getUploadLimits", "getSession", "describeServer",
        "getServiceAuth",
        "uploadVideo", "getJobStatus", "getJobStatus", "getJobStatus", "uploadBlob",
        "createRecord"]
    rkey = published.remote_id.rsplit("/", 1)[-1]
    stored = get_record(bsky_peer, rkey).json()["value"]
    embed = stored["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["alt"] == post.video.alt
    assert embed["aspectRatio"] == {"width": 320, "height": 180}
    ((_, job),) = service.jobs.items()
    assert embed["video"]["ref"] == job.blob["ref"]
    did = bsky_peer.info["BSKY_DID"]

    def blob(cid: str) -> bytes:
        response = requests.get(f"{bsky_peer.base_url}/xrpc/com.atproto.sync.getBlob",
                                params={"did": did, "cid": cid}, timeout=10)
        response.raise_for_status()
        return response.content

    assert blob(embed["video"]["ref"]["$link"]) == clip.read_bytes()
    (caption,) = embed["captions"]
    assert caption["lang"] == "en"
    assert blob(caption["file"]["ref"]["$link"]).decode() == CAPTIONS
    assert adapter.check(post).remote_id == published.remote_id
    listed = requests.get(f"{bsky_peer.base_url}/xrpc/com.atproto.repo.listRecords",
                          params={"repo": did, "collection": COLLECTION}, timeout=10).json()
    assert [r["uri"] for r in listed["records"]].count(published.remote_id) == 1


def test_the_pds_refuses_a_token_addressed_to_another_service(bsky_peer, tmp_path):
    """Why the adapter asks for the PDS's own DID as the audience."""
    adapter = bluesky(bsky_peer, tmp_path / "data")
    wrong = adapter.video.service_token("did:web:video.bsky.app",
                                        "com.atproto.repo.uploadBlob")
    right = adapter.video.service_token(adapter.video.pds_audience(),
                                        "com.atproto.repo.uploadBlob")
    url = f"{bsky_peer.base_url}/xrpc/com.atproto.repo.uploadBlob"
    refused = requests.post(url, data=b"x" * 10, timeout=10, headers={
        "Authorization": f"Bearer {wrong}", "Content-Type": "video/mp4"})
    taken = requests.post(url, data=b"x" * 10, timeout=10, headers={
        "Authorization": f"Bearer {right}", "Content-Type": "video/mp4"})
    assert refused.status_code == 401 and refused.json()["error"] == "BadJwtAudience"
    assert taken.status_code == 200 and taken.json()["blob"]["size"] == 10


# -- against the stand-ins ---------------------------------------------------------------


def fake_rig(local_server, tmp_path):
    from tests.fakes import FakeBlueskyPds

    pds = FakeBlueskyPds(local_server, "app-pass")
    service = FakeVideoService(local_server.base_url)
    local_server.handler = lambda req: (service(req) if "/app.bsky.video." in req.path
                                        else pds(req))
    raw = {"adapter": "bluesky", "base_url": local_server.base_url, "handle": "careers.example",
           "password_env": "P", "cache_session": False, "video_service": local_server.base_url}
    adapter = BlueskyAdapter("bsky", BlueskyAdapter.parse_settings("bsky", raw),
                             env={"P": "app-pass"}, data_dir=tmp_path, sleep=lambda s: None)
    return adapter, pds, service


def test_a_video_processed_before_is_used_again(local_server, tmp_path, make_video_post):
    """The service answers ``already_exists`` with the earlier blob: no second processing."""
    adapter, pds, service = fake_rig(local_server, tmp_path)
    adapter.publish(make_video_post("First", delivery_id="v-1"))
    polls = service.calls.count("app.bsky.video.getJobStatus")
    adapter.publish(make_video_post("Second", delivery_id="v-2"))
    assert service.calls.count("app.bsky.video.getJobStatus") == polls
    first, second = (r["value"]["embed"]["video"] for r in pds.records.values())
    assert first == second and len(service.jobs) == 1


def test_upload_limits_are_asked_first(local_server, tmp_path, make_video_post):
    adapter, pds, service = fake_rig(local_server, tmp_path)
    service.limits = {"canUpload": False, "message": "Please verify your email first"}
    with pytest.raises(PermanentPublishError, match="Please verify your email first"):
        adapter.publish(make_video_post("Hi", delivery_id="v-3"))
    service.limits = {"canUpload": False, "remainingDailyVideos": 0,
                      "message": "Daily video limit reached"}
    with pytest.raises(RateLimited, match="daily limit is used up: Daily video limit"):
        adapter.publish(make_video_post("Hi", delivery_id="v-3"))
    assert "app.bsky.video.uploadVideo" not in service.calls and not pds.records


def test_a_video_changed_on_disk_is_not_sent_whole(local_server, tmp_path, clip,
                                                   make_video_post):
    """The video is streamed to the service and re-hashed as it goes: a file changed after
    it was queued stops before its last piece, and no job is made of it."""
    adapter, pds, service = fake_rig(local_server, tmp_path)
    copy = tmp_path / "queued.mp4"
    copy.write_bytes(clip.read_bytes())
    post = make_video_post("Hi", delivery_id="v-4")
    post = replace(post, video=replace(post.video, path=copy))
    data = clip.read_bytes()
    copy.write_bytes(data[:-10] + b"0123456789")
    with pytest.raises(PermanentPublishError, match="has changed since it was queued"):
        adapter.publish(post)
    assert service.jobs == {} and not pds.records
