"""The ``mastodon`` adapter: images or a video through the v2 media API, then one status.

A video's upload and processing are in :mod:`scheduler.adapters.mastodon_video`.

Flow (https://docs.joinmastodon.org/methods/media/ and .../methods/statuses/):

1. ``GET /api/v2/instance`` once per adapter: this instance's caption, attachment and
   alt-text limits, which differ between servers, so a post that does not fit is refused
   here rather than half-sent.
2. ``POST /api/v2/media`` per image with ``description`` (alt text) and ``focus``;
   200 means ready, 202 means the server is still processing: poll
   ``GET /api/v1/media/:id`` until ``url`` is set.
3. ``POST /api/v1/statuses`` with ``Idempotency-Key`` = the delivery id, which Mastodon
   remembers for about an hour, so a retry of a call that had in fact succeeded returns
   the same status instead of posting twice.

The key is kept only about an hour, so it is no substitute for asking: after an unknown
outcome ``check`` looks the status up by id when an attempt recorded one (in the store),
otherwise among the account's latest statuses created since the delivery's due time,
comparing the text as Mastodon renders it: HTML paragraphs and line breaks, where any run
of blank lines is one paragraph break
(https://docs.joinmastodon.org/spec/activitypub/#html).
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import timedelta
from typing import Any, Literal

from scheduler.adapters.base import (
    AdapterSettings,
    OutgoingImage,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.http import HttpAdapter, error_message_of, raise_for_status, redact
from scheduler.adapters.mastodon_video import MastodonVideo
from scheduler.adapters.meta import recent_enough
from scheduler.errors import PermanentPublishError, TransientPublishError

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


class MastodonSettings(AdapterSettings):
    """``base_url`` of the instance, ``token_env`` naming the access-token variable,
    ``visibility`` of the statuses (public, unlisted, private, direct);
    ``video_size_limit``, ``video_frame_rate_limit`` and ``video_matrix_limit``: the
    instance's video limits as its ``/api/v2/instance`` gives them, for ``validate`` and
    the renders (at publishing time the instance's own answer is checked)."""

    base_url: str
    token_env: str
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    video_size_limit: int | None = None
    video_frame_rate_limit: int | None = None
    video_matrix_limit: int | None = None


class MastodonAdapter(HttpAdapter[MastodonSettings]):
    """Publishes a status with its images to one Mastodon account."""

    platform = "mastodon"
    label = "mastodon"
    settings_model = MastodonSettings
    publishes_video = True
    #: How often to ask whether an uploaded image is ready, and the longest pause between.
    media_poll_attempts = 12
    media_poll_max_interval = 5.0
    #: How many of the account's latest statuses ``check`` reads.
    check_window = 20
    #: A new status reaches the account's timeline through a queue, a moment later.
    listing_lag = timedelta(minutes=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._instance: dict[str, Any] | None = None
        self.video = MastodonVideo(self)

    def http_base_url(self) -> str:
        return self._settings.base_url

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('token_env')}"}

    # -- instance limits ----------------------------------------------------------------
    def instance_limits(self) -> dict[str, int]:
        """This instance's limits (fetched once), falling back to Mastodon's defaults."""
        if self._instance is None:
            doc = self.http.json("GET", "/api/v2/instance")
            self._instance = doc if isinstance(doc, dict) else {}
        conf = self._instance.get("configuration") or {}
        statuses = conf.get("statuses") or {}
        media = conf.get("media_attachments") or {}
        profile = self.profile(self.settings.text_limit)

        def number(value: Any, default: int) -> int:
            return value if isinstance(value, int) and value > 0 else default

        return {
            "max_characters": number(statuses.get("max_characters"), 500),
            "max_media_attachments": number(statuses.get("max_media_attachments"), 4),
            "description_limit": number(media.get("description_limit"), 1500),
            "image_size_limit": number(media.get("image_size_limit"), profile.image_max_bytes),
            "video_size_limit": number(media.get("video_size_limit"), 99 * 1024 * 1024),
        }

    # -- requests -----------------------------------------------------------------------
    @staticmethod
    def _focus(image: OutgoingImage) -> str | None:
        """postq's focus (0..1 from the top left) as Mastodon's (-1..1, y up).

        https://docs.joinmastodon.org/api/guidelines/#focal-points
        """
        if image.focus is None:
            return None
        x, y = image.focus
        fx = max(-1.0, min(1.0, x * 2 - 1))
        fy = max(-1.0, min(1.0, 1 - y * 2))
        return f"{fx:.2f},{fy:.2f}"

    def _media_form(self, image: OutgoingImage) -> dict[str, str]:
        form = {"description": image.alt}
        focus = self._focus(image)
        if focus is not None:
            form["focus"] = focus
        return form

    @staticmethod
    def _filename(image: OutgoingImage, index: int) -> str:
        return f"{index}.{_EXTENSIONS.get(image.mime, 'bin')}"

    def _status_body(self, post: OutgoingPost, media_ids: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"status": post.caption, "visibility": self._settings.visibility}
        if media_ids:
            body["media_ids"] = media_ids
        if post.reply_to is not None:
            # A thread's later part answers the one before it
            # (https://docs.joinmastodon.org/methods/statuses/#create, in_reply_to_id).
            body["in_reply_to_id"] = str(post.reply_to["id"])
        language = post.language.split("-")[0].lower()  # ISO 639, not a BCP-47 tag
        if language:
            body["language"] = language
        return body

    def _upload(self, image: OutgoingImage, index: int) -> str:
        # Uploading has no public effect, so losing the answer is merely transient.
        response = self.http.request(
            "POST", "/api/v2/media", headers=self.auth(),
            files={"file": (self._filename(image, index), image.read_bytes(), image.mime)},
            data=self._media_form(image), idempotent=True,
        )
        media = response.json()
        media_id = str(media["id"])
        if response.status_code == 202 or not media.get("url"):
            self._wait_for_media(media_id)
        return media_id

    def _wait_for_media(self, media_id: str) -> None:
        interval = 1.0
        for _ in range(self.media_poll_attempts):
            self.sleep(interval)
            response = self.http.request("GET", f"/api/v1/media/{media_id}", headers=self.auth())
            if response.status_code == 200 and response.json().get("url"):
                return
            interval = min(interval * 2, self.media_poll_max_interval)
        raise TransientPublishError(
            f"mastodon '{self.channel}': image {media_id} is still being processed"
        )

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        limits = self.instance_limits()
        instance = replace(
            self.profile(self.settings.text_limit), text_limit=limits["max_characters"],
            max_images=limits["max_media_attachments"], alt_limit=limits["description_limit"],
            image_max_bytes=limits["image_size_limit"])
        self.check_fits(post, instance, "this instance")
        return self.publish_thread(post, self._publish_one)

    def _publish_one(self, post: OutgoingPost) -> Published:
        """One status: the post, or one part of a thread (its own Idempotency-Key)."""
        # Unattached uploads are kept a day by default (media_cleanup); reuse within 20 h.
        media_ids = [str(self.uploaded(post, image, lambda image=image, n=n:
                                       self._upload(image, n)))
                     for n, image in enumerate(post.images, start=1)]
        if post.video is not None:
            limit = self.instance_limits().get("video_size_limit")
            media_ids = [self.video.media_id(post, limit)]
        return self.create(post, lambda: self._post_status(post, media_ids))

    def _post_status(self, post: OutgoingPost, media_ids: list[str]) -> Published:
        response = self.http.request(
            "POST", "/api/v1/statuses",
            headers={**self.auth(), "Idempotency-Key": post.key},
            json_body=self._status_body(post, media_ids), check=False,
        )
        if response.status_code == 422:
            message = redact(error_message_of(response), self.secrets())
            text = f"mastodon '{self.channel}': POST /api/v1/statuses answered 422: {message}"
            # Media attached before the server finished it: worth another try shortly.
            if "processing" in message.lower():
                raise TransientPublishError(text, retry_after=5.0)
            raise PermanentPublishError(text)
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())
        status = response.json()
        return Published(remote_id=str(status["id"]), url=status.get("url") or status.get("uri"))

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, self._check_one)

    def _check_one(self, post: OutgoingPost) -> Published | None:
        status_id = self.progress(post).get("remote_id")
        if status_id:
            response = self.http.request(
                "GET", f"/api/v1/statuses/{status_id}", headers=self.auth(), check=False
            )
            if response.status_code != 404:
                raise_for_status(response, platform=self.http.platform,
                                 secrets=self.secrets(), now=self.clock.now())
                status = response.json()
                return Published(remote_id=str(status["id"]), url=status.get("url"))
            # Deleted since: look for it among the latest statuses like any other.
        account = self.http.json("GET", "/api/v1/accounts/verify_credentials",
                                 headers=self.auth())
        if not isinstance(account, dict) or not account.get("id"):
            raise TransientPublishError(
                f"mastodon '{self.channel}': verify_credentials answered without an account id"
            )
        statuses = self.http.json(
            "GET", f"/api/v1/accounts/{account['id']}/statuses",
            headers=self.auth(), params={"limit": self.check_window},
        )
        wanted = _normalise(post.caption)
        for status in statuses if isinstance(statuses, list) else []:
            if not isinstance(status, dict) or not status.get("id"):
                continue
            if not recent_enough(status.get("created_at"), post):
                continue
            text = status.get("text") or html_to_text(status.get("content") or "")
            if _normalise(text) == wanted:
                return Published(remote_id=str(status["id"]), url=status.get("url"))
        return self.nothing_found(post)

    def retract(self, post: PublishedPost) -> None:
        """``DELETE /api/v1/statuses/:id``
        (https://docs.joinmastodon.org/methods/statuses/#delete); a 404 means the status
        is gone already, which is what was wanted. A thread loses every part, the last
        first."""
        for status_id in self.thread_ids(post):
            response = self.http.request("DELETE", f"/api/v1/statuses/{status_id}",
                                         headers=self.auth(), check=False)
            if response.status_code in (404, 410):
                continue
            raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                             now=self.clock.now())

    def is_gone(self, post: PublishedPost) -> bool | None:
        for status_id in self.thread_ids(post):
            response = self.http.request("GET", f"/api/v1/statuses/{status_id}",
                                         headers=self.auth(), check=False)
            if response.status_code in (404, 410):
                continue
            raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                             now=self.clock.now())
            return False
        return True

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        auth = {"Authorization": "Bearer ***"}
        planned = [
            self.http.plan(
                "POST", "/api/v2/media", headers=auth,
                files={"file": (self._filename(img, n), img.read_bytes(), img.mime)},
                data=self._media_form(img),
            )
            for n, img in enumerate(post.images, start=1)
        ]
        placeholders = [f"<id of image {n}>" for n in range(1, len(post.images) + 1)]
        if post.video is not None:
            planned += self.video.plan(post, auth)
            placeholders = ["<video id>"]
        planned.append(
            self.http.plan(
                "POST", "/api/v1/statuses",
                headers={**auth, "Idempotency-Key": post.key},
                json_body=self._status_body(post, placeholders),
            )
        )
        return planned

    def verify(self) -> str:
        account = self.http.json("GET", "/api/v1/accounts/verify_credentials",
                                 headers=self.auth())
        return f"signed in as @{account.get('acct') or account.get('username')}"


_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_PARAGRAPH = re.compile(r"</p>\s*<p[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    """Mastodon's rendered status HTML back to the text that was posted.

    Links are shortened for display with hidden ``<span class="invisible">`` parts, which
    still hold the full address, so dropping the tags gives the typed text back.
    """
    text = _PARAGRAPH.sub("\n\n", content)
    text = _BREAK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def _normalise(text: str) -> str:
    """Text as Mastodon shows it: lines trimmed, any run of blank lines one paragraph break."""
    lines = "\n".join(line.strip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines)
