"""A stand-in for Bluesky's video service (video.bsky.app), which no local peer provides.

It follows https://docs.bsky.app/docs/tutorials/video and the ``app.bsky.video.*``
lexicons (https://github.com/bluesky-social/atproto/tree/main/lexicons/app/bsky/video):

* ``getUploadLimits`` — needs a service token (``lxm`` that method); answers
  ``canUpload``, ``remainingDailyVideos``, ``remainingDailyBytes``;
* ``uploadVideo?did=&name=`` — needs a service token for ``com.atproto.repo.uploadBlob``
  whose audience is the account's PDS; the body is the MP4; answers a job status
  (``jobId``, ``did``, ``state: JOB_STATE_CREATED``);
* ``getJobStatus?jobId=`` — ``{"jobStatus": {...}}``: processing states, then the video
  is stored *on the account's PDS* with ``com.atproto.repo.uploadBlob`` and the same
  service token (as the tutorial says the service does), and the answer carries the
  ``blob`` with ``JOB_STATE_COMPLETED``; a failed job says ``JOB_STATE_FAILED`` with
  ``error`` and ``message``; uploading the same bytes again answers ``already_exists``
  with the earlier blob.

Processing can be held (a long video) and made to fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import requests

from tests.fakes.common import split
from tests.peers import Recorded, Reply


@dataclass
class Job:
    did: str
    data: bytes
    token: str
    polls: int = 0
    state: str = "JOB_STATE_CREATED"
    blob: dict[str, Any] | None = None


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a service JWT (the PDS signs them; here they are only read)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class FakeVideoService:
    """The video service's three methods; finished videos go to ``pds_url``."""

    polls_before_done = 2

    def __init__(self, pds_url: str) -> None:
        self.pds_url = pds_url.rstrip("/")
        self.jobs: dict[str, Job] = {}
        self.hold = False
        self.fail_with: str | None = None
        self.calls: list[str] = []
        #: getUploadLimits' answer (an account with an unverified email, say, gets
        #: ``canUpload: false`` and a message).
        self.limits: dict[str, Any] = {"canUpload": True, "remainingDailyVideos": 25,
                                       "remainingDailyBytes": 10_000_000_000}

    def __call__(self, req: Recorded) -> Reply:
        path, query = split(req)
        return self.handle(req, path.removeprefix("/xrpc/"), query)

    def handle(self, req: Recorded, nsid: str, query: dict[str, str]) -> Reply:
        self.calls.append(nsid)
        token = req.headers.get("Authorization", "").removeprefix("Bearer ")
        claims = token_claims(token)
        if nsid == "app.bsky.video.getUploadLimits":
            if claims.get("lxm") != nsid:
                return Reply(401, {"error": "AuthMissing", "message": "service auth required"})
            return Reply(200, self.limits)
        if nsid == "app.bsky.video.uploadVideo":
            if claims.get("lxm") != "com.atproto.repo.uploadBlob" or \
                    claims.get("iss") != query.get("did"):
                return Reply(401, {"error": "AuthMissing", "message": "bad service token"})
            if len(req.body) != int(req.headers.get("Content-Length") or 0):
                # A body cut short (the client stopped sending) is no video.
                return Reply(400, {"error": "InvalidRequest", "message": "incomplete body"})
            job_id = hashlib.sha256(req.body).hexdigest()[:20]
            if job_id in self.jobs and self.jobs[job_id].blob is not None:
                job = self.jobs[job_id]
                return Reply(409, {"jobId": job_id, "did": job.did, "state": "JOB_STATE_FAILED",
                                   "error": "already_exists", "blob": job.blob})
            self.jobs[job_id] = Job(query["did"], req.body, token)
            return Reply(200, {"jobId": job_id, "did": query["did"],
                               "state": "JOB_STATE_CREATED"})
        if nsid == "app.bsky.video.getJobStatus":
            job = self.jobs.get(query.get("jobId", ""))
            if job is None:
                return Reply(404, {"error": "NotFound", "message": "job not found"})
            return Reply(200, {"jobStatus": self._advance(query["jobId"], job)})
        return Reply(400, {"error": "MethodNotImplemented", "message": nsid})

    def _advance(self, job_id: str, job: Job) -> dict[str, Any]:
        base = {"jobId": job_id, "did": job.did}
        if job.blob is None and job.state != "JOB_STATE_FAILED":
            job.polls += 1
            if self.fail_with is not None:
                job.state = "JOB_STATE_FAILED"
            elif not self.hold and job.polls > self.polls_before_done:
                answer = requests.post(f"{self.pds_url}/xrpc/com.atproto.repo.uploadBlob",
                                       data=job.data, timeout=30,
                                       headers={"Authorization": f"Bearer {job.token}",
                                                "Content-Type": "video/mp4"})
                answer.raise_for_status()
                job.blob, job.state = answer.json()["blob"], "JOB_STATE_COMPLETED"
            else:
                job.state = "JOB_STATE_ENCODING"
        if job.state == "JOB_STATE_FAILED":
            return {**base, "state": job.state, "error": "processing_failed",
                    "message": self.fail_with or "failed"}
        if job.blob is not None:
            return {**base, "state": job.state, "progress": 100, "blob": job.blob}
        return {**base, "state": job.state, "progress": min(99, job.polls * 30)}
