"""LinkedIn's Images, Videos and Posts APIs.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.

The Videos API as documented
(https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api):
``initializeUpload`` answers the video URN, an ``uploadToken``, one upload instruction per
``part_size`` bytes (LinkedIn's parts are 4 MiB), ``captionsUploadUrl`` /
``thumbnailUploadUrl`` when asked for, and ``uploadUrlsExpireAt``; each part's ``PUT``
answers an ``ETag``, and a ``PUT`` after the expiry is refused; ``finalizeUpload`` needs
every part's ETag in order; the video is ``PROCESSING`` for ``video_polls`` status reads
(and while ``hold_video`` is set), then ``AVAILABLE``, or ``PROCESSING_FAILED`` with a
``processingFailureReason`` (``video_error``, or a file that is no MP4). A post naming a
video that is not AVAILABLE is refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, json_of
from tests.peers import LocalServer, Recorded, Reply

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

    permanent_text = "ERROR :: /commentary :: Text length 3001 exceeds the maximum of 3000"

    def __init__(self, server: LocalServer, token: str, *, org: str = "2414183",
                 now: datetime = NOW) -> None:
        super().__init__(server, token, now=now)
        self.org = f"urn:li:organization:{org}"
        self.images: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.videos: dict[str, dict[str, Any]] = {}
        self.part_size = 4 * 1024 * 1024
        self.url_lifetime = timedelta(hours=1)
        self.video_polls = 1
        self.hold_video = False
        self.video_error: str | None = None

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return li_error(500, "Internal Server Error")
        if mode == "rate_limit":
            return li_error(429, "Resource level throttle APPLICATION DAY limit for calls to this "
                                 "resource is reached.", "TOO_MANY_REQUESTS", 101)
        if mode == "permanent":
            return li_error(422, self.permanent_text)
        if mode == "expired_token":
            return li_error(401, "The token used in the request has expired",
                            "EXPIRED_ACCESS_TOKEN", 65600)
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        if req.method == "PUT" and path.startswith("/dms-uploads/video/"):
            return self._video_put(req, path)
        if req.method == "PUT" and path.startswith("/dms-uploads/"):
            urn = "urn:li:image:" + path.rsplit("/", 1)[-1]
            if urn not in self.images or not self.authorised(req):
                return li_error(400, "bad upload")
            self.images[urn]["bytes"] = req.body
            return Reply(201, b"")
        if not self.authorised(req):
            return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        version = req.headers.get("Linkedin-Version", "")
        if not re.fullmatch(r"\d{6}", version):
            return li_error(426, "A version header is required", "VERSION_MISSING")
        if not self.served(version):
            # A version is served for one year, then answered with 426 NONEXISTENT_VERSION
            # (https://learn.microsoft.com/en-us/linkedin/marketing/versioning and the
            # sunset table at .../linkedin/marketing/integrations/migrations).
            return li_error(426, f"Requested version {version}01 is not active",
                            "NONEXISTENT_VERSION")
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
        if req.method == "POST" and path == "/rest/videos":
            if query.get("action") == "initializeUpload":
                return self._video_init(json_of(req) or {})
            if query.get("action") == "finalizeUpload":
                return self._video_finalize(json_of(req) or {})
        if req.method == "GET" and path.startswith("/rest/videos/"):
            from urllib.parse import unquote

            video = self.videos.get(unquote(path.removeprefix("/rest/videos/")))
            if video is None:
                return li_error(404, "Video not found")
            return Reply(200, self._video_status(video))
        if req.method == "POST" and path == "/rest/posts":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode and mode not in AFTER_CREATE:
                return self._failure(mode)
            doc = json_of(req) or {}
            problem_ = self._invalid(doc)
            if problem_:
                return li_error(422, problem_)
            same = [p for p in self.posts if p.get("commentary") == doc.get("commentary")]
            if same:
                # A repeat of a recent post is refused, naming the original.
                return li_error(422, f"Content is a duplicate of {same[0]['id']}",
                                "DUPLICATE_POST")
            urn = f"urn:li:share:{7_000_000_000_000_000_000 + len(self.posts) + 1}"
            stamp = int(self.now.timestamp() * 1000)
            self.posts.append({**doc, "id": urn, "createdAt": stamp, "publishedAt": stamp})
            self.created(urn)
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(201, b"", headers={"x-restli-id": urn})
        if req.method == "GET" and path == "/rest/posts" and query.get("q") == "author":
            if query.get("author") != self.org:
                return li_error(403, "Not enough permissions")
            shown = [p for p in reversed(self.posts) if self.listed(p["id"])]
            rows = shown[: int(query.get("count", 10))]
            return Reply(200, {"elements": rows, "paging": {"start": 0, "count": len(rows)}})
        if req.method == "DELETE" and path.startswith("/rest/posts/"):
            # 204 No Content; a post that is not there is 404
            # (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/
            # shares/posts-api#delete-posts).
            from urllib.parse import unquote

            mode = self.take_delete_failure()
            if mode:
                return self._failure(mode)
            wanted = unquote(path.removeprefix("/rest/posts/"))
            for p in list(self.posts):
                if p["id"] == wanted:
                    self.posts.remove(p)
                    return Reply(204, b"")
            return li_error(404, f"Post {wanted} not found")
        if req.method == "GET" and path.startswith("/rest/posts/"):
            from urllib.parse import unquote

            wanted = unquote(path.removeprefix("/rest/posts/"))
            for p in self.posts:
                if p["id"] == wanted:
                    return Reply(200, p)
            return li_error(404, f"Post {wanted} not found")
        if path.startswith("/rest/socialActions/") and path.endswith("/comments"):
            return self._comments(req, path)
        if req.method == "GET" and path == "/rest/organizations/" + self.org.rsplit(":", 1)[-1]:
            return Reply(200, {"id": int(self.org.rsplit(":", 1)[-1]),
                               "localizedName": "Careers at the Department"})
        return li_error(404, f"No virtual resource found for {path}")

    def _comments(self, req: Recorded, path: str) -> Reply:
        """Comments on a post (https://learn.microsoft.com/en-us/linkedin/marketing/
        community-management/shares/comments-api): POST with ``actor``, ``object`` and
        ``message.text`` answers 201 with the comment and its URN in ``x-restli-id``; GET
        lists ``{"elements": [...]}``. The post must exist and the actor be the page."""
        from urllib.parse import unquote

        target = unquote(path.removeprefix("/rest/socialActions/").removesuffix("/comments"))
        post = next((p for p in self.posts if p["id"] == target), None)
        if post is None:
            return li_error(404, f"Post {target} not found")
        if req.method == "GET":
            return Reply(200, {"elements": list(post.get("comments", []))})
        doc = json_of(req) or {}
        if doc.get("actor") != self.org or doc.get("object") != target:
            return li_error(422, "/actor or /object invalid")
        urn = f"urn:li:comment:({target},{self.new_id()})"
        comment = {"id": urn.rsplit(",", 1)[1].rstrip(")"), "commentUrn": urn,
                   "actor": doc["actor"], "object": target,
                   "message": {"text": (doc.get("message") or {}).get("text", "")}}
        post.setdefault("comments", []).append(comment)
        return Reply(201, comment, headers={"x-restli-id": urn})

    def served(self, version: str) -> bool:
        """Released by now and less than a year old (month + 12, as LinkedIn serves them)."""
        year, month = int(version[:4]), int(version[4:])
        released = (year, month) <= (self.now.year, self.now.month)
        sunset = (year + 1, month)
        return released and (self.now.year, self.now.month) < sunset

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
            urn = str(item.get("id"))
            if urn.startswith("urn:li:video:"):
                if self.videos.get(urn, {}).get("status") != "AVAILABLE":
                    return f"/content/media/id {urn} is not AVAILABLE"
            elif self.images.get(urn, {}).get("bytes") is None:
                return f"/content/media/id {urn} was never uploaded"
        return None

    # -- the Videos API -----------------------------------------------------------------
    def _video_init(self, doc: dict[str, Any]) -> Reply:
        req = doc.get("initializeUploadRequest") or {}
        if req.get("owner") != self.org:
            return li_error(403, "Not enough permissions to upload for this owner")
        size = req.get("fileSizeBytes")
        if not isinstance(size, int) or size <= 0:
            return li_error(400, "/initializeUploadRequest/fileSizeBytes is required")
        key = f"C5F10AQ{self.new_id()}"
        urn = f"urn:li:video:{key}"
        starts = list(range(0, size, self.part_size))
        parts = [{"first": a, "last": min(a + self.part_size, size) - 1} for a in starts]
        expires = self.now + self.url_lifetime
        base = f"{self.base_url}/dms-uploads/video/{key}"
        self.videos[urn] = {"urn": urn, "size": size, "parts": parts, "data": {},
                            "etags": {}, "token": f"tok-{key}" if len(parts) > 1 else "",
                            "expires": expires, "status": "WAITING_UPLOAD", "polls": 0,
                            "captions": None, "thumbnail": None, "error": self.video_error}
        self.video_error = None
        value: dict[str, Any] = {
            "uploadUrlsExpireAt": int(expires.timestamp() * 1000), "video": urn,
            "uploadToken": self.videos[urn]["token"],
            "uploadInstructions": [{"uploadUrl": f"{base}/part/{n}", "firstByte": p["first"],
                                    "lastByte": p["last"]} for n, p in enumerate(parts)]}
        if req.get("uploadCaptions"):
            value["captionsUploadUrl"] = f"{base}/captions"
        if req.get("uploadThumbnail"):
            value["thumbnailUploadUrl"] = f"{base}/thumbnail"
        return Reply(200, {"value": value})

    def _video_put(self, req: Recorded, path: str) -> Reply:
        _, _, _, key, *rest = path.split("/")
        video = self.videos.get(f"urn:li:video:{key}")
        if video is None or not self.authorised(req):
            return li_error(400, "bad upload")
        if self.now >= video["expires"]:
            return li_error(403, "The upload URL has expired")
        if rest == ["captions"]:
            text = req.body.decode("utf-8", "replace")
            if not re.match(r"1\r?\n\d\d:\d\d:\d\d,\d{3} --> ", text):
                return li_error(400, "The captions file is not in SRT format")
            video["captions"] = text
            return Reply(201, b"")
        if rest == ["thumbnail"]:
            video["thumbnail"] = req.body
            return Reply(201, b"")
        n = int(rest[1])
        part = video["parts"][n]
        if len(req.body) != part["last"] - part["first"] + 1:
            return li_error(400, f"Part {n} must be {part['last'] - part['first'] + 1} bytes")
        video["data"][n] = req.body
        video["etags"][n] = f"/ambry-video/signedId/{key}-{n}"
        return Reply(200, b"", headers={"ETag": video["etags"][n]})

    def _video_finalize(self, doc: dict[str, Any]) -> Reply:
        req = doc.get("finalizeUploadRequest") or {}
        video = self.videos.get(str(req.get("video")))
        if video is None:
            return li_error(404, "Video not found")
        expected = [video["etags"].get(n) for n in range(len(video["parts"]))]
        if req.get("uploadToken") != video["token"] or req.get("uploadedPartIds") != expected \
                or None in expected:
            return li_error(400, "Invalid uploadedPartIds or uploadToken for this upload")
        video["status"] = "PROCESSING" if video["status"] == "WAITING_UPLOAD" else video["status"]
        return Reply(200, {})

    def video_bytes(self, urn: str) -> bytes:
        video = self.videos[urn]
        return b"".join(video["data"].get(n, b"") for n in range(len(video["parts"])))

    def _video_status(self, video: dict[str, Any]) -> dict[str, Any]:
        if video["status"] == "PROCESSING":
            video["polls"] += 1
            if not self.hold_video and video["polls"] > self.video_polls:
                if not video["error"] and self.video_bytes(video["urn"])[4:8] != b"ftyp":
                    video["error"] = "Media format is not supported"
                video["status"] = "PROCESSING_FAILED" if video["error"] else "AVAILABLE"
        answer: dict[str, Any] = {"id": video["urn"], "status": video["status"],
                                  "owner": self.org}
        if video["status"] == "PROCESSING_FAILED":
            answer["processingFailureReason"] = video["error"]
        return answer


