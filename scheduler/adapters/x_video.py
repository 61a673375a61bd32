"""X video: the chunked upload, processing, alt text and subtitles, before the post.

Flow (https://docs.x.com/x-api/media/quickstart/media-upload-chunked):

1. ``POST /2/media/upload/initialize`` ``{"media_type": "video/mp4", "total_bytes",
   "media_category": "tweet_video"}`` → ``data.id`` (the upload is kept
   ``expires_after_secs``, a day).
2. ``POST /2/media/upload/{id}/append`` multipart ``media`` + ``segment_index`` (0..999)
   for each piece, in order. Each appended piece is recorded before the next, so a
   restart continues at the next segment of the same upload; appending a segment again
   replaces it, so the one piece that may have arrived unrecorded is simply resent.
3. ``POST /2/media/upload/{id}/finalize`` → ``processing_info`` when X processes the
   video; then ``GET /2/media/upload?command=STATUS&media_id={id}``
   (https://docs.x.com/x-api/media/get-media-upload-status) until ``state`` is
   ``succeeded`` (``pending`` → ``in_progress`` → ``succeeded``/``failed``), waiting
   ``check_after_secs`` between asks, within :data:`~scheduler.adapters.base.VIDEO_WAIT_BUDGET`.
   ``failed`` carries ``error.message``, quoted in the failure.
4. ``POST /2/media/metadata`` for the alt text, as for images.
5. Subtitles (https://docs.x.com/x-api/media/create-media-subtitles): the ``.vtt`` file
   goes up in one call (``POST /2/media/upload``, ``media_category=subtitles``; a caption
   file is small), then ``POST /2/media/subtitles`` ``{"id": <video>,
   "media_category": "TweetVideo", "subtitles": {"id": <file>, "language_code": "EN",
   "display_name": "English"}}`` attaches it before the post.

Every step's result is recorded in ``remote_state["video"]``; the post itself is made by
:class:`~scheduler.adapters.x.XAdapter` with the video's id.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from scheduler.adapters.base import OutgoingPost, PlannedRequest, Processing
from scheduler.adapters.outgoing import CHUNK, OutgoingVideo
from scheduler.adapters.processing import recorded_video

if TYPE_CHECKING:
    from scheduler.adapters.x import XAdapter

#: X keeps an upload for a day (``expires_after_secs``); an older recorded one is redone.
KEEP = timedelta(hours=20)
#: Language names X shows in its subtitle menu, for the languages postq posts in most.
_NAMES = {"EN": "English", "CY": "Cymraeg", "GA": "Gaeilge", "FR": "Français",
          "DE": "Deutsch", "ES": "Español", "IT": "Italiano", "NL": "Nederlands",
          "PT": "Português", "PL": "Polski"}


def language_of(post: OutgoingPost) -> tuple[str, str]:
    """X's two capital letters (``^[A-Z]{2}$``) and a display name for the captions."""
    code = (post.language.split("-")[0] or "en").upper()[:2]
    return code, _NAMES.get(code, code)


