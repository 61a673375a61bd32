"""Local stand-ins for the platforms, speaking their documented endpoints and error shapes.

Each fake is the ``handler`` of a :class:`tests.peers.LocalServer`: it keeps just enough
state (containers, posts, uploads) for an adapter's whole flow and for ``check`` to find
an earlier success, and it can be told to fail its *publishing call* in the ways the
platform does:

* ``transient`` — a retryable failure, once;
* ``rate_limit`` — the platform's rate-limit answer with its own header;
* ``permanent`` — a refusal in the platform's words (:attr:`FakePlatform.permanent_text`);
* ``expired_token`` — the platform's answer to an expired or revoked token;
* ``drop`` — the request is carried out, then the connection is cut before the answer.

Sources for the shapes: Meta's error reference
(https://developers.facebook.com/docs/graph-api/guides/error-handling/), X's
(https://docs.x.com/x-api/fundamentals/response-codes-and-errors), LinkedIn's
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling),
Mastodon's and the AT Protocol's XRPC errors.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.peers import LocalServer, Recorded, Reply

#: The moment the fakes (and the adapters' fixed clocks) live in: just after
#: ``make_post``'s default due time.
NOW = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
MODES = ("transient", "rate_limit", "permanent", "expired_token", "drop")


# -- request bodies ---------------------------------------------------------------------


def form_of(req: Recorded) -> dict[str, Any]:
    """Fields of a urlencoded or multipart body; multipart files as ``(filename, bytes)``."""
    ctype = req.headers.get("Content-Type", "")
    if ctype.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            out[str(name)] = (filename, payload) if filename else payload.decode("utf-8")
        return out
    if ctype.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    return {}


def json_of(req: Recorded) -> Any:
    try:
        return json.loads(req.body or b"null")
    except ValueError:
        return None


def split(req: Recorded) -> tuple[str, dict[str, str]]:
    parts = urlsplit(req.path)
    return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}


# -- the common part --------------------------------------------------------------------


class FakePlatform:
    """Failure modes, ids and the bearer-token check shared by every fake."""

    #: The words of this platform's permanent refusal (tests look for them).
    permanent_text = "refused"

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW) -> None:
        self.server = server
        self.base_url = server.base_url
        self.token = token
        self.now = now
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._next_id = 18_000_000_000_000_000
        self.publish_calls = 0
        server.handler = self

    def fail_next(self, mode: str, times: int = 1) -> None:
        assert mode in MODES, mode
        self._failures.extend([mode] * times)

    def take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def authorised(self, req: Recorded) -> bool:
        return req.headers.get("Authorization") == f"Bearer {self.token}"

    def __call__(self, req: Recorded) -> Reply:
        path, query = split(req)
        return self.handle(req, path, query)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        raise NotImplementedError


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
        return meta_error(2, "An unexpected error has occurred. Please retry your request later.",
                          transient=True, status=500)
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
        if req.method == "GET" and path == f"{user}/{self.create}":
            rows = sorted(self.posts, key=lambda p: p["timestamp"], reverse=True)
            return Reply(200, {"data": rows[: int(query.get("limit", 25))]})
        if req.method == "GET" and path == user:
            return Reply(200, {"id": self.user, "username": "careers_gov"})
        if req.method == "GET" and path.strip("/") in self.containers:
            box = self.containers[path.strip("/")]
            if box["status"] == "IN_PROGRESS":
                box["polls"] += 1
                if box["polls"] > self.processing_polls:
                    box["status"] = "FINISHED"
            return Reply(200, {"id": box["id"], self.status_field: box["status"]})
        for post in self.posts:
            if req.method == "GET" and path == f"/{post['id']}":
                return Reply(200, {"id": post["id"], "permalink": post["permalink"]})
        return meta_error(100, f"Unsupported get request. Object with ID '{path.strip('/')}' "
                               "does not exist", subcode=33)

    def _create(self, form: dict[str, Any]) -> Reply:
        kind = form.get("media_type", "IMAGE")
        if kind in ("IMAGE",) or "image_url" in form:
            data = self._fetch(str(form.get("image_url", "")))
            if data is None or not data.startswith(b"\xff\xd8"):
                return meta_error(9004, "The media could not be fetched from this URI",
                                  subcode=2207052)
            self.fetched.append(data)
        if kind == "CAROUSEL":
            children = str(form.get("children", "")).split(",")
            if not 2 <= len(children) <= 10 or any(c not in self.containers for c in children):
                return meta_error(100, "Invalid parameter", subcode=2207021)
        box = {"id": self.new_id(), "status": "IN_PROGRESS", "polls": 0, "form": form}
        self.containers[box["id"]] = box
        return Reply(200, {"id": box["id"]})

    def _publish(self, form: dict[str, Any]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode and mode != "drop":
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
        self.posts.append({"id": media_id, self.text: box["form"].get(self.text, ""),
                           "permalink": f"https://www.{site}/{media_id[-8:]}/",
                           "timestamp": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000")})
        self.quota_usage += 1
        if mode == "drop":
            return Reply(drop=True)
        return Reply(200, {"id": media_id})


# -- Facebook Page -----------------------------------------------------------------------


class FakeFacebookPage(FakePlatform):
    """``/{page}/photos``, ``/{page}/feed`` and ``/{page}/posts`` of a Page."""

    permanent_text = "Duplicate status message"

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
            return meta_error(506, "Duplicate status message")
        return meta_failure(mode)

    def _new_post(self, message: str, photos: list[str]) -> dict[str, Any]:
        post_id = f"{self.page}_{self.new_id()}"
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
                if mode and mode != "drop":
                    return self._failure(mode)
            photo_id = self.new_id()
            self.photos[photo_id] = {"form": form, "bytes": data}
            if unpublished:
                return Reply(200, {"id": photo_id})
            post = self._new_post(str(form.get("caption", "")), [photo_id])
            if mode == "drop":
                return Reply(drop=True)
            return Reply(200, {"id": photo_id, "post_id": post["id"]})
        if req.method == "POST" and path == f"{page}/feed":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode != "drop":
                return self._failure(mode)
            form = form_of(req)
            attached = [json.loads(v)["media_fbid"] for k, v in sorted(form.items())
                        if k.startswith("attached_media[")]
            if any(a not in self.photos for a in attached):
                return meta_error(100, "Invalid parameter")
            post = self._new_post(str(form.get("message", "")), attached)
            if mode == "drop":
                return Reply(drop=True)
            return Reply(200, {"id": post["id"]})
        if req.method == "GET" and path == f"{page}/posts":
            rows = list(reversed(self.posts))[: int(query.get("limit", 25))]
            return Reply(200, {"data": [{k: p[k] for k in ("id", "message", "permalink_url",
                                                          "created_time")} for p in rows]})
        if req.method == "GET" and path == page:
            return Reply(200, {"id": self.page, "name": "Careers at the Department"})
        for post in self.posts:
            if req.method == "GET" and path == f"/{post['id']}":
                return Reply(200, {"id": post["id"], "permalink_url": post["permalink_url"]})
        return meta_error(100, "Unsupported request", subcode=33)


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

    permanent_text = "You are not allowed to create a Tweet with duplicate content."

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW,
                 auth_check: Callable[[Recorded], bool] | None = None) -> None:
        super().__init__(server, token, now=now)
        self.media: dict[str, dict[str, Any]] = {}
        self.tweets: list[dict[str, Any]] = []
        self.auth_check = auth_check or self.authorised

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return problem(503, "Service Unavailable", "Service Unavailable")
        if mode == "rate_limit":
            reset = int(self.now.timestamp()) + 600
            return problem(429, "Too Many Requests", "Too Many Requests", headers={
                "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(reset)})
        if mode == "permanent":
            return problem(403, "Forbidden", self.permanent_text)
        if mode == "expired_token":
            return problem(401, "Unauthorized", "Unauthorized")
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if not self.auth_check(req):
            return problem(401, "Unauthorized", "Unauthorized")
        if req.method == "POST" and path == "/2/media/upload":
            form = form_of(req)
            media = form.get("media")
            if not isinstance(media, tuple) or form.get("media_category") != "tweet_image":
                return problem(400, "Invalid Request", "One or more parameters to your request "
                                                       "was invalid.")
            media_id = self.new_id()
            self.media[media_id] = {"bytes": media[1], "alt": None}
            return Reply(200, {"data": {"id": media_id, "media_key": f"3_{media_id}",
                                        "size": len(media[1]), "expires_after_secs": 86400}})
        if req.method == "POST" and path == "/2/media/metadata":
            doc = json_of(req) or {}
            if doc.get("id") not in self.media:
                return problem(400, "Invalid Request", "media not found")
            self.media[doc["id"]]["alt"] = doc["metadata"]["alt_text"]["text"]
            return Reply(200, {"data": {"id": doc["id"], "associated_metadata": doc["metadata"]}})
        if req.method == "POST" and path == "/2/tweets":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode != "drop":
                return self._failure(mode)
            doc = json_of(req) or {}
            ids = (doc.get("media") or {}).get("media_ids") or []
            if any(i not in self.media for i in ids):
                return problem(400, "Invalid Request", "Your media IDs are invalid.")
            tweet_id = str(1_880_000_000_000_000_000 + len(self.tweets) + 1)
            text = re.sub(r"https?://\S+", "https://t.co/AbCdEf1234", doc.get("text", ""))
            if ids:
                text += " https://t.co/MeDiA56789"
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            self.tweets.append({"id": tweet_id, "text": text, "media": ids,
                                "created_at": self.now.isoformat().replace("+00:00", ".000Z")})
            if mode == "drop":
                return Reply(drop=True)
            return Reply(201, {"data": {"id": tweet_id, "text": text,
                                        "edit_history_tweet_ids": [tweet_id]}})
        if req.method == "GET" and path == "/2/users/me":
            return Reply(200, {"data": {"id": "2244994945", "name": "Careers",
                                        "username": "CareersGov"}})
        if req.method == "GET" and path == "/2/users/2244994945/tweets":
            rows = list(reversed(self.tweets))[: int(query.get("max_results", 10))]
            return Reply(200, {"data": [{k: t[k] for k in ("id", "text", "created_at")}
                                        for t in rows], "meta": {"result_count": len(rows)}})
        return problem(404, "Not Found Error", f"Could not find {path}")


# -- LinkedIn ------------------------------------------------------------------------------


def li_error(status: int, message: str, code: str | None = None,
             service_code: int | None = None) -> Reply:
    doc: dict[str, Any] = {"message": message, "status": status}
    if code:
        doc["code"] = code
    if service_code is not None:
        doc["serviceErrorCode"] = service_code
    return Reply(status, doc)


class FakeLinkedIn(FakePlatform):
    """Images API (initializeUpload + upload URL) and Posts API of an organisation."""

    permanent_text = "Content is a duplicate of urn:li:share:7000000000000000001"

    def __init__(self, server: LocalServer, token: str, *, org: str = "2414183",
                 now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.org = f"urn:li:organization:{org}"
        self.images: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return li_error(500, "Internal Server Error")
        if mode == "rate_limit":
            return li_error(429, "Resource level throttle APPLICATION DAY limit for calls to this "
                                 "resource is reached.", "TOO_MANY_REQUESTS", 101)
        if mode == "permanent":
            return li_error(422, self.permanent_text, "DUPLICATE_POST")
        if mode == "expired_token":
            return li_error(401, "The token used in the request has expired",
                            "EXPIRED_ACCESS_TOKEN", 65600)
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if req.method == "PUT" and path.startswith("/dms-uploads/"):
            urn = "urn:li:image:" + path.rsplit("/", 1)[-1]
            if urn not in self.images or not self.authorised(req):
                return li_error(400, "bad upload")
            self.images[urn]["bytes"] = req.body
            return Reply(201, b"")
        if not self.authorised(req):
            return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if not re.fullmatch(r"\d{6}", req.headers.get("Linkedin-Version", "")):
            return li_error(426, "A version header is required", "VERSION_MISSING")
        if req.headers.get("X-Restli-Protocol-Version") != "2.0.0":
            return li_error(400, "Rest.li protocol version 2.0.0 is required")
        if req.method == "POST" and path == "/rest/images" and query.get("action") == "initializeUpload":
            owner = ((json_of(req) or {}).get("initializeUploadRequest") or {}).get("owner")
            if owner != self.org:
                return li_error(403, "Not enough permissions to upload for this owner")
            key = f"D4D10AQ{self.new_id()}"
            self.images[f"urn:li:image:{key}"] = {"bytes": None}
            return Reply(200, {"value": {"uploadUrlExpiresAt": 1_800_000_000_000,
                                         "uploadUrl": f"{self.base_url}/dms-uploads/{key}",
                                         "image": f"urn:li:image:{key}"}})
        if req.method == "POST" and path == "/rest/posts":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode != "drop":
                return self._failure(mode)
            doc = json_of(req) or {}
            problem_ = self._invalid(doc)
            if problem_:
                return li_error(422, problem_)
            urn = f"urn:li:share:{7_000_000_000_000_000_000 + len(self.posts) + 1}"
            stamp = int(self.now.timestamp() * 1000)
            self.posts.append({**doc, "id": urn, "createdAt": stamp, "publishedAt": stamp})
            if mode == "drop":
                return Reply(drop=True)
            return Reply(201, b"", headers={"x-restli-id": urn})
        if req.method == "GET" and path == "/rest/posts" and query.get("q") == "author":
            if query.get("author") != self.org:
                return li_error(403, "Not enough permissions")
            rows = list(reversed(self.posts))[: int(query.get("count", 10))]
            return Reply(200, {"elements": rows, "paging": {"start": 0, "count": len(rows)}})
        if req.method == "GET" and path == "/rest/organizations/" + self.org.rsplit(":", 1)[-1]:
            return Reply(200, {"id": int(self.org.rsplit(":", 1)[-1]),
                               "localizedName": "Careers at the Department"})
        return li_error(404, f"No virtual resource found for {path}")

    def _invalid(self, doc: dict[str, Any]) -> str | None:
        if doc.get("author") != self.org:
            return "/author is not the organisation"
        if doc.get("lifecycleState") != "PUBLISHED" or doc.get("visibility") != "PUBLIC":
            return "/lifecycleState or /visibility invalid"
        if doc.get("distribution", {}).get("feedDistribution") != "MAIN_FEED":
            return "/distribution/feedDistribution is required"
        content = doc.get("content") or {}
        media = [content["media"]] if "media" in content else (
            (content.get("multiImage") or {}).get("images") or [])
        for item in media:
            if self.images.get(item.get("id"), {}).get("bytes") is None:
                return f"/content/media/id {item.get('id')} was never uploaded"
        return None


# -- Mastodon ------------------------------------------------------------------------------


class FakeMastodon(FakePlatform):
    """Media, statuses (with Idempotency-Key) and the account's statuses."""

    permanent_text = "Validation failed: Text character limit of 500 exceeded"

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.statuses: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}

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
            return Reply(200, {"id": self.new_id(), "type": "image", "url": "https://files/1.jpg"})
        if req.method == "POST" and path == "/api/v1/statuses":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode != "drop":
                return self._failure(mode)
            key = req.headers.get("Idempotency-Key", "")
            status = self.keys.get(key) if key else None
            if status is None:
                doc = json_of(req) or {}
                sid = self.new_id()
                status = {"id": sid, "url": f"https://social.example/@careers/{sid}",
                          "content": "<p>" + doc.get("status", "").replace("&", "&amp;")
                          .replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br />")
                          + "</p>"}
                self.statuses.append(status)
                if key:
                    self.keys[key] = status
            if mode == "drop":
                return Reply(drop=True)
            return Reply(200, status)
        if path == "/api/v1/accounts/verify_credentials":
            return Reply(200, {"id": "42", "acct": "careers", "username": "careers"})
        if path == "/api/v1/accounts/42/statuses":
            return Reply(200, list(reversed(self.statuses))[: int(query.get("limit", 20))])
        return Reply(404, {"error": "Record not found"})


