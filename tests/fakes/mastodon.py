"""A Mastodon instance: v2 media, statuses, the account's timeline.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, form_of, json_of
from tests.peers import LocalServer, Recorded, Reply

# -- Mastodon ------------------------------------------------------------------------------


class FakeMastodon(FakePlatform):
    """Media, statuses (with Idempotency-Key) and the account's statuses."""

    permanent_text = "Validation failed: Text character limit of 500 exceeded"

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.statuses: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        #: Uploaded media and how many more polls each needs before it is processed.
        self.media: dict[str, int] = {}
        #: Polls of ``GET /api/v1/media/:id`` an upload needs (0: answered 200 at once).
        self.processing_polls = 1
        #: Uploaded videos: their form fields, as received.
        self.videos: dict[str, dict[str, Any]] = {}
        #: While True a video's processing never ends (a long video); with ``fail_video``
        #: set it fails, and the media call answers Mastodon's 422.
        self.hold_video = False
        self.fail_video = False

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return Reply(503, {"error": "Service Unavailable"})
        if mode == "rate_limit":
            reset = (self.now + timedelta(seconds=300)).isoformat().replace("+00:00", "Z")
            return Reply(429, {"error": "Too many requests"},
                         headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                  "X-RateLimit-Reset": reset})
        if mode == "permanent":
            return Reply(422, {"error": self.permanent_text})
        if mode == "expired_token":
            return Reply(401, {"error": "The access token is invalid"})
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if path == "/api/v2/instance":
            return Reply(200, {"configuration": {"statuses": {"max_characters": 500}}})
        if not self.authorised(req):
            return Reply(401, {"error": "The access token is invalid"})
        if req.method == "POST" and path == "/api/v2/media":
            # 202 with url null while the server processes the file; the client polls
            # GET /api/v1/media/:id (206 while processing, 200 when done):
            # https://docs.joinmastodon.org/methods/media/#v2
            media_id = self.new_id()
            self.media[media_id] = self.processing_polls
            form = form_of(req)
            upload = form.get("file")
            if isinstance(upload, tuple) and str(upload[0]).endswith(".mp4"):
                # Videos are always transcoded in the background: 202, url null.
                self.videos[media_id] = form
                self.media[media_id] = max(self.processing_polls, 1)
                return Reply(202, {"id": media_id, "type": "video", "url": None,
                                   "description": form.get("description")})
            if self.processing_polls:
                return Reply(202, {"id": media_id, "type": "image", "url": None})
            return Reply(200, {"id": media_id, "type": "image", "url": "https://files/1.jpg"})
        if req.method == "GET" and path.startswith("/api/v1/media/"):
            media_id = path.rsplit("/", 1)[-1]
            if media_id not in self.media:
                return Reply(404, {"error": "Record not found"})
            if media_id in self.videos and self.fail_video:
                # Api::V1::MediaController#check_processing
                return Reply(422, {"error": "Error processing thumbnail for uploaded media"})
            if media_id in self.videos and self.hold_video:
                return Reply(206, {"id": media_id, "type": "video", "url": None})
            if self.media[media_id] > 0:
                self.media[media_id] -= 1
                return Reply(206, {"id": media_id, "type": "image", "url": None})
            return Reply(200, {"id": media_id, "type": "image", "url": "https://files/1.jpg"})
        if req.method == "POST" and path == "/api/v1/statuses":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode not in AFTER_CREATE:
                return self._failure(mode)
            key = req.headers.get("Idempotency-Key", "")
            status = self.keys.get(key) if key else None
            if status is None:
                doc = json_of(req) or {}
                sid = self.new_id()
                if any(m not in self.media or self.media[m] > 0
                       for m in doc.get("media_ids") or []):
                    return Reply(422, {"error": "Validation failed: Cannot attach files that "
                                                "have not finished processing. Try again in a "
                                                "moment!"})
                status = {"id": sid, "url": f"https://social.example/@careers/{sid}",
                          "created_at": self.now.isoformat().replace("+00:00", ".000Z"),
                          "content": render_html(doc.get("status", ""))}
                self.statuses.append(status)
                self.created(sid)
                if key:
                    self.keys[key] = status
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(200, status)
        if path == "/api/v1/accounts/verify_credentials":
            return Reply(200, {"id": "42", "acct": "careers", "username": "careers"})
        if path == "/api/v1/accounts/42/statuses":
            shown = [st for st in reversed(self.statuses) if self.listed(st["id"])]
            return Reply(200, shown[: int(query.get("limit", 20))])
        if req.method == "DELETE" and path.startswith("/api/v1/statuses/"):
            # The deleted status comes back, with its source text for "delete and redraft";
            # an unknown id is 404 (https://docs.joinmastodon.org/methods/statuses/#delete).
            mode = self.take_delete_failure()
            if mode:
                return self._failure(mode)
            sid = path.rsplit("/", 1)[-1]
            for st in list(self.statuses):
                if st["id"] == sid:
                    self.statuses.remove(st)
                    return Reply(200, {**st, "text": html.unescape(
                        re.sub(r"<[^>]+>", "", st["content"]))})
            return Reply(404, {"error": "Record not found"})
        if req.method == "GET" and path.startswith("/api/v1/statuses/"):
            sid = path.rsplit("/", 1)[-1]
            for st in self.statuses:
                if st["id"] == sid:
                    return Reply(200, st)
        return Reply(404, {"error": "Record not found"})




def render_html(text: str) -> str:
    """A status as Mastodon renders it: Rails ``simple_format`` after linkifying, so two or
    more newlines make one paragraph break and a single newline is ``<br />``; links get
    hidden ``invisible`` parts around a shortened ``ellipsis`` part
    (https://github.com/mastodon/mastodon/blob/main/app/lib/text_formatter.rb).
    """
    def link(m: re.Match[str]) -> str:
        url = m.group(0)
        prefix = re.match(r"https?://(www\.)?", url).group(0)  # type: ignore[union-attr]
        rest = url[len(prefix):]
        return (f'<a href="{url}" rel="nofollow noopener" translate="no" target="_blank">'
                f'<span class="invisible">{prefix}</span><span class="ellipsis">{rest[:30]}'
                f'</span><span class="invisible">{rest[30:]}</span></a>')

    escaped = html.escape(text.strip()).replace("&#x27;", "&#39;")
    paragraphs = re.split(r"\n\s*\n", escaped)
    return "".join("<p>" + re.sub(r"https?://\S+", link, p).replace("\n", "<br />") + "</p>"
                   for p in paragraphs)
