"""What Instagram, Threads and Facebook Pages share: Meta's Graph API conventions.

* **Errors** come as ``{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "error_user_msg", "fbtrace_id"}}``, often with HTTP 400 whatever the
  cause — an expired token included — so the HTTP status alone says little.
  :func:`classify_graph_error` reads the codes
  (https://developers.facebook.com/docs/graph-api/guides/error-handling/ and
  https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes/):

  ====================================  ==================================================
  190 (any subcode), HTTP 401           AuthError — the token expired or was revoked
  10, 200–299                           AuthError — a permission is missing; a person must
                                        grant it, so it is reported like a bad token
  2207020 (container expired)           TransientPublishError — build a new container
  4 with subcode 2207051 (spam           PermanentPublishError — Instagram restricts the
  restriction)                          action; repeating it only makes things worse
  9, 2207042 (publishing quota)         RateLimited — the delivery waits, it does not fail
  9007 / 2207027 (media not ready)      TransientPublishError, ``retry_after`` 30 s
  4, 17, 32, 613, 80001–80014           RateLimited — call-rate throttling; ``retry_after``
                                        from ``X-Business-Use-Case-Usage`` / ``X-App-Usage``
                                        (``estimated_time_to_regain_access``, minutes) or
                                        ``Retry-After``
  -1, -2, 1, 2, 341, 2207001, 2207003,  TransientPublishError ("try again": Meta sends
  2207032, 2207053, ``is_transient``    these with HTTP 400, not 5xx)
  HTTP 5xx on a publishing call         OutcomeUnknown (the HTTP layer): ask, then settle
  506 (duplicate post)                  DuplicateRefused: ask, then settle
  anything else                         PermanentPublishError with Meta's own words
  ====================================  ==================================================

* **Containers** (Instagram and Threads): build one, wait until Meta has fetched and
  checked the image, then publish it. :class:`scheduler.adapters.containers.
  GraphContainerAdapter` holds that flow; the two adapters only name their endpoints and
  fields.

* **Tokens** travel in the ``Authorization: Bearer`` header, never in the URL, so they do
  not end up in proxy logs. Long-lived Instagram, Threads and user tokens last 60 days:
  the optional ``token_expires`` setting (an ISO date) lets ``channels --check`` warn two
  weeks ahead and lets ``readiness`` refuse to start a publication with a dead token.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

import requests
from pydantic import model_validator

from scheduler.adapters.base import (
    AdapterSettings,
    OutgoingImage,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.http import (
    HttpAdapter,
    error_message_of,
    redact,
    retry_after_of,
)
from scheduler.credentials.settings import OAuthSettings
from scheduler.errors import (
    AuthError,
    ConfigError,
    DuplicateRefused,
    OutcomeUnknown,
    PermanentPublishError,
    PublishError,
    RateLimited,
    TransientPublishError,
)
from scheduler.mediahost import MediaHost, MediaHostConfig, build_media_host
from scheduler.platforms import URL_RE

_TRANSIENT_CODES = {-2, -1, 1, 2, 341}
_TRANSIENT_SUBCODES = {2207001, 2207003, 2207032, 2207053}
_NOT_READY_CODES = {9007}
_NOT_READY_SUBCODES = {2207027}
_SPAM_SUBCODE = 2207051
_DUPLICATE_CODE = 506
_THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
_QUOTA_CODES = {9}
_QUOTA_SUBCODES = {2207042}
_EXPIRED_CONTAINER = 2207020
#: Warn in ``verify`` when a token has fewer days left than this.
EXPIRY_WARNING_DAYS = 14
#: The Graph API version in the default ``base_url`` (served until 2028-07-29).
GRAPH_VERSION = "v25.0"
#: When each Graph API version stops being served ("Available Until" in
#: https://developers.facebook.com/docs/graph-api/changelog/versions/). Versions older than
#: the oldest listed here are long gone; newer ones have no date yet.
GRAPH_VERSION_ENDS = {
    "v17.0": date(2025, 9, 12), "v18.0": date(2026, 1, 26), "v19.0": date(2026, 5, 21),
    "v20.0": date(2026, 9, 24), "v21.0": date(2027, 1, 21), "v22.0": date(2027, 5, 20),
    "v23.0": date(2027, 10, 8), "v24.0": date(2028, 2, 18), "v25.0": date(2028, 7, 29),
}
#: ``channels --check`` warns when the version has fewer days left than this.
VERSION_WARNING_DAYS = 60
_VERSION_IN_URL = re.compile(r"/(v(\d+)\.\d+)(?:/|$)")


def graph_version_end(base_url: str) -> tuple[str, date] | None:
    """``(version, last day served)`` of the Graph API version in ``base_url``."""
    m = _VERSION_IN_URL.search(base_url)
    if not m or "threads.net" in base_url:  # Threads numbers its own versions
        return None
    version, major = m.group(1), int(m.group(2))
    if version in GRAPH_VERSION_ENDS:
        return version, GRAPH_VERSION_ENDS[version]
    if major < 17:
        return version, date(2025, 5, 14)  # v16.0, the newest of the older ones, ended then
    return None


class ContainerExpired(TransientPublishError):
    """Meta threw the container away (24 h unused, subcode 2207020): build a new one."""


class GraphSettings(OAuthSettings):
    """Settings every Graph API channel has: ``base_url`` (with the API version),
    ``token_env`` naming the access-token variable (or ``auth = "oauth2"`` for a token
    from ``postq channels login``), and ``token_expires`` (optional ISO date the token
    stops working, for early warnings)."""

    base_url: str
    token_env: str | None = None
    token_expires: date | None = None
    media_host: MediaHostConfig | None = None

    @model_validator(mode="after")
    def _token_source(self) -> GraphSettings:
        if self.auth == "oauth2" and self.token_env:
            raise ValueError('give either token_env or auth = "oauth2", not both')
        if self.auth != "oauth2" and not self.token_env:
            raise ValueError('needs token_env, or auth = "oauth2" with a token from '
                             "`postq channels login`")
        return self


# -- errors -----------------------------------------------------------------------------


def graph_error(response: requests.Response) -> dict[str, Any]:
    """The ``error`` object of a Graph API answer, or an empty dict."""
    try:
        doc = response.json()
    except ValueError:
        return {}
    err = doc.get("error") if isinstance(doc, dict) else None
    return err if isinstance(err, dict) else {}


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def usage_wait(response: requests.Response) -> float | None:
    """Seconds until Meta lets the app call again, from its usage headers.

    ``X-Business-Use-Case-Usage`` maps business ids to lists of usage objects;
    ``X-App-Usage`` / ``X-Ad-Account-Usage`` are flat. Each may carry
    ``estimated_time_to_regain_access`` in minutes.
    https://developers.facebook.com/docs/graph-api/overview/rate-limiting/
    """
    waits: list[float] = []
    for name in ("X-Business-Use-Case-Usage", "X-App-Usage", "X-Ad-Account-Usage"):
        raw = response.headers.get(name)
        if not raw:
            continue
        try:
            doc = json.loads(raw)
        except ValueError:
            continue
        stack: list[Any] = [doc]
        while stack:
            cur = stack.pop()
            if isinstance(cur, dict):
                minutes = cur.get("estimated_time_to_regain_access")
                if isinstance(minutes, int | float) and minutes > 0:
                    waits.append(float(minutes) * 60)
                stack.extend(cur.values())
            elif isinstance(cur, list):
                stack.extend(cur)
    return max(waits) if waits else None


def classify_graph_error(
    response: requests.Response,
    *,
    platform: str,
    secrets: list[str],
    now: datetime | None = None,
    quota_wait: float | None = None,
) -> PublishError | None:
    """The shared error type for a failed Graph API answer; None for a success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    err = graph_error(response)
    code, subcode = as_int(err.get("code")), as_int(err.get("error_subcode"))
    text = str(err.get("message") or error_message_of(response))
    user_msg = err.get("error_user_msg") or err.get("error_user_title")
    if user_msg and str(user_msg) not in text:
        text = f"{text} ({user_msg})"
    method = response.request.method if response.request is not None else ""
    path = requests.utils.urlparse(response.url).path if response.url else ""
    codes = f" [code {code}" + (f", subcode {subcode}" if subcode else "") + "]" if code else ""
    message = redact(f"{platform}: {method} {path} answered {status}: {text}{codes}", secrets)
    if code == 190 or status == 401:
        return AuthError(message)
    if code == 10 or (code is not None and 200 <= code <= 299):
        return AuthError(message)
    if subcode == _EXPIRED_CONTAINER:
        return ContainerExpired(message)
    if subcode == _SPAM_SUBCODE:
        return PermanentPublishError(message)
    if code == _DUPLICATE_CODE:
        return DuplicateRefused(message)
    if code in _NOT_READY_CODES or subcode in _NOT_READY_SUBCODES:
        # "The media is not ready for publishing, please wait for a moment."
        return TransientPublishError(message, retry_after=30.0)
    if code in _QUOTA_CODES or subcode in _QUOTA_SUBCODES:
        return RateLimited(message, retry_after=retry_after_of(response, now) or quota_wait)
    if code in _THROTTLE_CODES or status == 429:
        wait = usage_wait(response) or retry_after_of(response, now)
        return RateLimited(message, retry_after=wait)
    if (code in _TRANSIENT_CODES or subcode in _TRANSIENT_SUBCODES or err.get("is_transient")
            or status >= 500):
        return TransientPublishError(message, retry_after=retry_after_of(response, now))
    return PermanentPublishError(message)


