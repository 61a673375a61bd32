"""Meta's Graph API: Instagram and Threads containers.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, form_of
from tests.peers import LocalServer, Recorded, Reply

# -- Meta: Instagram and Threads containers ---------------------------------------------


def meta_error(code: int, message: str, *, subcode: int | None = None, transient: bool = False,
               user_msg: str | None = None, status: int = 400,
               headers: dict[str, str] | None = None) -> Reply:
    err: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code,
                           "is_transient": transient, "fbtrace_id": "AbCdEf123"}
    if subcode is not None:
        err["error_subcode"] = subcode
    if user_msg:
        err["error_user_msg"] = user_msg
    return Reply(status, {"error": err}, headers=headers or {})


def meta_failure(mode: str) -> Reply:
    if mode == "transient":
        # Meta answers "try again" with HTTP 400 and a negative code, not with a 5xx:
        # https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes/
        return meta_error(-1, "Instagram server error. Try again.", subcode=2207001,
                          transient=True)
    if mode == "rate_limit":
        usage = {"17841400000000000": [{"type": "instagram", "call_count": 100,
                                        "total_cputime": 20, "total_time": 30,
                                        "estimated_time_to_regain_access": 7}]}
        return meta_error(4, "Application request limit reached", transient=True,
                          headers={"X-Business-Use-Case-Usage": json.dumps(usage)})
    if mode == "permanent":
        return meta_error(100, "Invalid parameter", subcode=2207010,
                          user_msg="The caption exceeds the maximum length.")
    if mode == "expired_token":
        return meta_error(190, "Error validating access token: Session has expired on Tuesday, "
                               "01-Dec-26 08:00:00 PST.", subcode=463)
    raise AssertionError(mode)


def comments(fake: FakePlatform, req: Recorded, post: dict[str, Any], field: str) -> Reply:
    """``/{object-id}/comments`` of a published post. POST ``message`` answers
    ``{"id": ...}``; GET lists ``{"data": [{"id", field}]}`` (Facebook: ``message``,
    https://developers.facebook.com/docs/graph-api/reference/object/comments/; Instagram:
    ``text``, https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/
    reference/ig-media/comments). With ``fake.comments_refused`` set, a new comment is
    refused as on a post whose comments are turned off (error 100)."""
    if req.method == "POST":
        refused = getattr(fake, "comments_refused", None)
        if refused:
            return meta_error(100, refused)
        comment = {"id": f"{post['id']}_{fake.new_id()}",
                   field: str(form_of(req).get("message", ""))}
        post.setdefault("comments", []).append(comment)
        fake.created(comment["id"])
        return Reply(200, {"id": comment["id"]})
    return Reply(200, {"data": list(post.get("comments", []))})


class FakeGraphContainers(FakePlatform):
    """Instagram's (or, with ``flavour="threads"``, Threads') container API.

    Images are fetched by URL as Meta does: URLs under ``<base_url>/media/`` are read from
    ``media_dir`` (what the ``directory`` media host writes), anything else is refused
    with Meta's "media could not be fetched" error.
    """

    permanent_text = "The caption exceeds the maximum length."

    def __init__(self, server: LocalServer, token: str, media_dir: Path, *,
                 user: str = "17841400000000001", flavour: str = "instagram",
                 processing_polls: int = 0, quota_usage: int = 3, quota_total: int = 50,
                 now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.user = user
        self.flavour = flavour
        self.media_dir = media_dir
        self.processing_polls = processing_polls
        self.quota_usage, self.quota_total = quota_usage, quota_total
        self.containers: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.fetched: list[bytes] = []
        #: When set, the next container built ends in ERROR with this ``error_message``
        #: (Threads) / ``status`` text (Instagram), as the container status reference shows:
        #: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-container/
        self.container_error: str | None = None
        #: Videos are fetched and transcoded after the container is built: a video
        #: container answers IN_PROGRESS for ``video_polls`` status queries (and for as
        #: long as ``hold_video`` is set), then FINISHED, or ERROR when the file could not
        #: be fetched or is no video. Instagram shows the reason in ``status``
        #: ("ERROR: ... 2207026", https://developers.facebook.com/docs/instagram-platform/
        #: instagram-graph-api/reference/error-codes/), Threads in ``error_message``
        #: (FAILED_PROCESSING_VIDEO and the like, https://developers.facebook.com/docs/
        #: threads/troubleshooting#publishing-does-not-return-a-media-id).
        self.video_polls = 1
        self.hold_video = False
        self.video_error: str | None = None
        self.video_fetches: list[bytes] = []
        #: Stories: published from STORIES containers, listed only under /stories
        #: (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/
        #: reference/ig-user/stories), never under /media.
        self.stories: list[dict[str, Any]] = []
        #: Resumable uploads (``upload_type=resumable``): the container answers ``uri``
        #: on rupload, which takes the bytes in pieces with ``Authorization: OAuth``,
        #: ``offset`` and ``file_size`` and refuses an offset other than what it holds
        #: (https://developers.facebook.com/docs/instagram-platform/content-publishing/
        #: resumable-uploads/); the container processes once the file is complete.
        self.rupload_requests = 0
        if flavour == "instagram":
            self.create, self.publish = "media", "media_publish"
            self.limit, self.status_field, self.text = ("content_publishing_limit", "status_code",
                                                        "caption")
        else:
            self.create, self.publish = "threads", "threads_publish"
            self.limit, self.status_field, self.text = "threads_publishing_limit", "status", "text"

    @property
    def media_url(self) -> str:
        return f"{self.base_url}/media"

    def _fetch(self, url: str) -> bytes | None:
        prefix = self.media_url + "/"
        if not url.startswith(prefix):
            return None
        target = self.media_dir / url[len(prefix):]
        return target.read_bytes() if target.is_file() else None

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if req.method == "POST" and path.startswith("/ig-api-upload/"):
            return self._rupload(req, path.rsplit("/", 1)[-1])
        if req.method == "GET" and path.startswith("/media/"):
            data = self._fetch(self.base_url + path)
            return Reply(200, data) if data is not None else Reply(404, "not found")
        if not self.authorised(req):
            return meta_error(190, "Invalid OAuth access token - Cannot parse access token")
        user = f"/{self.user}"
        if req.method == "GET" and path == f"{user}/{self.limit}":
            return Reply(200, {"data": [{"quota_usage": self.quota_usage, "config": {
                "quota_total": self.quota_total, "quota_duration": 86400}}]})
        if req.method == "POST" and path == f"{user}/{self.create}":
            return self._create(form_of(req))
        if req.method == "POST" and path == f"{user}/{self.publish}":
            return self._publish(form_of(req))
        if req.method == "GET" and path in (f"{user}/{self.create}", f"{user}/replies"):
            # Threads lists a profile's replies apart from its threads: GET
            # /{threads-user-id}/replies "a list of all replies created by a user"
            # (https://developers.facebook.com/docs/threads/retrieve-and-manage-replies).
            replies = path.endswith("/replies")
            rows = sorted((p for p in self.posts if self.listed(p["id"])
                           and bool(p.get("reply_to")) == replies),
                          key=lambda p: p["timestamp"], reverse=True)
            return Reply(200, {"data": [{k: v for k, v in p.items() if k != "reply_to"}
                                        for p in rows[: int(query.get("limit", 25))]]})
        if req.method == "GET" and path == f"{user}/stories" and self.flavour == "instagram":
            return Reply(200, {"data": [p for p in reversed(self.stories)
                                        if self.listed(p["id"])]})
        if req.method == "GET" and path == user:
            return Reply(200, {"id": self.user, "username": "careers_gov"})
        if req.method == "GET" and path.strip("/") in self.containers:
            box = self.containers[path.strip("/")]
            if box["status"] == "IN_PROGRESS" and ("video_url" in box["form"] or
                                                   "upload_type" in box["form"]):
                self._process_video(box)
            elif box["status"] == "IN_PROGRESS":
                box["polls"] += 1
                if box["polls"] > self.processing_polls:
                    box["status"] = "ERROR" if box.get("error") else "FINISHED"
            answer = {"id": box["id"], self.status_field: box["status"]}
            if box["status"] == "ERROR":
                if self.flavour == "threads":
                    answer["error_message"] = box["error"]
                else:
                    answer["status"] = f"Error: {box['error']}"
            return Reply(200, answer)
        for post in [*self.posts, *self.stories]:
            if path == f"/{post['id']}/comments" and self.flavour == "instagram":
                return comments(self, req, post, "text")
            if req.method == "DELETE" and path == f"/{post['id']}" and self.flavour == "threads":
                # Threads deletes by media id: {"success": true, "deleted_id": ...}
                # (https://developers.facebook.com/docs/threads/posts/delete-posts).
                # Instagram's publishing API documents no deletion, so it falls through to
                # Meta's "unsupported request" below.
                mode = self.take_delete_failure()
                if mode:
                    return meta_failure(mode)
                self.posts.remove(post)
                return Reply(200, {"success": True, "deleted_id": post["id"]})
            if req.method == "GET" and path == f"/{post['id']}":
                return Reply(200, {"id": post["id"], "permalink": post["permalink"]})
        return meta_error(100, f"Unsupported get request. Object with ID '{path.strip('/')}' "
                               "does not exist", subcode=33)

    def _rupload(self, req: Recorded, container_id: str) -> Reply:
        self.rupload_requests += 1
        box = self.containers.get(container_id)
        if box is None or req.headers.get("Authorization") != f"OAuth {self.token}":
            return Reply(401, {"debug_info": {"retriable": False, "type": "AuthError",
                                              "message": "Invalid OAuth access token."}})
        if int(req.headers.get("offset", -1)) != len(box["upload"]):
            return Reply(400, {"debug_info": {"retriable": False, "type": "OffsetInvalid",
                                              "message": "Offset does not match the upload"}})
        box["size"] = int(req.headers.get("file_size", 0))
        box["upload"] += req.body
        return Reply(200, {"success": True, "message": "Upload successful."})

    def _process_video(self, box: dict[str, Any]) -> None:
        """Meta fetches the video from ``video_url`` (or takes the uploaded file) and
        transcodes it, in the background."""
        resumable = box["form"].get("upload_type") == "resumable"
        if resumable and (box["size"] is None or len(box["upload"]) != box["size"]):
            return  # waits for the rest of the file
        box["polls"] += 1
        if self.hold_video or box["polls"] <= self.video_polls:
            return
        data = box["upload"] if resumable else self._fetch(str(box["form"]["video_url"]))
        if box.get("error"):
            pass
        elif data is None:
            box["error"] = ("FAILED_DOWNLOADING_VIDEO" if self.flavour == "threads" else
                            "2207003: It takes too long to download the media.")
        elif data[4:8] != b"ftyp":
            box["error"] = ("FAILED_PROCESSING_VIDEO" if self.flavour == "threads" else
                            "2207026: Unsupported video format.")
        else:
            self.video_fetches.append(data)
        box["status"] = "ERROR" if box.get("error") else "FINISHED"

    def _create(self, form: dict[str, Any]) -> Reply:
        kind = form.get("media_type", "IMAGE")
        if kind == "VIDEO" and self.flavour == "instagram" and form.get("is_carousel_item") \
                != "true":
            # VIDEO outside a carousel is gone since November 2023: REELS instead
            # (https://developers.facebook.com/docs/graph-api/changelog/out-of-cycle-changes/june-28-2022).
            return meta_error(100, "The media type VIDEO is no longer supported. Please use "
                                   "REELS", subcode=2207023)
        if "cover_url" in form:
            cover = self._fetch(str(form["cover_url"]))
            if cover is None or not cover.startswith(b"\xff\xd8"):
                return meta_error(9004, "The media could not be fetched from this URI",
                                  subcode=2207052)
            self.fetched.append(cover)
        if kind in ("IMAGE",) or "image_url" in form:
            data = self._fetch(str(form.get("image_url", "")))
            if data is None or not data.startswith(b"\xff\xd8"):
                return meta_error(9004, "The media could not be fetched from this URI",
                                  subcode=2207052)
            self.fetched.append(data)
        if kind == "CAROUSEL":
            # Instagram takes 2 to 10 items (https://developers.facebook.com/docs/
            # instagram-platform/content-publishing#carousel-posts), Threads 2 to 20
            # (https://developers.facebook.com/docs/threads/posts#carousel-posts).
            children = str(form.get("children", "")).split(",")
            most = 10 if self.flavour == "instagram" else 20
            if not 2 <= len(children) <= most or any(c not in self.containers
                                                      for c in children):
                return meta_error(100, "Invalid parameter", subcode=2207021)
            if any(self.containers[c]["status"] != "FINISHED" for c in children):
                # Children must be FINISHED before the carousel is built (content
                # publishing guide, carousel posts); otherwise "media not ready".
                return meta_error(9007, "The media is not ready for publishing, please wait "
                                        "for a moment", subcode=2207027)
        error = self.container_error
        if "video_url" in form or "upload_type" in form:
            error, self.video_error = self.video_error, None
        box = {"id": self.new_id(), "status": "IN_PROGRESS", "polls": 0, "form": form,
               "error": error, "upload": b"", "size": None}
        self.container_error = None
        self.containers[box["id"]] = box
        if form.get("upload_type") == "resumable":
            return Reply(200, {"id": box["id"],
                               "uri": f"{self.base_url}/ig-api-upload/v25.0/{box['id']}"})
        return Reply(200, {"id": box["id"]})

    def _publish(self, form: dict[str, Any]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode and mode not in AFTER_CREATE:
            return meta_failure(mode)
        box = self.containers.get(str(form.get("creation_id")))
        if box is None:
            return meta_error(100, "Invalid parameter", subcode=2207008)
        if box["status"] == "EXPIRED":
            return meta_error(100, "The container has expired", subcode=2207020)
        if box["status"] == "PUBLISHED":
            return meta_error(100, "The media has already been published", subcode=2207006)
        if box["status"] != "FINISHED":
            return meta_error(9007, "Media ID is not available", subcode=2207027)
        box["status"] = "PUBLISHED"
        media_id = self.new_id()
        site = "instagram.com/p" if self.flavour == "instagram" else "threads.net/@careers_gov/post"
        kind = box["form"].get("media_type", "IMAGE")
        row = {"id": media_id, "permalink": f"https://www.{site}/{media_id[-8:]}/",
               "timestamp": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000")}
        if kind == "STORIES":
            # A Story takes no caption; its permalink is the account's story page.
            row["permalink"] = f"https://www.instagram.com/stories/careers_gov/{media_id}/"
            self.stories.append({**row, "media_product_type": "STORY"})
        else:
            self.posts.append({**row, self.text: box["form"].get(self.text, ""),
                               "media_product_type": "REELS" if kind == "REELS" else "FEED",
                               "reply_to": box["form"].get("reply_to_id")})
        self.quota_usage += 1
        self.created(media_id)
        if mode in AFTER_CREATE:
            return self.after_create(mode)
        return Reply(200, {"id": media_id})