class XVideo:
    """Uploads one post's video (and its subtitles) for an :class:`XAdapter`."""

    def __init__(self, adapter: XAdapter) -> None:
        self.adapter = adapter
        #: Piece size of the append calls (X takes up to 5 MB each).
        self.chunk = CHUNK

    # -- recorded state -----------------------------------------------------------------
    def _state(self, post: OutgoingPost) -> dict[str, Any]:
        return recorded_video(self.adapter, post, KEEP)

    def _save(self, post: OutgoingPost, state: dict[str, Any]) -> dict[str, Any]:
        self.adapter.remember(post, video=state)
        return state

    # -- the flow -----------------------------------------------------------------------
    def media_id(self, post: OutgoingPost) -> str:
        """The id of the processed video, with its alt text and subtitles attached."""
        video = post.video
        assert video is not None
        state = self._state(post)
        if not state.get("id"):
            media_id = self._initialize(video.mime, video.size, "tweet_video")
            state = self._save(post, {"id": media_id, "sha256": video.sha256, "next": 0,
                                      "sent": 0, "at": self.adapter.clock.now().isoformat()})
        media_id = str(state["id"])
        if not state.get("finalized"):
            segment, sent = int(state.get("next", 0)), int(state.get("sent", 0))
            for piece in video.chunks(self.chunk, start=sent):
                self._append(media_id, segment, piece, video.mime)
                segment, sent = segment + 1, sent + len(piece)
                state = self._save(post, {**state, "next": segment, "sent": sent})
            info = self._finalize(media_id)
            state = self._save(post, {**state, "finalized": True})
            if info is not None:
                self.adapter.await_processing(
                    post, f"video {media_id}", lambda: self._status(media_id),
                    self.adapter.sleep, forget=lambda: self.adapter.remember(post, video=None))
            state = self._save(post, {**state, "processed": True})
        elif not state.get("processed"):
            self.adapter.await_processing(
                post, f"video {media_id}", lambda: self._status(media_id), self.adapter.sleep,
                forget=lambda: self.adapter.remember(post, video=None))
            state = self._save(post, {**state, "processed": True})
        if video.alt and not state.get("alt"):
            self.adapter.call("POST", "/2/media/metadata",
                              json_body=alt_body(media_id, video.alt), idempotent=True)
            state = self._save(post, {**state, "alt": True})
        if video.captions_bytes is not None and not state.get("subtitles"):
            self._attach_subtitles(post, video, media_id, state)
        return media_id

    def _attach_subtitles(self, post: OutgoingPost, video: OutgoingVideo, media_id: str,
                          state: dict[str, Any]) -> None:
        data = video.captions_bytes or b""
        track = state.get("track")
        if not track:
            # A caption file is small: the one-shot upload takes it in one call.
            doc = self.adapter.call("POST", "/2/media/upload",
                                    files={"media": ("captions.vtt", data, "text/vtt")},
                                    data={"media_category": "subtitles"}, idempotent=True).json()
            track = str(doc["data"]["id"])
            state = self._save(post, {**state, "track": track})
        code, name = language_of(post)
        self.adapter.call("POST", "/2/media/subtitles", json_body=subtitles_body(
            media_id, str(track), code, name), idempotent=True)
        self._save(post, {**state, "subtitles": True})

    # -- calls --------------------------------------------------------------------------
    def _initialize(self, mime: str, size: int, category: str) -> str:
        # An upload is shown nowhere until a post uses it: a lost answer is only transient.
        doc = self.adapter.call("POST", "/2/media/upload/initialize", json_body={
            "media_type": mime, "total_bytes": size, "media_category": category},
            idempotent=True).json()
        return str(doc["data"]["id"])

    def _append(self, media_id: str, segment: int, piece: bytes, mime: str) -> None:
        self.adapter.call("POST", f"/2/media/upload/{media_id}/append",
                          files={"media": ("blob", piece, "application/octet-stream")},
                          data={"segment_index": str(segment)}, idempotent=True)

    def _finalize(self, media_id: str) -> dict[str, Any] | None:
        doc = self.adapter.call("POST", f"/2/media/upload/{media_id}/finalize",
                                idempotent=True).json()
        info = (doc.get("data") or {}).get("processing_info") if isinstance(doc, dict) else None
        return info if isinstance(info, dict) else None

    def _status(self, media_id: str) -> Processing:
        doc = self.adapter.call("GET", "/2/media/upload",
                                params={"command": "STATUS", "media_id": media_id}).json()
        data = doc.get("data") if isinstance(doc, dict) else None
        info = (data or {}).get("processing_info") if isinstance(data, dict) else None
        if not isinstance(info, dict):
            return Processing("done")
        state = str(info.get("state") or "")
        wait = info.get("check_after_secs")
        wait = float(wait) if isinstance(wait, int | float) else None
        if state == "succeeded":
            return Processing("done")
        if state == "failed":
            error = info.get("error") if isinstance(info.get("error"), dict) else {}
            detail = str(error.get("message") or error.get("name") or "failed")
            return Processing("failed", detail=detail)
        return Processing("pending", wait=wait)

    # -- dry runs -----------------------------------------------------------------------
    def plan(self, post: OutgoingPost, auth: dict[str, str]) -> list[PlannedRequest]:
        video = post.video
        assert video is not None
        http = self.adapter.http
        pieces = max(1, -(-video.size // self.chunk))
        out = [http.plan("POST", "/2/media/upload/initialize", headers=auth, json_body={
            "media_type": video.mime, "total_bytes": video.size,
            "media_category": "tweet_video"})]
        for n in range(pieces):
            size = min(self.chunk, video.size - n * self.chunk)
            out.append(PlannedRequest("POST", http.url("/2/media/upload/<video id>/append"),
                                      dict(auth), {"segment_index": n,
                                                   "media": f"<{size} bytes of the video>"}))
        out.append(http.plan("POST", "/2/media/upload/<video id>/finalize", headers=auth))
        out.append(http.plan("GET", "/2/media/upload?command=STATUS&media_id=<video id>",
                             headers=auth))
        if video.alt:
            out.append(http.plan("POST", "/2/media/metadata", headers=auth,
                                 json_body=alt_body("<video id>", video.alt)))
        if video.captions_bytes is not None:
            out.append(http.plan("POST", "/2/media/upload", headers=auth,
                                 files={"media": ("captions.vtt", video.captions_bytes,
                                                  "text/vtt")},
                                 data={"media_category": "subtitles"}))
            code, name = language_of(post)
            out.append(http.plan("POST", "/2/media/subtitles", headers=auth, json_body=(
                subtitles_body("<video id>", "<track id>", code, name))))
        return out


def alt_body(media_id: str, alt: str) -> dict[str, Any]:
    return {"id": media_id, "metadata": {"alt_text": {"text": alt}}}


def subtitles_body(media_id: str, track: str, code: str, name: str) -> dict[str, Any]:
    return {"id": media_id, "media_category": "TweetVideo",
            "subtitles": {"id": track, "language_code": code, "display_name": name}}
