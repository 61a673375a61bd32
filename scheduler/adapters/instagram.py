"""The ``instagram`` adapter: image posts and carousels through the content publishing API.

Flow (https://developers.facebook.com/docs/instagram-platform/content-publishing/):

1. ``GET /{ig-user-id}/content_publishing_limit?fields=quota_usage,config`` — 50 API posts
   per rolling 24 hours; over quota the delivery waits (RateLimited), it does not fail.
2. The images go to the channel's media host, because Instagram fetches them from a
   public https URL and takes no uploads.
3. ``POST /{ig-user-id}/media`` with ``image_url``, ``caption``, ``alt_text`` → container;
   for 2–10 images one container per image with ``is_carousel_item=true``, then a
   ``media_type=CAROUSEL`` container with ``children`` and the caption.
4. ``GET /{container}?fields=status_code`` until FINISHED (sleep injectable for tests).
5. ``POST /{ig-user-id}/media_publish`` with ``creation_id`` → media id; the permalink
   from ``GET /{media-id}?fields=permalink``.

A video is a Reel (https://developers.facebook.com/docs/instagram-platform/
instagram-graph-api/reference/ig-user/media#creating, since November 2023 the only way
to publish a video to the feed): ``media_type=REELS`` with ``video_url`` (the channel's
media host), ``caption``, ``share_to_feed`` (setting, default true) and ``cover_url`` when
the post has a cover image; Meta then transcodes it, and the container is polled as the
containers module describes. ``format = "story"`` makes the channel publish Stories:
``media_type=STORIES`` with ``image_url`` or ``video_url``, one image or one video, no
caption (Stories show none); ``check`` then looks among the account's current Stories
(``GET /{ig-user-id}/stories``), since a Story never appears in ``/media``. A carousel
item that is a video is ``media_type=VIDEO`` with ``is_carousel_item=true`` and
``video_url`` (never the resumable upload): a post with images and a video is one
carousel of up to 10 items, the images in order and then the video.

Errors, container reuse and ``check`` are described in :mod:`scheduler.adapters.meta` and
:mod:`scheduler.adapters.containers`.
Settings: ``base_url`` (https://graph.facebook.com/v25.0 for a Facebook-login token,
https://graph.instagram.com/v25.0 for an Instagram-login token), ``user_id`` (the
Instagram professional account id), ``token_env``, ``token_expires`` (optional ISO date:
long-lived tokens last 60 days), ``media_host``, ``format`` (``feed``, the default, or
``story``) and ``share_to_feed`` (Reels also in the feed grid; default true).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from scheduler.adapters.base import (
    Adapter,
    OutgoingPost,
    OutgoingVideo,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.containers import GraphContainerAdapter, Media
from scheduler.adapters.meta import ContainerExpired, GraphSettings
from scheduler.adapters.rupload import PIECE
from scheduler.mediahost import MediaHostConfig


class InstagramSettings(GraphSettings):
    """See the module docstring."""

    base_url: str = "https://graph.facebook.com/v25.0"
    user_id: str
    media_host: MediaHostConfig
    format: Literal["feed", "story"] = "feed"
    share_to_feed: bool = True
    video_upload: Literal["url", "resumable"] = "url"



def carousel_item(item: Media, url_of: Callable[[Media], str]) -> dict[str, Any]:
    """One carousel child: an image, or a video as ``media_type=VIDEO``."""
    if isinstance(item, OutgoingVideo):
        return {"media_type": "VIDEO", "video_url": url_of(item), "is_carousel_item": True}
    return {"image_url": url_of(item), "is_carousel_item": True, "alt_text": item.alt}


class InstagramAdapter(GraphContainerAdapter):
    """Publishes image posts, carousels, Reels and Stories to one Instagram professional
    account."""

    platform = "instagram"
    label = "instagram"
    settings_model = InstagramSettings
    create_path = "media"
    publish_path = "media_publish"
    limit_path = "content_publishing_limit"
    status_field = "status_code"
    text_field = "caption"
    list_path = "media"
    list_fields = "id,caption,permalink,timestamp"
    publishes_video = True
    #: Bytes per request of a resumable upload.
    upload_piece = PIECE
    comment_text_field = "text"

    def publish_parts(self, post: OutgoingPost) -> Published:
        """The post, then its first comment (``first_comment:``), each exactly once."""
        return self.publish_commented(post, self._publish_one, self.comment)

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, lambda p: self.find_comment(p) if p.part > 1
                                 else super(InstagramAdapter, self).check(p))

    @property
    def user(self) -> str:
        assert isinstance(self.settings, InstagramSettings)
        return self.settings.user_id

    @property
    def story(self) -> bool:
        assert isinstance(self.settings, InstagramSettings)
        return self.settings.format == "story"

    def fit_problems(self, post: OutgoingPost, profile: Any = None,
                     who: str | None = None) -> list[str]:
        problems = super().fit_problems(post, profile, who)
        if self.story and len(post.images) > 1 and post.video is None:
            problems.append(f"{len(post.images)} images; an Instagram Story takes one image "
                            "or one video")
        return problems

    def takes_mixed(self, profile: Any) -> bool:
        return not self.story and super().takes_mixed(profile)

    def container_steps(
        self, post: OutgoingPost, url_of: Callable[[Media], str]
    ) -> list[dict[str, Any]]:
        assert isinstance(self.settings, InstagramSettings)
        video = post.video
        if video is not None and post.images and not self.story:
            # Images and a video: one carousel, the images in order and the video last
            # (https://developers.facebook.com/docs/instagram-platform/content-publishing#carousel-posts).
            # The video item is fetched from video_url; the cover is a Reel's alone.
            items: tuple[Media, ...] = (*post.images, video)
            children = [carousel_item(item, url_of) for item in items]
            return [*children, {"media_type": "CAROUSEL", "caption": post.caption}]
        if video is not None and self.settings.video_upload == "resumable":
            # The bytes go to rupload.facebook.com after the container is built.
            source: dict[str, Any] = {"upload_type": "resumable"}
        elif video is not None:
            source = {"video_url": url_of(video)}
        if self.story:
            # https://developers.facebook.com/docs/instagram-platform/content-publishing/#stories
            media = source if video is not None else {"image_url": url_of(post.images[0])}
            return [{"media_type": "STORIES", **media}]
        if video is not None:
            reel: dict[str, Any] = {"media_type": "REELS", **source,
                                    "caption": post.caption,
                                    "share_to_feed": self.settings.share_to_feed}
            if video.cover is not None:
                reel["cover_url"] = url_of(video.cover)
            return [reel]
        if len(post.images) == 1:
            image = post.images[0]
            return [{"image_url": url_of(image), "caption": post.caption, "alt_text": image.alt}]
        children = [carousel_item(image, url_of) for image in post.images]
        return [*children, {"media_type": "CAROUSEL", "caption": post.caption}]

    def send_media(self, post: OutgoingPost, container_id: str) -> None:
        """The resumable upload: the video in pieces to the container's ``uri``. A restart
        continues from the last piece Meta acknowledged; if Meta refuses that offset, the
        container (which shows nothing) is dropped and the next attempt builds a new one."""
        from scheduler.adapters.rupload import UploadRefused, send_pieces

        state = self.progress(post)
        if post.video is None or state.get("uploaded_bytes") == post.video.size:
            return
        try:
            send_pieces(self, post, str(state["upload_uri"]),
                        int(state.get("uploaded_bytes") or 0), piece=self.upload_piece)
        except UploadRefused as exc:
            self.forget_container(post)
            raise ContainerExpired(f"{exc}; the upload starts again in a new container") \
                from None

    def planned_upload(self, post: OutgoingPost) -> list[PlannedRequest]:
        assert isinstance(self.settings, InstagramSettings)
        video = post.video
        if video is None or self.settings.video_upload != "resumable" or post.images:
            return []  # a carousel's video item is fetched from video_url
        pieces = max(1, -(-video.size // self.upload_piece))
        return [PlannedRequest(method="POST", url="<uri of the container>",
                               headers={"Authorization": "OAuth ***", "offset": "0",
                                        "file_size": str(video.size)},
                               body=f"<{video.mime}, {video.size:,} bytes in {pieces} "
                                    "piece(s)>")]

    def listing(self, post: OutgoingPost) -> tuple[str, str]:
        # A Story has no caption and is listed only among the account's current Stories
        # (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/
        # reference/ig-user/stories).
        return ("stories", "") if self.story else (self.list_path, post.caption)

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        planned = super().plan(post)
        reel = post.video is not None and not post.images and not self.story
        if reel and post.video is not None and post.video.cover is not None:
            cover = post.video.cover
            planned.insert(1, PlannedRequest(method="STORE", url=self.planned_image_url(cover),
                                             body=f"<{cover.mime} cover, "
                                                  f"{cover.width}x{cover.height}>"))
        return planned

    # The IG Media reference (https://developers.facebook.com/docs/instagram-platform/
    # reference/instagram-media) documents reading and updating published media; deletion
    # appears only in third-party reports, for Facebook-login tokens alone, so postq does
    # not rely on it: a person takes the post down, following these steps.
    retract = Adapter.retract

    def is_gone(self, post: PublishedPost) -> bool | None:
        return None  # media that a person deleted answers like a missing permission

    def manual_steps(self, post: PublishedPost) -> list[str]:
        where = post.url or f"the media with id {post.remote_id}"
        return [
            f"Open {where} in the Instagram app or on instagram.com, signed in to the "
            f"account of channel '{self.channel}'.",
            "Tap the three dots (...) above the post, then Delete, and confirm.",
            f"Record it: postq retract --done {post.ref}",
        ]

    def verify(self) -> str:
        doc = self.graph("GET", f"/{self.user}", params={"fields": "username"})
        return self._with_expiry(f"signed in as @{doc.get('username') or self.user}")
