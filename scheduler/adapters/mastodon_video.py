"""Mastodon video: one upload, processed asynchronously, then the status.

Flow (https://docs.joinmastodon.org/methods/media/#v2):

1. ``POST /api/v2/media`` multipart ``file`` (the MP4), ``description`` (the alt text)
   and ``thumbnail`` (the cover). A video is processed in the background, so the answer
   is ``202 Accepted`` with ``url: null``; its ``id`` is recorded at once, so a restart
   polls the same upload instead of sending the file again. The instance's
   ``configuration.media_attachments.video_size_limit`` is checked first.
2. ``GET /api/v1/media/:id`` (https://docs.joinmastodon.org/methods/media/#get): ``206``
   while processing, ``200`` with ``url`` once done, ``422`` ``{"error": "Error
   processing thumbnail for uploaded media"}`` when processing failed
   (``check_processing`` in Mastodon's ``Api::V1::MediaController``), and ``404`` when the
   unattached upload was removed (Mastodon's ``media_cleanup`` after a day). Polled
   within :data:`~scheduler.adapters.base.VIDEO_WAIT_BUDGET`.
3. The status names the media id, as for images.

Captions: Mastodon takes no caption file, so the video profile has them burned into the
picture by the render (``captions_sidecar`` is False).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scheduler.adapters.base import OutgoingPost, PlannedRequest, Processing
from scheduler.adapters.http import error_message_of, raise_for_status, redact
from scheduler.adapters.outgoing import StreamedForm, VideoBody
from scheduler.adapters.processing import recorded_video
from scheduler.errors import PermanentPublishError, TransientPublishError

if TYPE_CHECKING:
    from scheduler.adapters.mastodon import MastodonAdapter

#: Unattached media are removed after a day by default; a recorded upload older than
#: this is sent again.
KEEP = timedelta(hours=20)


class MastodonVideo:
    """Uploads one post's video for a :class:`MastodonAdapter`."""

    def __init__(self, adapter: MastodonAdapter) -> None:
        self.adapter = adapter

    def media_id(self, post: OutgoingPost, size_limit: int | None) -> str:
        video = post.video
        assert video is not None
        if size_limit is not None and video.size > size_limit:
            raise PermanentPublishError(
                f"mastodon '{self.adapter.channel}': the video is {video.size:,} bytes; this "
                f"instance takes at most {size_limit:,}")
        state = self._state(post)
        if not state:
            media_id, ready = self._upload(post)
            state = {"id": media_id, "sha256": video.sha256, "ready": ready,
                     "at": self.adapter.clock.now().isoformat()}
            self.adapter.remember(post, video=state)
        media_id = str(state["id"])
        if not state.get("ready"):
            self.adapter.await_processing(
                post, f"video {media_id}", lambda: self._status(post, media_id),
                self.adapter.sleep, forget=lambda: self.adapter.remember(post, video=None))
            self.adapter.remember(post, video={**state, "ready": True})
        return media_id

    def _state(self, post: OutgoingPost) -> dict[str, Any]:
        return recorded_video(self.adapter, post, KEEP)

    def _files(self, post: OutgoingPost, data: bytes | VideoBody) -> dict[str, Any]:
        video = post.video
        assert video is not None
        files: dict[str, Any] = {"file": ("video.mp4", data, video.mime)}
        if video.cover is not None:
            cover = video.cover
            files["thumbnail"] = ("cover.jpg", cover.read_bytes(), cover.mime)
        return files

    def _upload(self, post: OutgoingPost) -> tuple[str, bool]:
        video = post.video
        assert video is not None
        # Uploading publishes nothing, so a lost answer is only transient. The video is
        # streamed in the form (up to the instance's limit, 99 MiB on mastodon.social).
        form = StreamedForm({"description": video.alt}, self._files(post, video.body()))
        response = self.adapter.http.request(
            "POST", "/api/v2/media", headers=self.adapter.auth(),
            content=(form, form.content_type), idempotent=True)
        media = response.json()
        return str(media["id"]), response.status_code == 200 and bool(media.get("url"))

    def _status(self, post: OutgoingPost, media_id: str) -> Processing:
        adapter = self.adapter
        response = adapter.http.request("GET", f"/api/v1/media/{media_id}",
                                        headers=adapter.auth(), check=False)
        if response.status_code == 422:
            return Processing("failed", detail=redact(error_message_of(response),
                                                      adapter.secrets()))
        if response.status_code == 404:
            adapter.remember(post, video=None)
            raise TransientPublishError(
                f"mastodon '{adapter.channel}': the uploaded video {media_id} is gone from "
                "the instance (unattached uploads are removed); it is uploaded again")
        raise_for_status(response, platform=adapter.http.platform, secrets=adapter.secrets(),
                         now=adapter.clock.now())
        if response.status_code == 200 and response.json().get("url"):
            return Processing("done")
        return Processing("pending")

    def plan(self, post: OutgoingPost, auth: dict[str, str]) -> list[PlannedRequest]:
        video = post.video
        assert video is not None
        http = self.adapter.http
        upload = http.plan("POST", "/api/v2/media", headers=auth,
                           data={"description": video.alt},
                           files=self._files(post, b""))
        assert isinstance(upload.body, dict)
        # The file is described by its recorded size and hash, not read for a dry run.
        body = {**upload.body,
                "file": f"video.mp4 <{video.size} bytes {video.mime} sha256={video.sha256}>"}
        return [PlannedRequest(upload.method, upload.url, upload.headers, body),
                http.plan("GET", "/api/v1/media/<video id>", headers=auth)]
