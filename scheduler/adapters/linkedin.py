"""The ``linkedin`` adapter: posts with images as an organisation, through the Posts API.

Flow (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api
and .../images-api):

1. ``POST /rest/images?action=initializeUpload`` ``{"initializeUploadRequest": {"owner":
   <organization URN>}}`` → ``value.uploadUrl`` and ``value.image`` (an image URN).
2. ``PUT`` the bytes to ``uploadUrl``.
3. ``POST /rest/posts`` with ``author``, ``commentary``, ``visibility: PUBLIC``,
   ``distribution``, ``content.media {id, altText}`` (``content.multiImage`` for 2+),
   ``lifecycleState: PUBLISHED``. The new post's URN is in the ``x-restli-id`` header;
   its address is ``https://www.linkedin.com/feed/update/{urn}/``.

Every call carries ``Linkedin-Version: YYYYMM`` (setting ``version``) and
``X-Restli-Protocol-Version: 2.0.0``. The commentary is written in LinkedIn's "little
text" format (:func:`little_text`), where an unescaped reserved character silently cuts
the post short. LinkedIn has no idempotency key: a lost answer to ``POST /rest/posts``
raises OutcomeUnknown and ``check`` looks for the commentary among the organisation's
latest posts (``GET /rest/posts?author=...&q=author``).

Each ``Linkedin-Version`` is served for one year: ``202511`` was sunset on 2026-11-16, and
a sunset (or unknown) version is answered with HTTP 426 ``NONEXISTENT_VERSION``
(https://learn.microsoft.com/en-us/linkedin/marketing/versioning and
https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations). postq takes
the version month + 12 months as the sunset: ``channels --check`` warns 60 days ahead and
publishing stops with one sentence after it, before any call.

Duplicates: a second identical post is refused with 422 ``DUPLICATE_POST``; that may be
this delivery's own post from an attempt whose answer was lost, so it is settled with
``check`` (:meth:`Adapter.settle_duplicate`), not failed.

A post with a video uploads it through the Videos API first and is created once LinkedIn
says the video is AVAILABLE (:mod:`scheduler.adapters.linkedin_video`).

Rate limits are per day and reset at midnight UTC; a 429 without ``Retry-After`` waits
until then (https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits).
Tokens last 60 days: ``token_expires`` (optional ISO date) makes ``channels --check`` warn.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from pydantic import field_validator, model_validator

from scheduler.adapters.base import (
    OutgoingImage,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.http import raise_for_status, redact
from scheduler.adapters.linkedin_video import LinkedInVideoFlow
from scheduler.adapters.meta import expiry_note, normalise_text
from scheduler.credentials.settings import OAuthSettings
from scheduler.errors import (
    ConfigError,
    DuplicateRefused,
    OutcomeUnknown,
    RateLimited,
)
from scheduler.platforms import HASHTAG_RE

#: Reserved by little text; each must be backslash-escaped to appear as itself.
#: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/little-text-format
RESERVED = set("\\|{}@[]()<>#*_~")


def escape_little(text: str) -> str:
    """``text`` with every reserved character backslash-escaped."""
    return "".join(f"\\{ch}" if ch in RESERVED else ch for ch in text)


def little_text(text: str) -> str:
    """Plain caption → little text: everything literal, hashtags kept as hashtags.

    A ``#tag`` (as the validator recognises one, :data:`scheduler.platforms.HASHTAG_RE`)
    becomes the documented hashtag template ``{hashtag|\\#|tag}``; every other reserved
    character, including ``@`` (postq does not write mentions) and a ``#`` that starts
    no tag (``C#``, ``#1``), is escaped.
    """
    out, last = [], 0
    for m in HASHTAG_RE.finditer(text):
        out.append(escape_little(text[last:m.start()]))
        out.append("{hashtag|\\#|" + escape_little(m.group(1)) + "}")
        last = m.end()
    out.append(escape_little(text[last:]))
    return "".join(out)


def plain_from_little(text: str) -> str:
    """Little text back to what a reader sees, for comparing in ``check``."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("{hashtag|", i):
            end = text.find("}", i)
            if end != -1:
                parts = text[i + 1:end].split("|", 2)
                if len(parts) == 3:
                    out.append("#" + parts[2].replace("\\", ""))
                    i = end + 1
                    continue
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


#: A current version (released July 2026, served until about July 2027); see the docstring.
DEFAULT_VERSION = "202607"
VERSIONS_PAGE = "https://learn.microsoft.com/en-us/linkedin/marketing/versioning"
#: ``channels --check`` warns when the version has fewer days left than this.
VERSION_WARNING_DAYS = 60
_VERSION_RE = re.compile(r"^(\d{4})(\d{2})(?:\.\d{2})?$")


def version_sunset(version: str) -> date | None:
    """The first day LinkedIn may no longer serve ``version`` (its month + 12 months)."""
    m = _VERSION_RE.match(version.strip())
    if not m:
        return None
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        return None
    return date(year + 1, month, 1)


class LinkedInSettings(OAuthSettings):
    """``base_url`` (default https://api.linkedin.com), ``organization`` (a URN such as
    ``urn:li:organization:2414183``, or just the number), ``token_env``, ``version``
    (``Linkedin-Version``, YYYYMM) and ``token_expires`` (optional ISO date)."""

    base_url: str = "https://api.linkedin.com"
    organization: str
    token_env: str | None = None
    version: str = DEFAULT_VERSION
    token_expires: date | None = None

    @field_validator("version")
    @classmethod
    def _yyyymm(cls, value: str) -> str:
        if version_sunset(value) is None:
            raise ValueError(f"'{value}' is not a LinkedIn-Version; write YYYYMM, e.g. "
                             f"{DEFAULT_VERSION}")
        return value.strip()

    @model_validator(mode="after")
    def _token_source(self) -> LinkedInSettings:
        if (self.auth == "oauth2") == bool(self.token_env):
            raise ValueError('needs either token_env or auth = "oauth2" (not both)')
        return self

    @property
    def organization_urn(self) -> str:
        org = self.organization.strip()
        return org if org.startswith("urn:li:") else f"urn:li:organization:{org}"


class LinkedInAdapter(LinkedInVideoFlow[LinkedInSettings]):
    """Publishes posts with images or a video as one LinkedIn organisation."""

    platform = "linkedin"
    label = "linkedin"
    settings_model = LinkedInSettings
    #: How many of the organisation's latest posts ``check`` reads.
    check_window = 10
    #: The author feed may lag behind a post just created.
    listing_lag = timedelta(minutes=2)
    publishes_video = True

    def http_base_url(self) -> str:
        return self._settings.base_url

    def _headers(self, token: str | None = None) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token if token is not None else self.bearer()}",
            "Linkedin-Version": self._settings.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        response = self.send_authorised(method, path, self._headers, **kwargs)
        if response.status_code == 429 and not response.headers.get("Retry-After"):
            # Daily limits, reset at midnight UTC; LinkedIn sends no Retry-After.
            now = self.clock.now().astimezone(UTC)
            midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC)
            text = redact(response.text[:300], self.secrets())
            raise RateLimited(f"{self.http.platform}: {method} {path} answered 429: {text}",
                              retry_after=(midnight - now).total_seconds())
        if response.status_code == 426:
            raise self._version_error("is no longer served")
        if response.status_code == 422 and "DUPLICATE_POST" in response.text:
            raise DuplicateRefused(f"{self.http.platform}: {method} {path} answered 422: "
                                   f"{redact(response.text[:300], self.secrets())}")
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())
        return response

    # -- the API version ----------------------------------------------------------------
    def _version_error(self, what: str) -> ConfigError:
        return ConfigError(
            f"LinkedIn-Version {self._settings.version} {what}; set `version` in "
            f"[channels.{self.channel}] to a current YYYYMM, as listed at {VERSIONS_PAGE}")

    def version_days_left(self) -> int:
        sunset = version_sunset(self._settings.version)
        assert sunset is not None  # the settings model checked the format
        return (sunset - self.clock.now().date()).days

    def _check_version(self) -> None:
        """Refuse before any call once the version is past its sunset."""
        if self.version_days_left() <= 0:
            raise self._version_error("is past its sunset (LinkedIn serves a version for "
                                      "one year)")

    # -- requests -----------------------------------------------------------------------
    def _upload(self, image: OutgoingImage) -> str:
        # Registering and uploading an image shows nothing: repeating them is harmless.
        doc = self._call("POST", "/rest/images", params={"action": "initializeUpload"},
                         json_body=self._init_body(), idempotent=True).json()
        value = doc.get("value") or {}
        # The Images API hands out https://www.linkedin.com/dms-uploads/... links.
        self._put(str(value["uploadUrl"]), image.read_bytes(), image.mime)
        return str(value["image"])

    def _init_body(self) -> dict[str, Any]:
        return {"initializeUploadRequest": {"owner": self._settings.organization_urn}}

    def post_body(self, post: OutgoingPost, image_urns: list[str]) -> dict[str, Any]:
        """The ``/rest/posts`` body for ``post`` with its uploaded images (or its one
        uploaded video: ``content.media.id`` is then the video URN)."""
        body: dict[str, Any] = {
            "author": self._settings.organization_urn,
            "commentary": little_text(post.caption),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.video is not None:
            body["content"] = {"media": {"id": image_urns[0]}}
            return body
        media = [{"id": urn, "altText": image.alt}
                 for urn, image in zip(image_urns, post.images, strict=True)]
        if len(media) == 1:
            body["content"] = {"media": media[0]}
        elif media:
            body["content"] = {"multiImage": {"images": media}}
        return body

    @staticmethod
    def _url(urn: str) -> str:
        return f"https://www.linkedin.com/feed/update/{urn}/"

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        # Counted on what readers see: little-text escapes are LinkedIn's, not theirs.
        self.check_fits(post)
        self._check_version()
        return self.publish_commented(post, self._publish_one, self._comment)

    def _comments_path(self, post: OutgoingPost) -> str:
        return f"/rest/socialActions/{quote(str(post.reply_to['id']), safe='')}/comments"  # type: ignore[index]

    def _comment(self, post: OutgoingPost) -> Published:
        """The first comment: ``POST /rest/socialActions/{post urn}/comments`` with the
        organisation as ``actor``, the post as ``object`` and ``message.text``; 201 names
        the comment in ``x-restli-id`` (https://learn.microsoft.com/en-us/linkedin/
        marketing/community-management/shares/comments-api#create-a-comment)."""
        body = {"actor": self._settings.organization_urn, "object": str(post.reply_to["id"]),  # type: ignore[index]
                "message": {"text": post.caption}}
        response = self._call("POST", self._comments_path(post), json_body=body)
        try:
            doc = response.json() if response.content else {}
        except ValueError:
            doc = {}
        urn = response.headers.get("x-restli-id") or (doc.get("commentUrn") or doc.get("id")
                                                       if isinstance(doc, dict) else None)
        if not urn:
            raise OutcomeUnknown(f"{self.http.platform}: the comment was answered "
                                 f"{response.status_code} without its id")
        return Published(remote_id=str(urn))

    def plan_part(self, part: OutgoingPost) -> list[PlannedRequest]:
        if part.part == 1:
            return self.plan(part)
        body = {"actor": self._settings.organization_urn, "object": str(part.reply_to["id"]),  # type: ignore[index]
                "message": {"text": part.caption}}
        return [self.http.plan("POST", self._comments_path(part),
                               headers=self._headers(token="***"), json_body=body)]

    def _find_comment(self, post: OutgoingPost) -> Published | None:
        """After an unknown outcome: the first comment among the post's comments."""
        doc = self._call("GET", self._comments_path(post)).json()
        wanted = normalise_text(post.caption)
        for item in doc.get("elements") or [] if isinstance(doc, dict) else []:
            text = ((item.get("message") or {}).get("text") if isinstance(item, dict) else None)
            if text is not None and normalise_text(str(text)) == wanted:
                return Published(remote_id=str(item.get("commentUrn") or item.get("id")))
        return None

    def _publish_one(self, post: OutgoingPost) -> Published:
        """The post itself."""
        if post.video is not None:
            urns = [self.upload_video(post)]
        else:
            # LinkedIn keeps an uploaded image for a day at least; reuse within 20 h.
            urns = [str(self.uploaded(post, image, lambda image=image: self._upload(image)))
                    for image in post.images]

        def send() -> Published:
            response = self._call("POST", "/rest/posts", json_body=self.post_body(post, urns))
            urn = response.headers.get("x-restli-id") or response.headers.get("x-linkedin-id")
            if not urn:
                # Created (2xx) but unnamed: the post exists; let check find it, never resend.
                raise OutcomeUnknown(f"{self.http.platform}: /rest/posts answered "
                                     f"{response.status_code} without x-restli-id")
            return Published(remote_id=urn, url=self._url(urn))

        return self.create(post, send)

    def retract(self, post: PublishedPost) -> None:
        """``DELETE /rest/posts/{encoded urn}`` (https://learn.microsoft.com/en-us/linkedin/
        marketing/community-management/shares/posts-api#delete-posts): 204 when deleted;
        a 404 means it is gone already."""
        path = f"/rest/posts/{quote(post.remote_id, safe='')}"
        response = self.http.request("DELETE", path, headers=self._headers(), check=False)
        if response.status_code in (404, 410):
            return
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())

    def is_gone(self, post: PublishedPost) -> bool | None:
        path = f"/rest/posts/{quote(post.remote_id, safe='')}"
        response = self.http.request("GET", path, headers=self._headers(), check=False)
        if response.status_code in (404, 410):
            return True
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())
        return False

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, lambda p: self._find_comment(p) if p.part > 1
                                 else self._check_one(p))

    def _check_one(self, post: OutgoingPost) -> Published | None:
        known = self.progress(post).get("remote_id")
        if known:
            response = self.http.request("GET", f"/rest/posts/{quote(str(known), safe='')}",
                                         headers=self._headers(), check=False)
            if response.status_code == 200:
                return Published(remote_id=str(known), url=self._url(str(known)))
            if response.status_code != 404:
                raise_for_status(response, platform=self.http.platform,
                                 secrets=self.secrets(), now=self.clock.now())
        org = quote(self._settings.organization_urn, safe="")
        # Rest.li 2.0 wants the URN percent-encoded exactly once, hence the hand-built query.
        doc = self._call("GET", f"/rest/posts?author={org}&q=author&count={self.check_window}"
                         "&sortBy=CREATED").json()
        wanted = normalise_text(post.caption)
        for item in doc.get("elements") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            text = normalise_text(plain_from_little(str(item.get("commentary") or "")))
            if text != wanted:
                continue
            stamp = item.get("publishedAt") or item.get("createdAt")
            if isinstance(stamp, int | float):
                when = datetime.fromtimestamp(stamp / 1000, UTC)
                if when < post.due_at - timedelta(minutes=10):
                    continue
            return Published(remote_id=str(item["id"]), url=self._url(str(item["id"])))
        return self.nothing_found(post)

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        headers = self._headers(token="***")
        if post.video is not None:
            return [*self.plan_video(post, headers),
                    self.http.plan("POST", "/rest/posts", headers=headers,
                                   json_body=self.post_body(post, ["<video URN>"]))]
        planned = []
        for n, image in enumerate(post.images, start=1):
            planned.append(self.http.plan("POST", "/rest/images?action=initializeUpload",
                                          headers=headers, json_body=self._init_body()))
            planned.append(self.http.plan("PUT", f"<uploadUrl of image {n}>", headers=headers,
                                          content=(image.read_bytes(), image.mime)))
        urns = [f"<image URN {n}>" for n in range(1, len(post.images) + 1)]
        planned.append(self.http.plan("POST", "/rest/posts", headers=headers,
                                      json_body=self.post_body(post, urns)))
        return planned

    def verify(self) -> str:
        org = self._settings.organization_urn
        org_id = org.rsplit(":", 1)[-1]
        doc = self._call("GET", f"/rest/organizations/{org_id}").json()
        line = f"posts as {doc.get('localizedName') or org}"
        notes = [expiry_note(self._settings.token_expires, self.clock.now().date())]
        days = self.version_days_left()
        if days < VERSION_WARNING_DAYS:
            notes.append(f"LinkedIn-Version {self._settings.version} is sunset in {days} "
                         f"day{'s' if days != 1 else ''}; set `version` in "
                         f"[channels.{self.channel}] to a current YYYYMM")
        return "; ".join([line, *(n for n in notes if n)])

    def readiness(self) -> list[str]:
        problems = super().readiness()
        expires = self._settings.token_expires
        if expires is not None and expires < self.clock.now().date():
            problems.append(f"the access token expired on {expires.isoformat()}")
        if self.version_days_left() <= 0:
            problems.append(str(self._version_error("is past its sunset")))
        return problems
