"""The ``facebook`` adapter: posts with photos on a Facebook Page.

Flow (https://developers.facebook.com/docs/pages-api/posts/ and
https://developers.facebook.com/docs/graph-api/reference/page/photos/):

* one photo: ``POST /{page-id}/photos`` with ``url`` (from the media host) or the bytes
  as multipart ``source``, ``caption`` and ``alt_text_custom`` → ``id``, ``post_id``;
* several photos: each ``POST /{page-id}/photos`` with ``published=false`` (an unpublished
  photo shows nowhere, so a lost answer there is harmless), then ``POST /{page-id}/feed``
  with ``message`` and ``attached_media[i]={"media_fbid": id}``;
* no photo: ``POST /{page-id}/feed`` with ``message``.

The permalink comes from ``GET /{post-id}?fields=permalink_url``. Facebook has no
idempotency key: a lost answer to the publishing call raises OutcomeUnknown and ``check``
looks for the message among the Page's latest posts (``GET /{page-id}/posts``), not older
than the delivery's due time. Errors follow :mod:`scheduler.adapters.meta` (80001, Page
throttled, waits; 506, duplicate, is settled with ``check``: it may be this delivery's own
post from an attempt whose answer was lost).

Video: a Reel, or with ``format = "video"`` an ordinary Page video with a caption file;
``format = "story"`` publishes each post as a Page Story (one image or one video); see
:mod:`scheduler.adapters.facebook_video`.

Settings: ``base_url`` (default https://graph.facebook.com/v25.0), ``page_id``,
``token_env`` (a Page access token), ``token_expires`` (optional), ``media_host``
(optional: without it the bytes are uploaded directly) and ``format`` (``reel``, the
default, or ``video``: what a video post becomes).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from scheduler.adapters.base import OutgoingImage, OutgoingPost, PlannedRequest, Published
from scheduler.adapters.facebook_video import FacebookVideoFlow
from scheduler.adapters.meta import GraphSettings, normalise_text, recent_enough
from scheduler.errors import PermanentPublishError, PublishError

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}


class FacebookSettings(GraphSettings):
    """See the module docstring."""

    base_url: str = "https://graph.facebook.com/v25.0"
    page_id: str
    format: Literal["reel", "video", "story"] = "reel"


class FacebookAdapter(FacebookVideoFlow):
    """Publishes posts with photos, Reels and videos to one Facebook Page."""

    platform = "facebook"
    label = "facebook"
    settings_model = FacebookSettings
    #: How many of the Page's latest posts ``check`` reads.
    check_window = 25
    publishes_video = True

    @property
    def page(self) -> str:
        assert isinstance(self.settings, FacebookSettings)
        return self.settings.page_id

    # -- requests -----------------------------------------------------------------------
    def _photo_request(self, image: OutgoingImage, index: int, *, planned: bool = False,
                       **fields: Any) -> dict[str, Any]:
        """Keyword arguments for the photo call: by URL with a media host, else multipart."""
        form = {k: v for k, v in fields.items() if v not in (None, "")}
        if image.alt:
            form["alt_text_custom"] = image.alt
        if self._settings.media_host is not None:
            form["url"] = self.planned_image_url(image) if planned else self.image_url(image)
            return {"data": form}
        name = f"{index}.{_EXTENSIONS.get(image.mime, 'jpg')}"
        return {"data": form, "files": {"source": (name, image.read_bytes(), image.mime)}}

    @staticmethod
    def _feed_form(post: OutgoingPost, photo_ids: list[str]) -> dict[str, str]:
        form = {"message": post.caption}
        for n, photo_id in enumerate(photo_ids):
            form[f"attached_media[{n}]"] = json.dumps({"media_fbid": photo_id})
        return form

    def _published(self, post_id: str) -> Published:
        try:
            doc = self.graph("GET", f"/{post_id}", params={"fields": "permalink_url"})
            link = doc.get("permalink_url") if isinstance(doc, dict) else None
        except PublishError:
            link = None  # the post exists; a missing link must not fail the delivery
        return Published(remote_id=post_id,
                         url=str(link) if link else f"https://www.facebook.com/{post_id}")

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        self.check_fits(post)
        self.check_version()
        if post.video is not None:
            return self.publish_video(post)
        if self.story:
            return self.publish_photo_story(post)
        return self.publish_commented(post, self._publish_one, self.comment)

    def _publish_one(self, post: OutgoingPost) -> Published:
        """The Page post itself: one photo, several, or text."""
        if len(post.images) == 1:
            def send_photo() -> Published:
                doc = self.graph("POST", f"/{self.page}/photos",
                                 **self._photo_request(post.images[0], 1, caption=post.caption))
                return self._published(str(doc.get("post_id") or doc["id"]))

            return self.create(post, send_photo)
        # Unpublished photos show nowhere; their ids are recorded so a retry reuses them.
        photo_ids = [str(self.uploaded(post, image, lambda image=image, n=n: self._photo(image, n)))
                     for n, image in enumerate(post.images, start=1)]

        def send() -> Published:
            doc = self.graph("POST", f"/{self.page}/feed", data=self._feed_form(post, photo_ids))
            return self._published(str(doc["id"]))

        return self.create(post, send)

    def _photo(self, image: OutgoingImage, index: int) -> str:
        doc = self.graph("POST", f"/{self.page}/photos", idempotent=True,
                         **self._photo_request(image, index, published="false"))
        return str(doc["id"])

    def check(self, post: OutgoingPost) -> Published | None:
        if post.video is not None:
            return self.check_video(post)
        if self.story:
            return self.check_photo_story(post)
        return self.check_thread(post, lambda p: self.find_comment(p) if p.part > 1
                                 else self._check_one(p))

    def _check_one(self, post: OutgoingPost) -> Published | None:
        known = self.progress(post).get("remote_id")
        if known:
            try:
                doc = self.graph("GET", f"/{known}", params={"fields": "permalink_url"})
            except PermanentPublishError:
                doc = None  # deleted since: look among the latest posts
            if isinstance(doc, dict) and doc.get("id"):
                link = doc.get("permalink_url")
                return Published(remote_id=str(known),
                                 url=str(link) if link else f"https://www.facebook.com/{known}")
        doc = self.graph("GET", f"/{self.page}/posts",
                         params={"fields": "id,message,permalink_url,created_time",
                                 "limit": self.check_window})
        wanted = normalise_text(post.caption)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if normalise_text(str(item.get("message") or "")) != wanted:
                continue
            if not recent_enough(item.get("created_time"), post):
                continue
            link = item.get("permalink_url")
            return Published(remote_id=str(item["id"]),
                             url=str(link) if link else f"https://www.facebook.com/{item['id']}")
        return self.nothing_found(post)

    def fit_problems(self, post: OutgoingPost, profile: Any = None,
                     who: str | None = None) -> list[str]:
        problems = super().fit_problems(post, profile, who)
        if self.story and post.video is None and len(post.images) != 1:
            problems.append(f"{len(post.images)} images; a Facebook Page Story takes one image "
                            "or one video")
        return problems

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        if post.video is not None:
            return self.plan_video(post)
        auth = {"Authorization": "Bearer ***"}
        planned: list[PlannedRequest] = []
        if self.story:
            kwargs = self._photo_request(post.images[0], 1, planned=True, published="false")
            return [self.http.plan("POST", f"/{self.page}/photos", headers=auth, **kwargs),
                    self.http.plan("POST", f"/{self.page}/photo_stories", headers=auth,
                                   data={"photo_id": "<id of the photo>"})]
        if len(post.images) == 1:
            kwargs = self._photo_request(post.images[0], 1, planned=True, caption=post.caption)
            return [self.http.plan("POST", f"/{self.page}/photos", headers=auth, **kwargs)]
        for n, image in enumerate(post.images, start=1):
            kwargs = self._photo_request(image, n, planned=True, published="false")
            planned.append(self.http.plan("POST", f"/{self.page}/photos", headers=auth, **kwargs))
        ids = [f"<id of photo {n}>" for n in range(1, len(post.images) + 1)]
        planned.append(self.http.plan("POST", f"/{self.page}/feed", headers=auth,
                                      data=self._feed_form(post, ids)))
        return planned

    def verify(self) -> str:
        doc = self.graph("GET", f"/{self.page}", params={"fields": "name"})
        return self._with_expiry(f"posts to the Page {doc.get('name') or self.page}")