# -- token expiry -----------------------------------------------------------------------


def expiry_note(expires: date | None, today: date) -> str | None:
    """A warning when the token runs out within two weeks; AuthError when it has."""
    if expires is None:
        return None
    days = (expires - today).days
    if days < 0:
        raise AuthError(f"the access token expired on {expires.isoformat()}; renew it")
    if days < EXPIRY_WARNING_DAYS:
        return f"token expires in {days} day{'s' if days != 1 else ''} ({expires.isoformat()}); renew it"
    return None


def normalise_text(text: str, *, drop_urls: bool = False) -> str:
    """Text as compared by ``check``: trimmed lines, optionally without links."""
    if drop_urls:
        text = URL_RE.sub("", text)
    lines = (" ".join(line.split()) for line in text.strip().splitlines())
    return "\n".join(line for line in lines if line) if drop_urls else "\n".join(lines)


def parse_time(value: Any) -> datetime | None:
    """Meta's ``2026-12-01T09:00:03+0000`` (and ISO 8601 with a colon or ``Z``)."""
    if not isinstance(value, str):
        return None
    fixed = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", value.replace("Z", "+00:00"))
    try:
        when = datetime.fromisoformat(fixed)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


#: A post found by ``check`` must be this much younger than the delivery's due time at
#: most, which keeps a repost of last year's caption from settling today's delivery.
CLOCK_SLACK = timedelta(minutes=10)