# -- Bluesky -------------------------------------------------------------------------------


class FakeBlueskyPds(FakePlatform):
    """createSession, uploadBlob, createRecord (with caller-chosen rkey) and getRecord."""

    permanent_text = "Invalid app.bsky.feed.post record: Record/text must not be longer than " \
                     "300 graphemes"

    def __init__(self, server: LocalServer, password: str, *, now: datetime = NOW) -> None:
        super().__init__(server, token="access-jwt-0001", now=now)
        self.password = password
        self.did = "did:plc:careers0000000000000000"
        self.records: dict[str, dict[str, Any]] = {}
        self.auth_broken = False

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return Reply(500, {"error": "InternalServerError", "message": "Internal Server Error"})
        if mode == "rate_limit":
            reset = int(self.now.timestamp()) + 120
            return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                         headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                                  "ratelimit-reset": str(reset)})
        if mode == "permanent":
            return Reply(400, {"error": "InvalidRequest", "message": self.permanent_text})
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        nsid = path.removeprefix("/xrpc/")
        if nsid in ("com.atproto.server.createSession", "com.atproto.server.refreshSession"):
            doc = json_of(req) or {}
            if self.auth_broken or (nsid.endswith("createSession")
                                    and doc.get("password") != self.password):
                return Reply(401, {"error": "AuthenticationRequired",
                                   "message": "Invalid identifier or password"})
            return Reply(200, {"accessJwt": self.token, "refreshJwt": "refresh-jwt-0001",
                               "did": self.did, "handle": "careers.example"})
        if self.auth_broken:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        if not self.authorised(req) and nsid != "com.atproto.repo.getRecord":
            return Reply(401, {"error": "AuthenticationRequired", "message": "no token"})
        if nsid == "com.atproto.repo.getRecord":
            record = self.records.get(query.get("rkey", ""))
            if record is None:
                return Reply(400, {"error": "RecordNotFound", "message": "Could not locate record"})
            return Reply(200, record)
        if nsid == "com.atproto.repo.uploadBlob":
            return Reply(200, {"blob": {"$type": "blob", "ref": {"$link": "bafkrei" + "a" * 52},
                                        "mimeType": req.headers.get("Content-Type"),
                                        "size": len(req.body)}})
        if nsid == "com.atproto.repo.createRecord":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode == "expired_token":
                self.auth_broken = True
                return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
            if mode and mode != "drop":
                return self._failure(mode)
            doc = json_of(req) or {}
            rkey = doc["rkey"]
            uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
            self.records[rkey] = {"uri": uri, "cid": "bafyrei" + "b" * 52, "value": doc["record"]}
            if mode == "drop":
                return Reply(drop=True)
            return Reply(200, {"uri": uri, "cid": self.records[rkey]["cid"]})
        if nsid == "com.atproto.server.getSession":
            return Reply(200, {"did": self.did, "handle": "careers.example"})
        return Reply(400, {"error": "MethodNotImplemented", "message": nsid})


# -- a generic receiver for the webhook adapter --------------------------------------------


class FakeWebhookReceiver(FakePlatform):
    """A receiver that stores each delivery and answers ``{"id", "url"}``."""

    permanent_text = "caption rejected by the CMS"

    def __init__(self, server: LocalServer, now: datetime = NOW) -> None:
        super().__init__(server, token="", now=now)
        self.received: list[dict[str, Any]] = []

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode == "transient":
            return Reply(502, {"error": "Bad Gateway"})
        if mode == "rate_limit":
            return Reply(429, {"error": "slow down"}, headers={"Retry-After": "45"})
        if mode == "permanent":
            return Reply(400, {"error": self.permanent_text})
        if mode == "expired_token":
            return Reply(401, {"error": "signature key expired"})
        doc = json_of(req) or {}
        self.received.append(doc)
        if mode == "drop":
            return Reply(drop=True)
        return Reply(201, {"id": f"cms-{len(self.received)}", "url": "https://cms.example/p/1"})
