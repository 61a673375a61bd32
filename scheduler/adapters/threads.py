"""The ``threads`` adapter: text, image and carousel posts on Threads.

Flow (https://developers.facebook.com/docs/threads/posts):

1. ``GET /{user}/threads_publishing_limit?fields=quota_usage,config`` — 250 posts per
   rolling 24 hours; over quota the delivery waits (RateLimited).
2. Images go to the channel's media host: Threads fetches them from a public URL.
3. ``POST /{user}/threads`` with ``media_type`` TEXT (no image) or IMAGE (``image_url``,
   ``alt_text``) and ``text`` → container; for 2–20 images one ``is_carousel_item``
   container each, then ``media_type=CAROUSEL`` with ``children`` and the text.
   A video is ``media_type=VIDEO`` with ``video_url`` (the media host), ``alt_text`` and
   ``text``; as a carousel item, ``media_type=VIDEO`` with ``is_carousel_item=true``
   (https://developers.facebook.com/docs/threads/posts#step-1--create-a-threads-media-container
   and #carousel-posts). A post with images and a video is one carousel (up to 20
   items): the images in order, then the video.
4. ``GET /{container}?fields=status`` until FINISHED. Threads asks to wait about 30
   seconds for a video before publishing; the status (IN_PROGRESS, FINISHED, ERROR with
   ``error_message``, EXPIRED, PUBLISHED) is polled within the video budget and a
   container still processing is asked about again by the next attempt.
5. ``POST /{user}/threads_publish`` with ``creation_id`` → media id; the permalink from
   ``GET /{media-id}?fields=permalink``.

The 500-character limit (emoji counted by UTF-8 bytes) and the 5-link limit come from
the ``threads`` platform profile and are checked before anything is sent. Errors,
container reuse and ``check`` are described in :mod:`scheduler.adapters.meta` and
:mod:`scheduler.adapters.containers`.
Settings: ``base_url`` (default https://graph.threads.net/v1.0), ``user_id`` (default
``me``), ``token_env``, ``token_expires`` (optional ISO date; tokens last 60 days) and
``media_host`` (needed only for posts with images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scheduler.adapters.base import OutgoingPost, OutgoingVideo, Published, PublishedPost
from scheduler.adapters.containers import GraphContainerAdapter, Media
from scheduler.adapters.meta import GraphSettings


def threads_item(item: Media, url_of: Callable[[Media], str]) -> dict[str, Any]:
    """One container's media fields: an image or a video, with its alt text."""
    if isinstance(item, OutgoingVideo):
        return {"media_type": "VIDEO", "video_url": url_of(item), "alt_text": item.alt}
    return {"media_type": "IMAGE", "image_url": url_of(item), "alt_text": item.alt}


class ThreadsSettings(GraphSettings):
    """See the module docstring."""

    base_url: str = "https://graph.threads.net/v1.0"
    user_id: str = "me"


class ThreadsAdapter(GraphContainerAdapter):
    """Publishes posts to one Threads profile."""

    platform = "threads"
    graph_versioned = False  # graph.threads.net has its own versions
    label = "threads"
    settings_model = ThreadsSettings
    create_path = "threads"
    publish_path = "threads_publish"
    limit_path = "threads_publishing_limit"
    status_field = "status"
    text_field = "text"
    list_path = "threads"
    list_fields = "id,text,permalink,timestamp"
    publishes_video = True

    @property
    def user(self) -> str:
        assert isinstance(self.settings, ThreadsSettings)
        return self.settings.user_id

    def publish_parts(self, post: OutgoingPost) -> Published:
        """A thread's parts as a chain of replies, each part exactly once."""
        return self.publish_thread(post, self._publish_one)

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, super().check)

    def listing(self, post: OutgoingPost) -> tuple[str, str]:
        # A thread's later parts are replies, which Threads lists apart from the profile's
        # threads: GET /{threads-user-id}/replies
        # (https://developers.facebook.com/docs/threads/retrieve-and-manage-replies).
        return ("replies" if post.reply_to is not None else self.list_path), post.caption

    def retract(self, post: PublishedPost) -> None:
        """Every part of a thread, the last first (see the Graph adapters' ``retract``)."""
        for media_id in self.thread_ids(post):
            super().retract(replace(post, remote_id=media_id))

    def container_steps(
        self, post: OutgoingPost, url_of: Callable[[Media], str]
    ) -> list[dict[str, Any]]:
        steps = self._steps(post, url_of)
        if post.reply_to is not None:
            # A reply is a post whose container names the post it answers
            # (https://developers.facebook.com/docs/threads/reply-management#create-replies,
            # reply_to_id).
            steps[-1]["reply_to_id"] = str(post.reply_to["id"])
        return steps

    def _steps(
        self, post: OutgoingPost, url_of: Callable[[Media], str]
    ) -> list[dict[str, Any]]:
        # Images and a video travel as one carousel: the images in order, the video last.
        items: tuple[Media, ...] = (*post.images, *(() if post.video is None else (post.video,)))
        if not items:
            return [{"media_type": "TEXT", "text": post.caption}]
        if len(items) == 1:
            return [{**threads_item(items[0], url_of), "text": post.caption}]
        children = [{**threads_item(item, url_of), "is_carousel_item": True} for item in items]
        return [*children, {"media_type": "CAROUSEL", "text": post.caption}]

    def verify(self) -> str:
        doc = self.graph("GET", f"/{self.user}", params={"fields": "username"})
        return self._with_expiry(f"signed in as @{doc.get('username') or self.user}")