def recent_enough(timestamp: Any, post: OutgoingPost) -> bool:
    when = parse_time(timestamp)
    return when is None or when >= post.due_at - CLOCK_SLACK


# -- the base adapter -------------------------------------------------------------------


class GraphAdapter(HttpAdapter[GraphSettings]):
    """Common construction, requests and checks of the Graph API adapters."""

    settings_model: ClassVar[type[AdapterSettings]] = GraphSettings
    #: Used in messages: "instagram 'careers'".
    label: ClassVar[str] = "meta"
    #: Waiting for a container to be ready: attempts and the longest pause between.
    poll_attempts: ClassVar[int] = 10
    poll_max_interval: ClassVar[float] = 8.0
    #: How long a delivery waits when the platform's publishing quota is used up. The
    #: quota is a rolling 24 h window whose oldest entry Meta does not tell us.
    quota_wait: ClassVar[float] = 3600.0
    #: An account's or Page's post listing may miss a post created a moment ago.
    listing_lag: ClassVar[timedelta] = timedelta(minutes=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._media_host: MediaHost | None = None

    def http_base_url(self) -> str:
        return self._settings.base_url

    def secrets(self) -> list[str]:
        found = super().secrets()
        if self._media_host is not None:
            found += self._media_host.secrets()
        return found

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer()}"}

    def media_host(self) -> MediaHost:
        if self._media_host is None:
            if self._settings.media_host is None:
                raise PermanentPublishError(
                    f"{self.http.platform}: images need a media_host setting (the platform "
                    "fetches them from a public URL)"
                )
            self._media_host = build_media_host(self._settings.media_host, env=self.env,
                                                data_dir=self.data_dir)
        return self._media_host

    def image_url(self, image: OutgoingImage) -> str:
        return self.media_host().put(image.read_bytes(), image.mime)

    def planned_image_url(self, image: OutgoingImage) -> str:
        if self._settings.media_host is None:
            return "<no media_host configured>"
        return self.media_host().url_for(image.read_bytes(), image.mime)

    # -- requests -----------------------------------------------------------------------
    def graph(self, method: str, path: str, **kwargs: Any) -> Any:
        """One Graph API call with the token, its errors classified; the decoded JSON."""
        response = self.send_authorised(method, path, self._auth, **kwargs)
        error = classify_graph_error(response, platform=self.http.platform,
                                     secrets=self.secrets(), now=self.clock.now(),
                                     quota_wait=self.quota_wait)
        if error is not None:
            raise error
        try:
            return response.json()
        except ValueError:
            idempotent = kwargs.get("idempotent")
            if idempotent is None:
                idempotent = method.upper() == "GET"
            shown = f"{self.http.platform}: {method} {path} answered without JSON"
            raise (TransientPublishError(shown) if idempotent else OutcomeUnknown(shown)) from None

    # -- deleting -----------------------------------------------------------------------
    #: The field a comment's text is in when comments are listed (Facebook: message,
    #: Instagram: text).
    comment_text_field = "message"

    def comment(self, post: OutgoingPost) -> Published:
        """``POST /{object-id}/comments`` with ``message``: the first comment under the
        published post (``post.reply_to``), answering ``{"id": ...}``
        (https://developers.facebook.com/docs/graph-api/reference/object/comments/#publish,
        https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments)."""
        doc = self.graph("POST", f"/{post.reply_to['id']}/comments",  # type: ignore[index]
                         data={"message": post.caption})
        return Published(remote_id=str(doc["id"]))

    def plan_part(self, part: OutgoingPost) -> list[PlannedRequest]:
        if part.part == 1:
            return self.plan(part)
        return [self.http.plan("POST", f"/{part.reply_to['id']}/comments",  # type: ignore[index]
                               headers={"Authorization": "Bearer ***"},
                               data={"message": part.caption})]

    def find_comment(self, post: OutgoingPost) -> Published | None:
        """After an unknown outcome: the first comment, if the post's comments have it."""
        doc = self.graph("GET", f"/{post.reply_to['id']}/comments",  # type: ignore[index]
                         params={"fields": f"id,{self.comment_text_field}", "limit": 50})
        wanted = normalise_text(post.caption)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if isinstance(item, dict) and item.get("id") and normalise_text(
                    str(item.get(self.comment_text_field) or "")) == wanted:
                return Published(remote_id=str(item["id"]))
        return None

    def retract(self, post: PublishedPost) -> None:
        """``DELETE /{id}``: a Page post (https://developers.facebook.com/docs/graph-api/
        reference/post/#deleting) or a Threads post (https://developers.facebook.com/docs/
        threads/posts/delete-posts), both answering ``{"success": true}``. An id that no
        longer exists (404, or Graph error 100 "does not exist") is gone already."""
        response = self.http.request("DELETE", f"/{post.remote_id}", headers=self._auth(),
                                     check=False)
        if _object_missing(response):
            return
        error = classify_graph_error(response, platform=self.http.platform,
                                     secrets=self.secrets(), now=self.clock.now())
        if error is not None:
            raise error

    def is_gone(self, post: PublishedPost) -> bool | None:
        response = self.http.request("GET", f"/{post.remote_id}", params={"fields": "id"},
                                     headers=self._auth(), check=False)
        if _object_missing(response):
            return True
        error = classify_graph_error(response, platform=self.http.platform,
                                     secrets=self.secrets(), now=self.clock.now())
        if error is not None:
            raise error
        return False

    # -- the API version ----------------------------------------------------------------
    #: Threads has its own versions (``graph.threads.net/v1.0``), not Graph API dates.
    graph_versioned: ClassVar[bool] = True

    def version_days_left(self) -> tuple[str, int] | None:
        found = graph_version_end(self._settings.base_url) if self.graph_versioned else None
        if found is None:
            return None
        version, last_day = found
        return version, (last_day - self.clock.now().date()).days

    def _version_error(self, version: str) -> ConfigError:
        return ConfigError(
            f"Graph API {version} is no longer served; set `base_url` in "
            f"[channels.{self.channel}] to a current version (such as {GRAPH_VERSION})")

    def check_version(self) -> None:
        """Refuse before any call once the Graph API version has stopped being served."""
        left = self.version_days_left()
        if left is not None and left[1] < 0:
            raise self._version_error(left[0])

    def readiness(self) -> list[str]:
        problems = super().readiness()
        expires = self._settings.token_expires
        if expires is not None and expires < self.clock.now().date():
            problems.append(f"the access token expired on {expires.isoformat()}")
        left = self.version_days_left()
        if left is not None and left[1] < 0:
            problems.append(str(self._version_error(left[0])))
        return problems

    def _with_expiry(self, line: str) -> str:
        notes = [expiry_note(self._settings.token_expires, self.clock.now().date())]
        left = self.version_days_left()
        if left is not None and left[1] < VERSION_WARNING_DAYS:
            version, days = left
            notes.append(f"Graph API {version} stops being served in {days} "
                         f"day{'s' if days != 1 else ''}; set `base_url` in "
                         f"[channels.{self.channel}] to a current version")
        return "; ".join([line, *(n for n in notes if n)])


def _object_missing(response: requests.Response) -> bool:
    """Whether a Graph answer says the object does not exist: HTTP 404, or error code 100
    with subcode 33 ("Unsupported ... request. Object ... does not exist")
    (https://developers.facebook.com/docs/graph-api/guides/error-handling/)."""
    if response.status_code in (404, 410):
        return True
    err = graph_error(response)
    return as_int(err.get("code")) == 100 and as_int(err.get("error_subcode")) == 33
