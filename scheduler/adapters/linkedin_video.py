"""Video on LinkedIn through the Videos API, then the post once the video is AVAILABLE.

Flow (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api):

1. ``POST /rest/videos?action=initializeUpload`` ``{"initializeUploadRequest": {"owner",
   "fileSizeBytes", "uploadCaptions", "uploadThumbnail"}}`` → ``value.video`` (a video
   URN), ``uploadToken``, ``uploadInstructions`` (``uploadUrl``, ``firstByte``,
   ``lastByte`` per part), ``captionsUploadUrl``, ``thumbnailUploadUrl`` and
   ``uploadUrlsExpireAt``. All of it is recorded before the first byte goes out.
2. ``PUT`` each part's bytes to its ``uploadUrl``; each answer's ``ETag`` is recorded as it
   arrives, so a restart sends only the parts not yet acknowledged. Upload addresses
   expire (``uploadUrlsExpireAt``): an upload not finalised by then starts over with a
   new video, which shows nowhere.
3. ``PUT`` the captions (SubRip, converted from the approved WebVTT) to
   ``captionsUploadUrl`` and the cover image to ``thumbnailUploadUrl``.
4. ``POST /rest/videos?action=finalizeUpload`` ``{"finalizeUploadRequest": {"video",
   "uploadToken", "uploadedPartIds": [ETags in order]}}``.
5. ``GET /rest/videos/{urn}`` until ``status`` is ``AVAILABLE`` (``PROCESSING`` and
   ``WAITING_UPLOAD`` wait; ``PROCESSING_FAILED`` fails with LinkedIn's
   ``processingFailureReason``), within one call's video budget; a later attempt polls the
   same video again.
6. ``POST /rest/posts`` with ``content.media.id`` = the video URN: only now is anything
   public, through the same exactly-once rule as image posts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from scheduler.adapters.base import OutgoingPost, OutgoingVideo, PlannedRequest, Processing
from scheduler.adapters.http import HttpAdapter, S, redact
from scheduler.adapters.transport import credential_may_go_to
from scheduler.errors import PermanentPublishError, TransientPublishError

#: Hosts (and their sub-domains) that may receive the access token besides ``base_url``.
LINKEDIN_DOMAINS = ("linkedin.com",)
_VIDEO_KEYS = ("video", "upload_token", "parts", "captions_url", "thumbnail_url",
               "urls_expire", "etags", "captions_sent", "thumbnail_sent", "finalized")


def part_bytes(video: OutgoingVideo, parts: list[dict[str, int]],
               start: int) -> Iterator[bytes]:
    """The bytes of ``parts[start:]`` in order, read once from the file (and re-hashed
    as :meth:`OutgoingVideo.chunks` does, so the last part waits for the hash check)."""
    if start >= len(parts):
        return
    first = parts[start]["first"]
    stream = video.chunks(max(parts[start]["last"] - first + 1, 1), start=first)
    buffer = b""
    for part in parts[start:]:
        need = part["last"] - part["first"] + 1
        while len(buffer) < need:
            block = next(stream, None)
            if block is None:
                raise PermanentPublishError(f"video file {video.path} is shorter than the "
                                            "upload LinkedIn was told of")
            buffer += block
        yield buffer[:need]
        buffer = buffer[need:]
    for _rest in stream:  # let the hash check run to the end of the file
        pass


class LinkedInVideoFlow(HttpAdapter[S]):
    """The video half of the ``linkedin`` adapter (see the module docstring)."""

    #: The LinkedIn calls of the image flow, implemented by the adapter.
    _call: Any
    _headers: Any
    _init_body: Any

    def upload_video(self, post: OutgoingPost) -> str:
        """The URN of ``post``'s video, uploaded, finalised and AVAILABLE."""
        video = post.video
        assert video is not None
        state = self.progress(post)
        if state.get("video") and not state.get("finalized") and self._expired(state):
            state = self.remember(post, **dict.fromkeys(_VIDEO_KEYS))
        if not state.get("video"):
            state = self._initialize(post, video)
        urn = str(state["video"])
        if not state.get("finalized"):
            etags = [str(e) for e in state.get("etags") or []]
            parts = list(state.get("parts") or [])
            for n, data in enumerate(part_bytes(video, parts, len(etags)), start=len(etags)):
                response = self._put(str(parts[n]["url"]), data, "application/octet-stream")
                etag = response.headers.get("ETag") or response.headers.get("etag")
                if not etag:
                    raise TransientPublishError(f"{self.http.platform}: part {n + 1} of the "
                                                "video was answered without an ETag")
                etags.append(etag)
                self.remember(post, etags=etags)
            self._sidecars(post, video, state)
            self._call("POST", "/rest/videos", params={"action": "finalizeUpload"},
                       json_body={"finalizeUploadRequest": {
                           "video": urn, "uploadToken": str(state.get("upload_token") or ""),
                           "uploadedPartIds": etags}}, idempotent=True)
            self.remember(post, finalized=True)
        self._await_available(post, urn)
        return urn

    def _initialize(self, post: OutgoingPost, video: OutgoingVideo) -> dict[str, Any]:
        # Registering an upload shows nothing: repeating it is harmless.
        body = self._init_body()
        body["initializeUploadRequest"].update(
            fileSizeBytes=video.size, uploadCaptions=video.captions_vtt is not None,
            uploadThumbnail=video.cover is not None)
        doc = self._call("POST", "/rest/videos", params={"action": "initializeUpload"},
                         json_body=body, idempotent=True).json()
        value = doc.get("value") or {}
        parts = [{"url": str(i["uploadUrl"]), "first": int(i["firstByte"]),
                  "last": int(i["lastByte"])} for i in value.get("uploadInstructions") or []]
        if not parts or parts[-1]["last"] + 1 != video.size:
            raise PermanentPublishError(f"{self.http.platform}: LinkedIn's upload instructions "
                                        f"do not cover the {video.size:,}-byte video")
        return self.remember(post, video=str(value["video"]),
                             upload_token=str(value.get("uploadToken") or ""), parts=parts,
                             captions_url=value.get("captionsUploadUrl"),
                             thumbnail_url=value.get("thumbnailUploadUrl"),
                             urls_expire=value.get("uploadUrlsExpireAt"), etags=[])

    def _expired(self, state: dict[str, Any]) -> bool:
        expires = state.get("urls_expire")
        if not isinstance(expires, int | float):
            return False
        return self.clock.now() >= datetime.fromtimestamp(expires / 1000, UTC)

    def _sidecars(self, post: OutgoingPost, video: OutgoingVideo, state: dict[str, Any]) -> None:
        """Captions (SubRip) and the cover, each once."""
        if video.captions_vtt is not None and state.get("captions_url") and \
                not self.progress(post).get("captions_sent"):
            from scheduler.media.video.captions import srt_from_webvtt

            srt = srt_from_webvtt(video.captions_vtt).encode("utf-8")
            self._put(str(state["captions_url"]), srt, "application/x-subrip")
            self.remember(post, captions_sent=True)
        if video.cover is not None and state.get("thumbnail_url") and \
                not self.progress(post).get("thumbnail_sent"):
            self._put(str(state["thumbnail_url"]), video.cover.read_bytes(), video.cover.mime)
            self.remember(post, thumbnail_sent=True)

    def _put(self, url: str, data: bytes, mime: str) -> Any:
        # The bearer token goes with the bytes, so only to LinkedIn over https or base_url.
        if not credential_may_go_to(url, self._settings.base_url, LINKEDIN_DOMAINS):
            raise PermanentPublishError(
                f"{self.http.platform}: the upload address LinkedIn gave "
                f"({redact(url, self.secrets())}) is not on {LINKEDIN_DOMAINS[0]} over "
                "https; the access token was not sent there")
        return self._call("PUT", url, content=(data, mime))

    def _await_available(self, post: OutgoingPost, urn: str) -> None:
        def poll() -> Processing:
            doc = self._call("GET", f"/rest/videos/{quote(urn, safe='')}").json()
            status = str(doc.get("status") or "") if isinstance(doc, dict) else ""
            if status == "AVAILABLE":
                return Processing("done")
            if status == "PROCESSING_FAILED":
                reason = doc.get("processingFailureReason") or "PROCESSING_FAILED"
                return Processing("failed", detail=f"{urn}: {reason}")
            return Processing("pending")

        self.await_processing(post, f"the video {urn}", poll, self.sleep,
                              forget=lambda: self.remember(post, **dict.fromkeys(_VIDEO_KEYS)))

    def plan_video(self, post: OutgoingPost, headers: dict[str, str]) -> list[PlannedRequest]:
        video = post.video
        assert video is not None
        body = self._init_body()
        body["initializeUploadRequest"].update(
            fileSizeBytes=video.size, uploadCaptions=video.captions_vtt is not None,
            uploadThumbnail=video.cover is not None)
        planned = [
            self.http.plan("POST", "/rest/videos?action=initializeUpload", headers=headers,
                           json_body=body),
            PlannedRequest("PUT", "<uploadUrl of each part>", headers,
                           f"<{video.mime}, {video.size:,} bytes in LinkedIn's parts>"),
        ]
        if video.captions_vtt is not None:
            planned.append(PlannedRequest("PUT", "<captionsUploadUrl>", headers,
                                          "<captions as SubRip, from the approved WebVTT>"))
        if video.cover is not None:
            planned.append(PlannedRequest("PUT", "<thumbnailUploadUrl>", headers,
                                          f"<{video.cover.mime} cover>"))
        planned.append(self.http.plan(
            "POST", "/rest/videos?action=finalizeUpload", headers=headers,
            json_body={"finalizeUploadRequest": {"video": "<video URN>",
                                                 "uploadToken": "<uploadToken>",
                                                 "uploadedPartIds": ["<ETag of each part>"]}}))
        planned.append(self.http.plan("GET", "/rest/videos/<video URN>", headers=headers))
        return planned
