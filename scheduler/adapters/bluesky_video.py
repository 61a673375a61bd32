"""Bluesky video: processed by the video service, stored on the PDS, embedded in the post.

Flow (https://docs.bsky.app/docs/tutorials/video, the "recommended method"):

1. ``app.bsky.video.getUploadLimits`` on the video service, with a service token from
   the PDS (``com.atproto.server.getServiceAuth``, ``aud`` the video service's DID,
   ``lxm`` the method): ``canUpload`` false means the account may not post a video now
   (daily count or bytes used up: wait; otherwise its ``message``, e.g. an unverified
   email, is a failure a person must fix).
2. A service token with ``aud`` = the account's PDS (``did:web:<host>``: the PDS in the
   session's DID document, else ``describeServer``'s ``did``), ``lxm`` =
   ``com.atproto.repo.uploadBlob`` and a 30-minute expiry: the video service stores the
   processed video on the PDS with it, on the account's behalf.
3. ``POST {video service}/xrpc/app.bsky.video.uploadVideo?did=&name=`` with the MP4 as
   the body → a job status with ``jobId``, recorded at once, so a restart asks about the
   same job instead of uploading again.
4. ``app.bsky.video.getJobStatus?jobId=`` until it carries the ``blob``
   (``JOB_STATE_COMPLETED``); ``JOB_STATE_FAILED`` carries ``error``/``message``, quoted.
   A source already processed answers ``already_exists`` *with* the blob, which is used.
   Polled within :data:`~scheduler.adapters.base.VIDEO_WAIT_BUDGET`.
5. The captions (``text/vtt``) go to the PDS with ``com.atproto.repo.uploadBlob``; the
   record embeds ``app.bsky.embed.video`` with ``video``, ``captions: [{lang, file}]``,
   ``alt`` and ``aspectRatio``
   (https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/embed/video.json).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scheduler.adapters.base import OutgoingPost, PlannedRequest, Processing
from scheduler.adapters.http import error_message_of, raise_for_status, redact
from scheduler.adapters.processing import recorded_video
from scheduler.errors import PermanentPublishError, RateLimited
from scheduler.redaction import remember as remember_secret

if TYPE_CHECKING:
    from scheduler.adapters.bluesky import BlueskyAdapter

#: The PDS removes a blob no record references after a while; a job older than this is
#: redone rather than trusted.
KEEP = timedelta(hours=1)
_DONE, _FAILED = "JOB_STATE_COMPLETED", "JOB_STATE_FAILED"


class BlueskyVideo:
    """Has one post's video processed for a :class:`BlueskyAdapter`."""

    def __init__(self, adapter: BlueskyAdapter) -> None:
        self.adapter = adapter

    @property
    def service(self) -> str:
        return self.adapter.settings_of().video_service.rstrip("/")

    # -- tokens -------------------------------------------------------------------------
    def service_token(self, aud: str, lxm: str, minutes: int = 30) -> str:
        """A short-lived token the PDS signs for ``aud`` to call ``lxm`` as this account."""
        exp = int(self.adapter.clock.now().timestamp()) + minutes * 60
        doc = self.adapter.xrpc("GET", "com.atproto.server.getServiceAuth",
                                params={"aud": aud, "lxm": lxm, "exp": exp}).json()
        token = str(doc["token"])
        remember_secret(token)
        return token

    def pds_audience(self) -> str:
        """The account's PDS as a service DID: its DID document's ``#atproto_pds``
        endpoint host, else the DID the PDS gives for itself."""
        doc = self.adapter.xrpc("GET", "com.atproto.server.getSession").json()
        for service in ((doc.get("didDoc") or {}).get("service") or []):
            if isinstance(service, dict) and str(service.get("id", "")).endswith("#atproto_pds"):
                host = urlsplit(str(service.get("serviceEndpoint", ""))).netloc
                if host:
                    return "did:web:" + host.replace(":", "%3A")
        described = self.adapter.http.json("GET", "/xrpc/com.atproto.server.describeServer")
        return str(described["did"])

    # -- the flow -----------------------------------------------------------------------
    def blob(self, post: OutgoingPost) -> Any:
        """The processed video's blob on the PDS."""
        video = post.video
        assert video is not None
        state = self._state(post)
        if not state:
            self._check_limits(video.size)
            token = self.service_token(self.pds_audience(), "com.atproto.repo.uploadBlob")
            job = self._upload(post, token)
            state = {"job": job.get("jobId"), "sha256": video.sha256,
                     "at": self.adapter.clock.now().isoformat()}
            if job.get("blob"):
                state["blob"] = job["blob"]
            self.adapter.remember(post, video=state)
        if not state.get("blob"):
            job_id = str(state["job"])
            found: dict[str, Any] = {}
            self.adapter.await_processing(
                post, f"video job {job_id}", lambda: self._status(job_id, found),
                self.adapter.sleep, forget=lambda: self.adapter.remember(post, video=None))
            state = {**state, "blob": found["blob"]}
            self.adapter.remember(post, video=state)
        return state["blob"]

    def _state(self, post: OutgoingPost) -> dict[str, Any]:
        state = recorded_video(self.adapter, post, KEEP)
        return state if state.get("job") else {}

    def _check_limits(self, size: int) -> None:
        token = self.service_token(self.adapter.settings_of().video_service_did,
                                   "app.bsky.video.getUploadLimits", minutes=5)
        doc = self.adapter.http.json("GET", f"{self.service}/xrpc/app.bsky.video.getUploadLimits",
                                     headers={"Authorization": f"Bearer {token}"})
        who = f"bluesky '{self.adapter.channel}'"
        used_up = doc.get("remainingDailyVideos") == 0 or (
            isinstance(doc.get("remainingDailyBytes"), int) and doc["remainingDailyBytes"] < size)
        if doc.get("canUpload") is False or used_up:
            reason = str(doc.get("message") or doc.get("error") or "no reason given")
            if used_up:
                raise RateLimited(f"{who}: the video service's daily limit is used up: "
                                  f"{reason}", retry_after=3600.0)
            raise PermanentPublishError(f"{who}: the video service refuses uploads from this "
                                        f"account: {reason}")

    def _upload(self, post: OutgoingPost, token: str) -> dict[str, Any]:
        video = post.video
        assert video is not None
        # The job publishes nothing; a lost answer costs one more processing at most. The
        # file is streamed (up to 100 MB), not read into memory.
        response = self.adapter.http.request(
            "POST", f"{self.service}/xrpc/app.bsky.video.uploadVideo",
            params={"did": self.adapter.session()["did"], "name": f"{post.post_id}.mp4"},
            headers={"Authorization": f"Bearer {token}"},
            content=(video.body(), video.mime), idempotent=True, check=False)
        doc = _json(response)
        job = doc.get("jobStatus", doc) if isinstance(doc, dict) else {}
        if response.status_code >= 400 and not (isinstance(job, dict) and job.get("jobId")):
            raise_for_status(response, platform=self.adapter.http.platform,
                             secrets=self.adapter.secrets(), now=self.adapter.clock.now())
        if not isinstance(job, dict) or not job.get("jobId"):
            raise PermanentPublishError(f"bluesky '{self.adapter.channel}': the video service "
                                        "answered without a job id")
        return job

    def _status(self, job_id: str, found: dict[str, Any]) -> Processing:
        response = self.adapter.http.request(
            "GET", f"{self.service}/xrpc/app.bsky.video.getJobStatus",
            params={"jobId": job_id}, check=False)
        doc = _json(response)
        job = doc.get("jobStatus") if isinstance(doc, dict) else None
        if not isinstance(job, dict):
            raise_for_status(response, platform=self.adapter.http.platform,
                             secrets=self.adapter.secrets(), now=self.adapter.clock.now())
            return Processing("pending", wait=1.0)
        if job.get("blob"):  # also "already_exists": the earlier processing's blob
            found["blob"] = job["blob"]
            return Processing("done")
        if job.get("state") == _FAILED:
            detail = str(job.get("message") or job.get("error") or "JOB_STATE_FAILED")
            return Processing("failed", detail=redact(detail, self.adapter.secrets()))
        return Processing("pending", wait=1.0)

    def captions_blob(self, post: OutgoingPost) -> Any | None:
        video = post.video
        if video is None or video.captions_bytes is None:
            return None
        state = self.adapter.progress(post).get("video") or {}
        if isinstance(state, dict) and state.get("captions"):
            return state["captions"]
        blob = self.adapter.xrpc("POST", "com.atproto.repo.uploadBlob",
                                 content=(video.captions_bytes, "text/vtt"),
                                 idempotent=True).json()["blob"]
        if isinstance(state, dict) and state:
            self.adapter.remember(post, video={**state, "captions": blob})
        return blob

    # -- dry runs -----------------------------------------------------------------------
    def plan(self, post: OutgoingPost, auth: dict[str, str]) -> list[PlannedRequest]:
        video = post.video
        assert video is not None
        http = self.adapter.http
        service_auth = {"Authorization": "Bearer <service token>"}
        out = [
            http.plan("GET", "/xrpc/com.atproto.server.getServiceAuth?aud="
                      f"{self.adapter.settings_of().video_service_did}"
                      "&lxm=app.bsky.video.getUploadLimits", headers=auth),
            http.plan("GET", f"{self.service}/xrpc/app.bsky.video.getUploadLimits",
                      headers=service_auth),
            http.plan("GET", "/xrpc/com.atproto.server.getServiceAuth?aud=<the PDS's DID>"
                      "&lxm=com.atproto.repo.uploadBlob", headers=auth),
            PlannedRequest("POST", f"{self.service}/xrpc/app.bsky.video.uploadVideo?did="
                           f"<the account's DID>&name={post.post_id}.mp4", dict(service_auth),
                           f"<{video.size} bytes {video.mime} sha256={video.sha256}>"),
            http.plan("GET", f"{self.service}/xrpc/app.bsky.video.getJobStatus?jobId=<job id>"),
        ]
        if video.captions_bytes is not None:
            out.append(http.plan("POST", "/xrpc/com.atproto.repo.uploadBlob", headers=auth,
                                 content=(video.captions_bytes, "text/vtt")))
        return out


def embed(post: OutgoingPost, blob: Any, captions: Any | None) -> dict[str, Any]:
    """The ``app.bsky.embed.video`` of ``post``."""
    video = post.video
    assert video is not None
    out: dict[str, Any] = {"$type": "app.bsky.embed.video", "video": blob, "alt": video.alt,
                           "aspectRatio": {"width": video.width, "height": video.height}}
    if captions is not None:
        out["captions"] = [{"lang": post.language.split("-")[0].lower() or "en",
                            "file": captions}]
    return out


def _json(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {"error": error_message_of(response)}
