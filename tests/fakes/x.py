"""X API v2: media upload, posts, the account's timeline.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, form_of, json_of
from tests.fakes.x_video import XVideoUploads
from tests.peers import LocalServer, Recorded, Reply

# -- X -------------------------------------------------------------------------------------


def problem(status: int, title: str, detail: str, kind: str = "about:blank",
            headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status},
                 headers={"Content-Type": "application/problem+json", **(headers or {})})


class FakeX(FakePlatform):
    """X API v2: media upload and metadata, posts, the account's timeline.

    Stored texts look like X's: links become t.co links, a link to the attached media is
    appended and ``&<>`` are HTML-escaped, which is what ``check`` has to see through.
    """

    permanent_text = "Your Tweet text is too long. For more information on how to write a Tweet"
    #: X refuses a post whose text repeats a recent one of the account with 403
    #: https://docs.x.com/x-api/fundamentals/response-codes-and-errors ("duplicate content").
    duplicate_text = "You are not allowed to create a Tweet with duplicate content."

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW,
                 auth_check: Callable[[Recorded], bool] | None = None) -> None:
        super().__init__(server, token, now=now)
        self.media: dict[str, dict[str, Any]] = {}
        self.tweets: list[dict[str, Any]] = []
        self.auth_check = auth_check or self.authorised
        #: The chunked video uploads (:mod:`tests.fakes.x_video`).
        self.video = XVideoUploads(self.new_id, problem)

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return problem(503, "Service Unavailable", "Service Unavailable")
        if mode == "rate_limit":
            reset = int(self.now.timestamp()) + 600
            return problem(429, "Too Many Requests", "Too Many Requests", headers={
                "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset)})
        if mode == "permanent":
            return problem(400, "Invalid Request", self.permanent_text)
        if mode == "expired_token":
            return problem(401, "Unauthorized", "Unauthorized")
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if not self.auth_check(req):
            return problem(401, "Unauthorized", "Unauthorized")
        answer = self.video.handle(req, path, query)
        if answer is not None:
            return answer
        if req.method == "POST" and path == "/2/media/upload":
            form = form_of(req)
            media = form.get("media")
            if isinstance(media, tuple) and form.get("media_category") == "subtitles":
                return self.video.one_shot_subtitles(media[1])
            if not isinstance(media, tuple) or form.get("media_category") != "tweet_image":
                return problem(400, "Invalid Request", "One or more parameters to your request "
                                                       "was invalid.")
            media_id = self.new_id()
            self.media[media_id] = {"bytes": media[1], "alt": None}
            return Reply(200, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                        "size": len(media[1]), "expires_after_secs": 86400}})
        if req.method == "POST" and path == "/2/media/metadata":
            doc = json_of(req) or {}
            if doc.get("id") in self.video.uploads:  # alt text of a video
                self.video.uploads[doc["id"]].alt = doc["metadata"]["alt_text"]["text"]
                return Reply(200, {"data": {"id": doc["id"],
                                            "associated_metadata": doc["metadata"]}})
            if doc.get("id") not in self.media:
                return problem(400, "Invalid Request", "media not found")
            self.media[doc["id"]]["alt"] = doc["metadata"]["alt_text"]["text"]
            return Reply(200, {"data": {"id": doc["id"], "associated_metadata": doc["metadata"]}})
        if req.method == "POST" and path == "/2/tweets":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode not in AFTER_CREATE:
                return self._failure(mode)
            doc = json_of(req) or {}
            ids = (doc.get("media") or {}).get("media_ids") or []
            if any(i not in self.media and not self.video.ready(i) for i in ids):
                return problem(400, "Invalid Request", "Your media IDs are invalid.")
            if any(t["sent"] == doc.get("text", "") for t in self.tweets):
                return problem(403, "Forbidden", self.duplicate_text)
            tweet_id = str(1_880_000_000_000_000_000 + len(self.tweets) + 1)
            text = re.sub(r"https?://\S+", "https://t.co/AbCdEf1234", doc.get("text", ""))
            if ids:
                text += " https://t.co/MeDiA56789"
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            self.tweets.append({"id": tweet_id, "text": text, "media": ids,
                                "sent": doc.get("text", ""),
                                "created_at": self.now.isoformat().replace("+00:00", ".000Z")})
            self.created(tweet_id)
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(201, {"data": {"id": tweet_id, "text": text,
                                        "edit_history_tweet_ids": [tweet_id]}})
        if req.method == "DELETE" and path.startswith("/2/tweets/"):
            # {"data": {"deleted": true}} (https://docs.x.com/x-api/posts/delete-post); a
            # post that does not exist is a 404 problem document.
            mode = self.take_delete_failure()
            if mode:
                return self._failure(mode)
            wanted = path.rsplit("/", 1)[-1]
            for t in list(self.tweets):
                if t["id"] == wanted:
                    self.tweets.remove(t)
                    return Reply(200, {"data": {"deleted": True}})
            return problem(404, "Not Found Error", f"Could not find tweet with id: [{wanted}].")
        if req.method == "GET" and path.startswith("/2/tweets/"):
            wanted = path.rsplit("/", 1)[-1]
            for t in self.tweets:
                if t["id"] == wanted:
                    return Reply(200, {"data": {k: t[k] for k in ("id", "text", "created_at")}})
            # A missing post is a 200 with ``errors`` (X's partial-error shape).
            return Reply(200, {"errors": [{"title": "Not Found Error", "resource_id": wanted,
                                           "type": "https://api.twitter.com/2/problems/"
                                                   "resource-not-found"}]})
        if req.method == "GET" and path == "/2/users/me":
            return Reply(200, {"data": {"id": "2244994945", "name": "Careers",
                                        "username": "CareersGov"}})
        if req.method == "GET" and path == "/2/users/2244994945/tweets":
            shown = [t for t in reversed(self.tweets) if self.listed(t["id"])]
            rows = shown[: int(query.get("max_results", 10))]
            return Reply(200, {"data": [{k: t[k] for k in ("id", "text", "created_at")}
                                        for t in rows], "meta": {"result_count": len(rows)}})
        return problem(404, "Not Found Error", f"Could not find {path}")


