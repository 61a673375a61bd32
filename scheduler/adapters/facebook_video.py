"""Video on a Facebook Page: Reels, and ordinary Page videos with a caption file.

The channel's ``format`` chooses (``reel``, the default, ``video``, or ``story``).

**Reels** (https://developers.facebook.com/docs/video-api/guides/reels-publishing):

1. ``POST /{page-id}/video_reels`` ``upload_phase=start`` → ``video_id`` and
   ``upload_url`` (recorded before anything else, so a restart continues this upload);
2. ``POST {upload_url}`` (rupload.facebook.com) with ``Authorization: OAuth <token>``,
   ``offset`` and ``file_size`` headers and the bytes from ``offset`` on, in pieces; a
   restart asks ``GET /{video-id}?fields=status`` how many bytes arrived
   (``uploading_phase.bytes_transferred``) and sends the rest from there;
3. ``POST /{page-id}/video_reels`` ``upload_phase=finish``, ``video_id``,
   ``video_state=PUBLISHED`` and ``description`` — the one call that publishes. Never
   ``/videos`` for a Reel: that leaves an unpublished draft;
4. ``GET /{video-id}?fields=status`` until ``publishing_phase`` is ``complete``; an
   ``error`` in any phase is a failure quoting Meta's message. The Reel shows once
   processing is done; a call that waits longer than the video budget leaves it to the
   next attempt, which polls the same video (the finish is recorded and never repeated).

Reels take no caption file, so their captions are burned into the picture at render time
(the ``facebook`` video profile).

**Page videos** (https://developers.facebook.com/docs/video-api/guides/publishing):
``POST /{page-id}/videos`` with ``file_url`` (the media host; without one the bytes as
multipart ``source``), ``description`` and ``published=true`` — explicit, so the video is
never left as a draft — then the captions as SubRip, ``POST /{video-id}/captions`` with
``captions_file`` named ``<name>.<locale>.srt`` and ``default_locale``
(https://developers.facebook.com/docs/graph-api/reference/video/captions/), converted from
the approved WebVTT; then the status is polled as for Reels (``video_status`` ``ready``).

**Page Stories** (``format = "story"``, https://developers.facebook.com/docs/page-stories-api/):
a video goes as a Reel does, through ``/{page-id}/video_stories`` (``start``, the upload,
``finish`` with the ``video_id``; no caption, as Stories show none); an image is uploaded
as an unpublished photo (``/{page-id}/photos`` with ``published=false``, which shows
nowhere) and published with ``POST /{page-id}/photo_stories`` ``photo_id``. ``check``
finds a photo Story among the Page's Stories (``GET /{page-id}/stories``) by its photo.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from scheduler.adapters.base import OutgoingPost, PlannedRequest, Processing, Published
from scheduler.adapters.meta import GraphAdapter, normalise_text, recent_enough
from scheduler.adapters.rupload import PIECE, check_upload_address, send_pieces
from scheduler.errors import PermanentPublishError

log = logging.getLogger(__name__)

#: Locales Facebook names captions by (``en_GB``), for the post's BCP-47 language.
_LOCALES = {"en": "en_GB", "cy": "cy_GB", "ga": "ga_IE", "gd": "gd_GB", "fr": "fr_FR",
            "de": "de_DE", "es": "es_ES", "it": "it_IT", "pl": "pl_PL", "pt": "pt_PT"}


def facebook_locale(language: str) -> str:
    """``en`` → ``en_GB``, ``fr-CA`` → ``fr_CA``: the locale a caption file is named with."""
    parts = language.replace("_", "-").split("-")
    lang = parts[0].lower()
    region = next((p.upper() for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    return f"{lang}_{region}" if region else _LOCALES.get(lang, f"{lang}_{lang.upper()}")


def phase(status: dict[str, Any], name: str) -> dict[str, Any]:
    """One phase of a video's ``status`` (uploading, processing, publishing); Meta leaves
    out phases that have not begun, so a missing one reads as empty."""
    value = status.get(name)
    return value if isinstance(value, dict) else {}


def phase_errors(status: dict[str, Any]) -> str:
    """Meta's words for a failed phase (``errors[].message``), or the phase's name."""
    words = []
    for name in ("uploading_phase", "processing_phase", "publishing_phase"):
        part = phase(status, name)
        if part.get("status") != "error":
            continue
        for err in part.get("errors") or []:
            if isinstance(err, dict) and err.get("message"):
                code = f" (code {err['code']})" if err.get("code") else ""
                words.append(f"{err['message']}{code}")
        if not words:
            words.append(f"{name.replace('_', ' ')} failed")
    return "; ".join(words) or "the video could not be processed"


class FacebookVideoFlow(GraphAdapter):
    """The video half of the ``facebook`` adapter (see the module docstring)."""

    #: Bytes per rupload request; a restart resumes from the last piece Meta has.
    upload_piece: ClassVar[int] = PIECE

    @property
    def page(self) -> str:
        raise NotImplementedError

    #: The image flow's unpublished-photo upload (the adapter's).
    _photo: Any

    @property
    def reel(self) -> bool:
        return getattr(self.settings, "format", "reel") == "reel"

    @property
    def story(self) -> bool:
        return getattr(self.settings, "format", "reel") == "story"

    @property
    def session(self) -> bool:
        """Whether a video goes through an upload session (Reels and Stories)."""
        return self.reel or self.story

    @property
    def edge(self) -> str:
        return "video_stories" if self.story else "video_reels"

    def session_url(self, video_id: str) -> str:
        if self.story:
            return f"https://www.facebook.com/stories/{self.page}/"
        return self.reel_url(video_id)

    def reel_url(self, video_id: str) -> str:
        return f"https://www.facebook.com/reel/{video_id}"

    def video_url(self, video_id: str) -> str:
        return f"https://www.facebook.com/{self.page}/videos/{video_id}/"

    # -- the flow -----------------------------------------------------------------------
    def publish_video(self, post: OutgoingPost) -> Published:
        return self._publish_reel(post) if self.session else self._publish_page_video(post)

    def _publish_reel(self, post: OutgoingPost) -> Published:
        state = self.progress(post)
        video_id = state.get("video_id")
        resumed = bool(video_id)
        if not video_id:
            # Starting a session shows nothing: a lost answer only leaves an empty session.
            doc = self.graph("POST", f"/{self.page}/{self.edge}",
                             data={"upload_phase": "start"}, idempotent=True)
            video_id, upload_url = str(doc["video_id"]), str(doc["upload_url"])
            state = self.remember(post, video_id=video_id, upload_url=upload_url)
        video_id = str(video_id)
        if not state.get("uploaded"):
            self._rupload(post, video_id, str(state.get("upload_url")), resumed=resumed)
            state = self.remember(post, uploaded=True)
        self._captions(post, video_id)
        if state.get("remote_id"):
            published = Published(remote_id=str(state["remote_id"]), url=state.get("url"))
        else:
            def finish() -> Published:
                self.graph("POST", f"/{self.page}/{self.edge}",
                           data=self._finish_form(post, video_id))
                return Published(remote_id=video_id, url=self.session_url(video_id))

            published = self.create(post, finish)
        self._await(post, video_id)
        return published

    def _finish_form(self, post: OutgoingPost, video_id: str) -> dict[str, str]:
        if self.story:
            return {"upload_phase": "finish", "video_id": video_id}
        return {"upload_phase": "finish", "video_id": video_id, "video_state": "PUBLISHED",
                "description": post.caption}

    def publish_photo_story(self, post: OutgoingPost) -> Published:
        image = post.images[0]
        # An unpublished photo shows nowhere; its id is recorded so a retry reuses it.
        photo_id = str(self.uploaded(post, image, lambda: self._photo(image, 1)))

        def send() -> Published:
            doc = self.graph("POST", f"/{self.page}/photo_stories", data={"photo_id": photo_id})
            post_id = str(doc.get("post_id") or photo_id)
            return Published(remote_id=post_id, url=f"https://www.facebook.com/{post_id}")

        return self.create(post, send)

    def check_photo_story(self, post: OutgoingPost) -> Published | None:
        uploads = self.progress(post).get("uploads") or {}
        photos = {str(v.get("id")) for v in uploads.values() if isinstance(v, dict)}
        if not photos:
            return None  # no photo was uploaded: no Story can show it
        doc = self.graph("GET", f"/{self.page}/stories",
                         params={"fields": "post_id,media_id,media_type,creation_time"})
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if isinstance(item, dict) and str(item.get("media_id")) in photos:
                post_id = str(item.get("post_id") or item["media_id"])
                return Published(remote_id=post_id, url=f"https://www.facebook.com/{post_id}")
        return self.nothing_found(post)

    def _publish_page_video(self, post: OutgoingPost) -> Published:
        state = self.progress(post)
        if state.get("remote_id"):
            published = Published(remote_id=str(state["remote_id"]), url=state.get("url"))
        else:
            def send() -> Published:
                doc = self.graph("POST", f"/{self.page}/videos", **self._video_request(post))
                video_id = str(doc["id"])
                return Published(remote_id=video_id, url=self.video_url(video_id))

            published = self.create(post, send)
        self._captions(post, published.remote_id)
        self._await(post, published.remote_id)
        return published

    def _video_request(self, post: OutgoingPost) -> dict[str, Any]:
        video = post.video
        assert video is not None
        form = {"description": post.caption, "published": "true"}
        if self._settings.media_host is not None:
            form["file_url"] = self.media_host().put_file(video)
            return {"data": form}
        return {"data": form, "files": {"source": ("video.mp4", video.read_bytes(), video.mime)}}

    # -- steps --------------------------------------------------------------------------
    def _rupload(self, post: OutgoingPost, video_id: str, upload_url: str, *,
                 resumed: bool) -> None:
        check_upload_address(self, upload_url)
        offset = 0
        if resumed:
            # A restart: Meta says how much of the file it has (it may be more than the
            # last piece recorded, never less than what it acknowledged).
            status = self._status(video_id)
            offset = int(phase(status, "uploading_phase").get("bytes_transferred") or 0)
        send_pieces(self, post, upload_url, offset, piece=self.upload_piece)

    def _captions(self, post: OutgoingPost, video_id: str) -> None:
        """The approved captions as a SubRip file, once per video."""
        video = post.video
        if video is None or video.captions_vtt is None or self.story or \
                self.progress(post).get("captions"):
            return  # Stories show no captions file: theirs are burned in
        from scheduler.media.video.captions import srt_from_webvtt

        locale = facebook_locale(post.language)
        srt = srt_from_webvtt(video.captions_vtt).encode("utf-8")
        try:
            self.graph("POST", f"/{video_id}/captions", data={"default_locale": locale},
                       files={"captions_file": (f"captions.{locale}.srt", srt,
                                                "application/x-subrip")}, idempotent=True)
        except PermanentPublishError as exc:
            if self.session or not self.progress(post).get("remote_id"):
                raise
            # The video is public already: a refused caption file must not turn a
            # published delivery into a failed one. It is recorded and logged instead.
            self.remember(post, captions=f"refused: {exc}")
            log.warning("%s: captions of video %s refused: %s", self.http.platform, video_id,
                        exc)
            return
        self.remember(post, captions=locale)

    def _status(self, video_id: str) -> dict[str, Any]:
        doc = self.graph("GET", f"/{video_id}", params={"fields": "status"})
        status = doc.get("status") if isinstance(doc, dict) else None
        return status if isinstance(status, dict) else {}

    def _await(self, post: OutgoingPost, video_id: str) -> None:
        def poll() -> Processing:
            status = self._status(video_id)
            overall = str(status.get("video_status") or "")
            if overall == "error" or any(phase(status, n).get("status") == "error" for n in
                                         ("uploading_phase", "processing_phase",
                                          "publishing_phase")):
                return Processing("failed", detail=phase_errors(status))
            if overall == "expired":
                return Processing("failed", detail="Meta let the upload session expire")
            if self.session:
                done = phase(status, "publishing_phase").get("status") == "complete"
            else:
                done = overall == "ready"
            return Processing("done" if done else "pending")

        kind = "Reel" if self.reel else "Story" if self.story else "video"
        self.await_processing(post, f"the {kind} {video_id}", poll, self.sleep)

    # -- check and plan -----------------------------------------------------------------
    def check_video(self, post: OutgoingPost) -> Published | None:
        state = self.progress(post)
        if self.session:
            video_id = state.get("video_id")
            if not video_id:
                return None  # no upload began: nothing can have been published
            try:
                status = self._status(str(video_id))
            except PermanentPublishError:
                return None
            publishing = phase(status, "publishing_phase")
            if publishing.get("status") in ("in_progress", "complete") or \
                    publishing.get("publish_status") == "published":
                return Published(remote_id=str(video_id),
                                 url=self.session_url(str(video_id)))
            return None  # the finish never reached Meta: the status says so for certain
        known = state.get("remote_id")
        if known:
            try:
                doc = self.graph("GET", f"/{known}", params={"fields": "id"})
            except PermanentPublishError:
                doc = None
            if isinstance(doc, dict) and doc.get("id"):
                return Published(remote_id=str(known), url=self.video_url(str(known)))
        doc = self.graph("GET", f"/{self.page}/videos",
                         params={"fields": "id,description,created_time", "limit": 25})
        wanted = normalise_text(post.caption)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if normalise_text(str(item.get("description") or "")) != wanted:
                continue
            if recent_enough(item.get("created_time"), post):
                return Published(remote_id=str(item["id"]), url=self.video_url(str(item["id"])))
        return self.nothing_found(post)

    def plan_video(self, post: OutgoingPost) -> list[PlannedRequest]:
        video = post.video
        assert video is not None
        auth = {"Authorization": "Bearer ***"}
        planned: list[PlannedRequest] = []
        if self.session:
            planned.append(self.http.plan("POST", f"/{self.page}/{self.edge}", headers=auth,
                                          data={"upload_phase": "start"}))
            pieces = max(1, -(-video.size // self.upload_piece))
            planned.append(PlannedRequest(
                method="POST", url=f"<upload_url of the {'Story' if self.story else 'Reel'}>",
                headers={"Authorization": "OAuth ***", "offset": "0",
                         "file_size": str(video.size)},
                body=f"<{video.mime}, {video.size:,} bytes in {pieces} piece(s)>"))
        else:
            form = {"description": post.caption, "published": "true"}
            if self._settings.media_host is not None:
                form["file_url"] = self.media_host().url_for_file(video)
            else:
                form["source"] = f"<{video.mime}, {video.size:,} bytes as multipart>"
            planned.append(self.http.plan("POST", f"/{self.page}/videos", headers=auth,
                                          data=form))
        if video.captions_vtt is not None and not self.story:
            locale = facebook_locale(post.language)
            planned.append(PlannedRequest(
                method="POST", url=self.http.url("/<video id>/captions"), headers=auth,
                body={"default_locale": locale,
                      "captions_file": f"captions.{locale}.srt (SubRip from the approved "
                                       "WebVTT)"}))
        if self.session:
            planned.append(self.http.plan("POST", f"/{self.page}/{self.edge}", headers=auth,
                                          data=self._finish_form(post, "<video id>")))
        planned.append(self.http.plan("GET", "/<video id>?fields=status", headers=auth))
        return planned

