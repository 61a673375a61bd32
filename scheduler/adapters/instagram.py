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

Errors, container reuse and ``check`` are described in :mod:`scheduler.adapters.meta` and
:mod:`scheduler.adapters.containers`.
Settings: ``base_url`` (https://graph.facebook.com/v25.0 for a Facebook-login token,
https://graph.instagram.com/v25.0 for an Instagram-login token), ``user_id`` (the
Instagram professional account id), ``token_env``, ``token_expires`` (optional ISO date:
long-lived tokens last 60 days) and ``media_host``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scheduler.adapters.base import (
    Adapter,
    OutgoingImage,
    OutgoingPost,
    PublishedPost,
)
from scheduler.adapters.containers import GraphContainerAdapter
from scheduler.adapters.meta import GraphSettings
from scheduler.mediahost import MediaHostConfig


class InstagramSettings(GraphSettings):
    """See the module docstring."""

    base_url: str = "https://graph.facebook.com/v25.0"
    user_id: str
    media_host: MediaHostConfig


class InstagramAdapter(GraphContainerAdapter):
    """Publishes image posts and carousels to one Instagram professional account."""

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

    @property
    def user(self) -> str:
        assert isinstance(self.settings, InstagramSettings)
        return self.settings.user_id

    def container_steps(
        self, post: OutgoingPost, url_of: Callable[[OutgoingImage], str]
    ) -> list[dict[str, Any]]:
        if len(post.images) == 1:
            image = post.images[0]
            return [{"image_url": url_of(image), "caption": post.caption, "alt_text": image.alt}]
        children = [
            {"image_url": url_of(image), "is_carousel_item": True, "alt_text": image.alt}
            for image in post.images
        ]
        return [*children, {"media_type": "CAROUSEL", "caption": post.caption}]

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
