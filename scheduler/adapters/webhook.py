"""The ``webhook`` adapter: POST each delivery as JSON to a URL the organisation runs.

It lets another system (a CMS, a chat channel, a platform postq has no adapter for) take
over the last step while postq keeps the schedule, approvals and audit trail. The body
is signed with HMAC-SHA256 over the exact bytes sent, in the style of GitHub's webhooks
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries), so the
receiver can tell postq's posts from anybody else's.

Body::

    {"post_id", "channel", "delivery_id", "caption", "language", "content_hash", "due_at",
     "images": [{"alt", "mime", "sha256", "width", "height", "data": base64}],
     "video": {"alt", "mime", "sha256", "size", "width", "height", "data": base64,
               "captions_vtt": text or null, "cover": {like an image} or null}}

``video`` is present only when the post has one (then ``images`` is empty).

Headers: ``X-Postq-Signature: sha256=<hex>`` (when ``secret_env`` is set),
``X-Postq-Delivery`` and ``Idempotency-Key`` (the delivery id, so a receiver can drop a
repeat). A JSON answer with ``id`` and ``url`` is used as the remote id and link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Literal

from scheduler.adapters.base import (
    Adapter,
    AdapterSettings,
    OutgoingImage,
    OutgoingPost,
    OutgoingVideo,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.http import REDACTED, HttpClient, describe_bytes, plan_request

SIGNATURE_HEADER = "X-Postq-Signature"
DELIVERY_HEADER = "X-Postq-Delivery"
EVENT_HEADER = "X-Postq-Event"


class WebhookSettings(AdapterSettings):
    """``url``: where to POST; ``secret_env``: variable holding the HMAC key;
    ``include_images``: ``"data"`` (base64 in the body: images, the video and its cover)
    or ``"none"`` (metadata only)."""

    url: str
    secret_env: str | None = None
    include_images: Literal["data", "none"] = "data"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookAdapter(Adapter):
    """POSTs the delivery as signed JSON to ``url``."""

    # A receiver cannot be asked what it got, so an unknown outcome waits for a person.
    check_is_authoritative = False

    platform = "webhook"
    settings_model = WebhookSettings
    publishes_video = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.http = HttpClient(platform=f"webhook '{self.channel}'", secrets=self.secrets,
                               now=self.clock.now)

    @property
    def _settings(self) -> WebhookSettings:
        assert isinstance(self.settings, WebhookSettings)
        return self.settings

    def _image(self, image: OutgoingImage, summarise: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "alt": image.alt,
            "mime": image.mime,
            "sha256": image.sha256,
            "width": image.width,
            "height": image.height,
        }
        if self._settings.include_images == "data":
            data = image.read_bytes()
            entry["data"] = (
                describe_bytes(data, image.mime)
                if summarise
                else base64.b64encode(data).decode("ascii")
            )
        return entry

    def _video(self, video: OutgoingVideo, summarise: bool) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "alt": video.alt, "mime": video.mime, "sha256": video.sha256, "size": video.size,
            "width": video.width, "height": video.height, "captions_vtt": video.captions_vtt,
            "cover": None if video.cover is None else self._image(video.cover, summarise),
        }
        if self._settings.include_images == "data":
            entry["data"] = (f"<{video.size} bytes {video.mime} sha256={video.sha256}>"
                             if summarise
                             else base64.b64encode(video.read_bytes()).decode("ascii"))
        return entry

    def _body(self, post: OutgoingPost, *, summarise: bool = False) -> dict[str, Any]:
        images = [self._image(image, summarise) for image in post.images]
        extra = {} if post.video is None else {"video": self._video(post.video, summarise)}
        return {
            "post_id": post.post_id,
            "channel": post.channel,
            "delivery_id": post.delivery_id,
            "caption": post.caption,
            "language": post.language,
            "images": images,
            "content_hash": post.content_hash,
            "due_at": post.due_at.isoformat(),
            **extra,
        }

    def _headers(self, post: OutgoingPost, raw: bytes | None) -> dict[str, str]:
        headers = {DELIVERY_HEADER: post.delivery_id, "Idempotency-Key": post.delivery_id}
        if self._settings.secret_env:
            headers[SIGNATURE_HEADER] = (
                sign(self.secret("secret_env"), raw) if raw is not None else f"sha256={REDACTED}"
            )
        return headers

    def publish(self, post: OutgoingPost) -> Published:
        raw = json.dumps(self._body(post), ensure_ascii=False, separators=(",", ":")).encode()
        response = self.http.request(
            "POST", self._settings.url, headers=self._headers(post, raw),
            content=(raw, "application/json"),
        )
        remote_id, url = post.delivery_id, None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict):
            remote_id = str(answer.get("id") or remote_id)
            url = str(answer["url"]) if answer.get("url") else None
        return Published(remote_id=remote_id, url=url)

    def retract(self, post: PublishedPost) -> None:
        """POST a signed ``{"event": "retracted", ...}`` to the same URL, so the receiver
        takes down what it made of the delivery. Headers as for a publication, with
        ``X-Postq-Event: retracted``."""
        body = {"event": "retracted", "post_id": post.post_id, "channel": post.channel,
                "delivery_id": post.delivery_id, "remote_id": post.remote_id,
                "url": post.url, "reason": post.reason}
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {DELIVERY_HEADER: post.delivery_id, EVENT_HEADER: "retracted",
                   "Idempotency-Key": f"retract:{post.delivery_id}"}
        if self._settings.secret_env:
            headers[SIGNATURE_HEADER] = sign(self.secret("secret_env"), raw)
        # Taking something down twice is harmless: a lost answer is simply tried again.
        self.http.request("POST", self._settings.url, headers=headers,
                          content=(raw, "application/json"), idempotent=True)

    def check(self, post: OutgoingPost) -> Published | None:
        """A webhook cannot be asked what it received: report nothing found.

        Receivers that must never act twice deduplicate on ``X-Postq-Delivery``.
        """
        return None

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        return [
            plan_request(
                "POST",
                self._settings.url,
                headers={**self._headers(post, None), "Content-Type": "application/json"},
                json_body=self._body(post, summarise=True),
                secrets=self.secrets(),
            )
        ]

    def verify(self) -> str:
        if self._settings.secret_env:
            self.secret("secret_env")
        return f"posts to {self.http.url(self._settings.url)}"

    def close(self) -> None:
        self.http.close()
