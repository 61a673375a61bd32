"""X's chunked media upload, processing and subtitles, for :class:`tests.fakes.x.FakeX`.

Documented behaviour played here:

* initialize / append / finalize
  (https://docs.x.com/x-api/media/quickstart/media-upload-chunked): ``total_bytes`` must
  equal what was appended, segments are ``0..999`` and appending one again replaces it;
  finalize answers ``processing_info`` for a video
  (https://docs.x.com/x-api/media/finalize-media-upload).
* processing (https://docs.x.com/x-api/media/get-media-upload-status):
  ``pending`` → ``in_progress`` → ``succeeded`` or ``failed`` with ``error.message``,
  asked with ``GET /2/media/upload?command=STATUS&media_id=``, with ``check_after_secs``.
  Processing can be held (a long video) and made to fail (an unsupported stream).
* a post naming a video that is not ``succeeded`` is refused: "Your media IDs are
  invalid." (https://docs.x.com/x-api/fundamentals/response-codes-and-errors).
* subtitles (https://docs.x.com/x-api/media/create-media-subtitles): a ``subtitles``
  upload of ``text/vtt`` (one-shot ``POST /2/media/upload``, or chunked) attached with
  ``POST /2/media/subtitles``; ``language_code`` is two capital letters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.common import form_of, json_of
from tests.peers import Recorded, Reply


@dataclass
class Upload:
    category: str
    mime: str
    total: int
    segments: dict[int, bytes] = field(default_factory=dict)
    state: str | None = None  # None until finalized; then pending/in_progress/succeeded/failed
    polls: int = 0
    alt: str | None = None
    subtitles: list[dict[str, Any]] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        return b"".join(self.segments[i] for i in sorted(self.segments))


class XVideoUploads:
    """The chunked upload endpoints; ``problem`` builds X's error documents."""

    #: Status asks answered ``in_progress`` before ``succeeded``.
    polls_before_done = 1
    check_after_secs = 2

    def __init__(self, new_id: Any, problem: Any) -> None:
        self.new_id = new_id
        self.problem = problem
        self.uploads: dict[str, Upload] = {}
        #: While True, processing never finishes (a long video).
        self.hold = False
        #: The reason the next video's processing fails with, if set.
        self.fail_with: str | None = None

    def one_shot_subtitles(self, data: bytes) -> Reply:
        """``POST /2/media/upload`` with ``media_category=subtitles``: ready at once."""
        media_id = self.new_id()
        self.uploads[media_id] = Upload("subtitles", "text/vtt", len(data), {0: data},
                                        state="succeeded")
        return Reply(200, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                    "size": len(data), "expires_after_secs": 86400}})

    def videos(self) -> list[Upload]:
        return [u for u in self.uploads.values() if u.category == "tweet_video"]

    def ready(self, media_id: str) -> bool:
        up = self.uploads.get(media_id)
        return up is not None and up.state == "succeeded" and up.category == "tweet_video"

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply | None:
        if req.method == "POST" and path == "/2/media/upload/initialize":
            doc = json_of(req) or {}
            if doc.get("media_category") not in ("tweet_video", "subtitles") or \
                    not isinstance(doc.get("total_bytes"), int):
                return self.problem(400, "Invalid Request", "One or more parameters to your "
                                    "request was invalid.")
            media_id = self.new_id()
            self.uploads[media_id] = Upload(doc["media_category"], str(doc.get("media_type")),
                                            doc["total_bytes"])
            return Reply(200, {"data": {"id": media_id, "media_key": f"7_{media_id}",
                                        "expires_after_secs": 86400}})
        m = re.fullmatch(r"/2/media/upload/(\d+)/(append|finalize)", path)
        if req.method == "POST" and m:
            up = self.uploads.get(m.group(1))
            if up is None:
                return self.problem(400, "Invalid Request", "media not found")
            if m.group(2) == "append":
                form = form_of(req)
                media, index = form.get("media"), int(form.get("segment_index", -1))
                if not isinstance(media, tuple) or not 0 <= index <= 999 or up.state:
                    return self.problem(400, "Invalid Request", "Segment index is invalid.")
                up.segments[index] = media[1]
                return Reply(200, {"data": {"expires_at": 1_800_000_000}})
            if len(up.data) != up.total:
                return self.problem(400, "Invalid Request", f"File size mismatch: got "
                                    f"{len(up.data)} bytes, expected {up.total}.")
            if up.category != "tweet_video":
                up.state = "succeeded"
                return Reply(200, {"data": {"id": m.group(1), "size": up.total}})
            up.state = "pending"
            return Reply(200, {"data": {"id": m.group(1), "size": up.total, "processing_info": {
                "state": "pending", "check_after_secs": self.check_after_secs}}})
        if req.method == "GET" and path == "/2/media/upload":
            up = self.uploads.get(query.get("media_id", ""))
            if up is None or query.get("command") != "STATUS":
                return self.problem(400, "Invalid Request", "media not found")
            return Reply(200, {"data": {"id": query["media_id"],
                                        "processing_info": self._advance(up)}})
        if req.method == "POST" and path == "/2/media/subtitles":
            doc = json_of(req) or {}
            video, track = self.uploads.get(doc.get("id", "")), doc.get("subtitles") or {}
            ok = (video is not None and track.get("id") in self.uploads
                  and self.uploads[track["id"]].category == "subtitles"
                  and re.fullmatch(r"[A-Z]{2}", str(track.get("language_code"))))
            if not ok or video is None:
                return self.problem(400, "Invalid Request", "subtitles are invalid")
            video.subtitles.append({**track, "vtt": self.uploads[track["id"]].data})
            return Reply(200, {"data": {"id": doc["id"], "media_category": "TweetVideo",
                                        "associated_subtitles": track}})
        return None

    def _advance(self, up: Upload) -> dict[str, Any]:
        if up.state in ("succeeded", "failed"):
            return self._info(up)
        if self.fail_with is not None:
            up.state = "failed"
            return {"state": "failed", "progress_percent": 12, "error": {
                "code": 1, "name": "InvalidMedia", "message": self.fail_with}}
        up.polls += 1
        if self.hold or up.polls <= self.polls_before_done:
            up.state = "in_progress"
        else:
            up.state = "succeeded"
        return self._info(up)

    def _info(self, up: Upload) -> dict[str, Any]:
        if up.state == "succeeded":
            return {"state": "succeeded", "progress_percent": 100}
        if up.state == "failed":
            return {"state": "failed", "error": {"code": 1, "name": "InvalidMedia",
                                                 "message": self.fail_with or "failed"}}
        return {"state": up.state, "check_after_secs": self.check_after_secs,
                "progress_percent": 40}
