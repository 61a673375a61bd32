"""A Facebook Page (photos, feed, Reels and videos) on Meta's Graph API.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.

Video, as documented:

* Reels (https://developers.facebook.com/docs/video-api/guides/reels-publishing):
  ``upload_phase=start`` answers ``video_id`` and ``upload_url``; the upload address takes
  ``Authorization: OAuth <token>``, ``offset`` and ``file_size`` headers and refuses an
  offset other than the bytes it holds; ``GET /{video-id}?fields=status`` answers the
  three phases (``uploading_phase.bytes_transferred``, ``processing_phase``,
  ``publishing_phase``) and ``video_status``; ``upload_phase=finish`` with
  ``video_state=PUBLISHED`` publishes once processing is done. Only then does the Reel
  show (count it with :meth:`FakeFacebookPage.visible_videos`).
* Page videos (https://developers.facebook.com/docs/video-api/guides/publishing):
  ``POST /{page-id}/videos`` with ``file_url`` (fetched from the media host folder) or
  multipart ``source``; ``published=false`` leaves a draft that never shows.
* Page Stories (https://developers.facebook.com/docs/page-stories-api/): ``video_stories``
  takes the same start/upload/finish as Reels (finish answers ``post_id``);
  ``photo_stories`` takes the ``photo_id`` of an unpublished photo; ``GET /{page-id}/stories``
  lists them with ``post_id``, ``media_id``, ``media_type`` and ``creation_time``.
* Captions (https://developers.facebook.com/docs/graph-api/reference/video/captions/):
  ``captions_file`` must be SubRip named ``<name>.<locale>.srt``.
* Processing takes ``video_polls`` status queries (and as long as ``hold_video`` is set);
  ``video_error`` makes the next video fail in ``processing_phase`` with that message; a
  file that is not an MP4 fails the same way.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, form_of
from tests.fakes.meta import comments, meta_error, meta_failure
from tests.peers import LocalServer, Recorded, Reply

# -- Facebook Page -----------------------------------------------------------------------


class FakeFacebookPage(FakePlatform):
    """``/{page}/photos``, ``/{page}/feed`` and ``/{page}/posts`` of a Page."""

    permanent_text = "The message is too long for a Page post."

    def __init__(self, server: LocalServer, token: str, *, page: str = "104000000000001",
                 now: datetime = NOW, media_dir: Path | None = None) -> None:
        super().__init__(server, token, now=now)
        self.page = page
        self.photos: dict[str, dict[str, Any]] = {}
        self.posts: list[dict[str, Any]] = []
        self.media_dir = media_dir
        self.videos: dict[str, dict[str, Any]] = {}
        self.video_polls = 1
        self.hold_video = False
        self.video_error: str | None = None
        #: Upload sessions begun (``upload_phase=start``) and ``/videos`` calls.
        self.video_uploads = 0
        self.photo_stories: list[dict[str, Any]] = []

    @property
    def media_url(self) -> str:
        return f"{self.base_url}/media"

    def stories(self) -> list[dict[str, Any]]:
        """Photo Stories, and video Stories once processed."""
        videos = [{"post_id": f"{self.page}_{v['id']}", "media_id": v["id"],
                   "media_type": "video", "creation_time": v["created_time"]}
                  for v in self.visible_videos() if v["kind"] == "story"]
        return [*self.photo_stories, *videos]

    def visible_videos(self) -> list[dict[str, Any]]:
        """Reels, Stories and videos the Page shows: published and processed."""
        return [v for v in self.videos.values()
                if v["published"] and v["processing"] == "complete"]

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
        if req.method == "POST" and path.startswith("/video-upload/"):
            return self._rupload(req, path.rsplit("/", 1)[-1])
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
        if req.method == "POST" and path == f"{page}/video_reels":
            return self._reels(form_of(req))
        if req.method == "POST" and path == f"{page}/video_stories":
            return self._reels(form_of(req), kind="story")
        if req.method == "POST" and path == f"{page}/photo_stories":
            return self._photo_story(form_of(req))
        if req.method == "GET" and path == f"{page}/stories":
            return Reply(200, {"data": [s for s in reversed(self.stories())
                                        if self.listed(s["post_id"])]})
        if req.method == "POST" and path == f"{page}/videos":
            return self._page_video(form_of(req))
        if req.method == "GET" and path == f"{page}/videos":
            shown = [v for v in reversed(self.videos.values())
                     if v["kind"] == "video" and v["published"] and self.listed(v["id"])]
            return Reply(200, {"data": [{"id": v["id"], "description": v["description"],
                                         "created_time": v["created_time"]} for v in shown]})
        video = self.videos.get(path.strip("/").split("/")[0])
        if video is not None and req.method == "POST" and path.endswith("/captions"):
            return self._captions(video, form_of(req))
        if video is not None and req.method == "GET":
            if query.get("fields") == "status":
                return Reply(200, {"id": video["id"], "status": self._status(video)})
            return Reply(200, {"id": video["id"], "permalink_url": video["permalink_url"]})
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



    # -- video --------------------------------------------------------------------------
    def _new_video(self, kind: str, **fields: Any) -> dict[str, Any]:
        video_id = self.new_id()
        link = {"reel": f"/reel/{video_id}", "story": f"/stories/{self.page}/"}.get(
            kind, f"/{self.page}/videos/{video_id}/")
        video = {"id": video_id, "kind": kind, "bytes": b"", "size": None, "finished": False,
                 "published": False, "processing": "not_started", "polls": 0,
                 "error": self.video_error, "captions": None, "description": "",
                 "permalink_url": f"https://www.facebook.com{link}",
                 "created_time": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000"), **fields}
        self.video_error = None
        self.videos[video_id] = video
        return video

    def _photo_story(self, form: dict[str, Any]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode and mode not in AFTER_CREATE:
            return self._failure(mode)
        photo_id = str(form.get("photo_id"))
        photo = self.photos.get(photo_id)
        if photo is None or photo["form"].get("published") != "false":
            return meta_error(100, "Invalid parameter: photo_id must be an unpublished photo")
        story = {"post_id": f"{self.page}_{self.new_id()}", "media_id": photo_id,
                 "media_type": "photo",
                 "creation_time": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000")}
        self.photo_stories.append(story)
        self.created(story["post_id"])
        if mode in AFTER_CREATE:
            return self.after_create(mode)
        return Reply(200, {"success": True, "post_id": story["post_id"]})

    def _reels(self, form: dict[str, Any], kind: str = "reel") -> Reply:
        phase_ = form.get("upload_phase")
        if phase_ == "start":
            self.video_uploads += 1
            video = self._new_video(kind)
            return Reply(200, {"video_id": video["id"],
                               "upload_url": f"{self.base_url}/video-upload/v25.0/{video['id']}"})
        if phase_ != "finish":
            return meta_error(100, "Invalid parameter: upload_phase")
        video = self.videos.get(str(form.get("video_id")))
        if video is None:
            return meta_error(100, "Invalid video_id", subcode=33)
        self.publish_calls += 1
        mode = self.take_failure()
        if mode and mode not in AFTER_CREATE:
            return self._failure(mode)
        if video["size"] is None or len(video["bytes"]) != video["size"]:
            return meta_error(6000, "There was a problem uploading your video file. Please "
                                    "try again with another file.")
        if kind == "reel" and form.get("video_state") != "PUBLISHED":
            # DRAFT (or none) leaves the Reel unpublished: it never shows.
            video["finished"] = True
            return Reply(200, {"success": True})
        video.update(finished=True, published=True, description=str(form.get("description", "")))
        self.created(video["id"])
        if mode in AFTER_CREATE:
            return self.after_create(mode)
        if kind == "story":
            return Reply(200, {"success": True, "post_id": f"{self.page}_{video['id']}"})
        return Reply(200, {"success": True})

    def _rupload(self, req: Recorded, video_id: str) -> Reply:
        video = self.videos.get(video_id)
        if video is None or req.headers.get("Authorization") != f"OAuth {self.token}":
            return Reply(401, {"debug_info": {"retriable": False, "type": "AuthError",
                                              "message": "Invalid OAuth access token."}})
        try:
            offset, size = int(req.headers["offset"]), int(req.headers["file_size"])
        except (KeyError, ValueError):
            return Reply(400, {"debug_info": {"retriable": False, "type": "BadRequest",
                                              "message": "offset and file_size are required"}})
        if offset != len(video["bytes"]):
            return Reply(400, {"debug_info": {"retriable": False, "type": "OffsetInvalid",
                                              "message": f"Expected offset "
                                                         f"{len(video['bytes'])}"}})
        video["size"] = size
        video["bytes"] += req.body
        return Reply(200, {"success": True})

    def _page_video(self, form: dict[str, Any]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode and mode not in AFTER_CREATE:
            return self._failure(mode)
        source = form.get("source")
        data = source[1] if isinstance(source, tuple) else None
        url = str(form.get("file_url", ""))
        if data is None and url.startswith(self.media_url + "/") and self.media_dir:
            target = self.media_dir / url[len(self.media_url) + 1:]
            data = target.read_bytes() if target.is_file() else None
        if data is None:
            return meta_error(389, "Unable to fetch video file from URL.")
        self.video_uploads += 1
        video = self._new_video("video", bytes=data, size=len(data), finished=True,
                                published=form.get("published", "true") == "true",
                                description=str(form.get("description", "")))
        self.created(video["id"])
        if mode in AFTER_CREATE:
            return self.after_create(mode)
        return Reply(200, {"id": video["id"]})

    def _captions(self, video: dict[str, Any], form: dict[str, Any]) -> Reply:
        upload = form.get("captions_file")
        locale = str(form.get("default_locale", ""))
        if not isinstance(upload, tuple) or not str(upload[0]).endswith(f".{locale}.srt"):
            return meta_error(100, "Invalid parameter: captions_file must be named "
                                   "filename.locale.srt")
        text = upload[1].decode("utf-8")
        if not re.match(r"1\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n", text):
            return meta_error(100, "Invalid parameter: the captions file is not SubRip")
        video["captions"] = (locale, text)
        return Reply(200, {"success": True})

    def _status(self, video: dict[str, Any]) -> dict[str, Any]:
        received, size = len(video["bytes"]), video["size"]
        uploaded = size is not None and received == size
        if uploaded and video["processing"] in ("not_started", "in_progress") and (
                video["kind"] == "video" or video["finished"]):
            video["processing"] = "in_progress"
            video["polls"] += 1
            if not self.hold_video and video["polls"] > self.video_polls:
                if not video["error"] and video["bytes"][4:8] != b"ftyp":
                    video["error"] = "The video file you tried to upload is not supported."
                video["processing"] = "error" if video["error"] else "complete"
        processing: dict[str, Any] = {"status": video["processing"]}
        if video["processing"] == "error":
            processing["errors"] = [{"code": 1363040, "message": video["error"]}]
        done = video["processing"] == "complete" and video["published"]
        publishing = {"status": "complete" if done else
                      "not_started" if not video["published"] else
                      "error" if video["processing"] == "error" else "in_progress",
                      "publish_status": "published" if done else "not_published"}
        overall = {"complete": "ready", "error": "error"}.get(
            video["processing"], "processing" if uploaded else "uploading")
        return {"video_status": overall,
                "uploading_phase": {"status": "complete" if uploaded else "in_progress",
                                    "bytes_transferred": received},
                "processing_phase": processing, "publishing_phase": publishing}
