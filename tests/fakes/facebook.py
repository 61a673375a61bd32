"""A Facebook Page (photos and feed) on Meta's Graph API.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, form_of
from tests.fakes.meta import comments, meta_error, meta_failure
from tests.peers import LocalServer, Recorded, Reply

# -- Facebook Page -----------------------------------------------------------------------


class FakeFacebookPage(FakePlatform):
    """``/{page}/photos``, ``/{page}/feed`` and ``/{page}/posts`` of a Page."""

    permanent_text = "The message is too long for a Page post."

    def __init__(self, server: LocalServer, token: str, *, page: str = "104000000000001",
                 now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.page = page
        self.photos: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []

    def _failure(self, mode: str) -> Reply:
        if mode == "rate_limit":
            usage = {self.page: [{"type": "pages", "call_count": 100, "total_cputime": 9,
                                  "total_time": 9, "estimated_time_to_regain_access": 5}]}
            return meta_error(80001, "There have been too many calls to this Page account. "
                                     "Wait a bit and try again.",
                              headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
        if mode == "permanent":
            return meta_error(100, "Invalid parameter", user_msg=self.permanent_text)
        return meta_failure(mode)

    def _duplicate(self, message: str) -> Reply | None:
        """Code 506 for a repeat of a recent post's message
        (https://developers.facebook.com/docs/graph-api/guides/error-handling/)."""
        if message and any(p["message"] == message for p in self.posts):
            return meta_error(506, "Duplicate status message")
        return None

    def _new_post(self, message: str, photos: list[str]) -> dict[str, Any]:
        post_id = f"{self.page}_{self.new_id()}"
        self.created(post_id)
        post = {"id": post_id, "message": message, "photos": photos,
                "permalink_url": f"https://www.facebook.com/{self.page}/posts/{post_id[-6:]}",
                "created_time": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000")}
        self.posts.append(post)
        return post

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if not self.authorised(req):
            return meta_error(190, "Invalid OAuth access token - Cannot parse access token")
        page = f"/{self.page}"
        if req.method == "POST" and path == f"{page}/photos":
            form = form_of(req)
            source = form.get("source")
            data = source[1] if isinstance(source, tuple) else None
            if data is None and not form.get("url"):
                return meta_error(324, "Requires upload file")
            unpublished = form.get("published") == "false"
            mode = None
            if not unpublished:
                self.publish_calls += 1
                mode = self.take_failure()
                if mode and mode not in AFTER_CREATE:
                    return self._failure(mode)
            if not unpublished:
                refused = self._duplicate(str(form.get("caption", "")))
                if refused is not None:
                    return refused
            photo_id = self.new_id()
            self.photos[photo_id] = {"form": form, "bytes": data}
            if unpublished:
                return Reply(200, {"id": photo_id})
            post = self._new_post(str(form.get("caption", "")), [photo_id])
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(200, {"id": photo_id, "post_id": post["id"]})
        if req.method == "POST" and path == f"{page}/feed":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode not in AFTER_CREATE:
                return self._failure(mode)
            form = form_of(req)
            attached = [json.loads(v)["media_fbid"] for k, v in sorted(form.items())
                        if k.startswith("attached_media[")]
            if any(a not in self.photos for a in attached):
                return meta_error(100, "Invalid parameter")
            refused = self._duplicate(str(form.get("message", "")))
            if refused is not None:
                return refused
            post = self._new_post(str(form.get("message", "")), attached)
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(200, {"id": post["id"]})
        if req.method == "GET" and path == f"{page}/posts":
            shown = [p for p in reversed(self.posts) if self.listed(p["id"])]
            rows = shown[: int(query.get("limit", 25))]
            return Reply(200, {"data": [{k: p[k] for k in ("id", "message", "permalink_url",
                                                          "created_time")} for p in rows]})
        if req.method == "GET" and path == page:
            return Reply(200, {"id": self.page, "name": "Careers at the Department"})
        for post in self.posts:
            if path == f"/{post['id']}/comments":
                return comments(self, req, post, "message")
            if req.method == "DELETE" and path == f"/{post['id']}":
                # {"success": true} (https://developers.facebook.com/docs/graph-api/
                # reference/post/#deleting); afterwards the id is "does not exist" (100/33).
                mode = self.take_delete_failure()
                if mode:
                    return self._failure(mode)
                self.posts.remove(post)
                return Reply(200, {"success": True})
            if req.method == "GET" and path == f"/{post['id']}":
                return Reply(200, {"id": post["id"], "permalink_url": post["permalink_url"]})
        return meta_error(100, "Unsupported request", subcode=33)


