"""Bluesky video on the real PDS (``bsky_peer``), processed by the video-service stand-in.

The PDS peer has no video service, so :class:`tests.fakes.bluesky_video.FakeVideoService`
plays video.bsky.app on a local server. Everything on the account's side is the real PDS:
it signs the service tokens, accepts the processed video from the stand-in with the
token whose audience is its own DID (and refuses one addressed elsewhere), validates the
``app.bsky.embed.video`` record, and serves the blobs back; the record is read with plain
``requests`` calls.
"""

from __future__ import annotations

import requests

from tests.fakes.bluesky_video import FakeVideoService
from tests.test_adapter_bluesky import COLLECTION, CallLog, bluesky, get_record
from tests.test_adapter_x_video import VTT, clip, with_video  # noqa: F401


def test_video_post_on_the_real_pds(bsky_peer, local_server, tmp_path, clip,  # noqa: F811
                                    make_post):
    service = FakeVideoService(bsky_peer.base_url)
    local_server.handler = service
    adapter = bluesky(bsky_peer, tmp_path / "data", video_service=local_server.base_url)
    adapter.sleep = lambda s: None
    log = CallLog(adapter)
    post = with_video(make_post("A day in the archive #careers", language="en-GB",
                                delivery_id="bsky-video-1"), clip)
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
    assert blob(caption["file"]["ref"]["$link"]).decode() == VTT
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
