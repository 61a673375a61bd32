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
  9, 2207042 (publishing quota)         RateLimited — the delivery waits, it does not fail
  4, 17, 32, 613, 80001–80014           RateLimited — call-rate throttling; ``retry_after``
                                        from ``X-Business-Use-Case-Usage`` / ``X-App-Usage``
                                        (``estimated_time_to_regain_access``, minutes) or
                                        ``Retry-After``
  1, 2, 341, 2207001, 2207003,          TransientPublishError
  2207032, ``is_transient``, HTTP 5xx
  506 (duplicate) and anything else     PermanentPublishError with Meta's own words
  ====================================  ==================================================

* **Containers** (Instagram and Threads): build one, wait until Meta has fetched and
  checked the image, then publish it. :class:`GraphContainerAdapter` holds that flow;
  the two adapters only name their endpoints and fields.

* **Tokens** travel in the ``Authorization: Bearer`` header, never in the URL, so they do
  not end up in proxy logs. Long-lived Instagram, Threads and user tokens last 60 days:
  the optional ``token_expires`` setting (an ISO date) lets ``channels --check`` warn two
  weeks ahead and lets ``readiness`` refuse to start a publication with a dead token.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
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
)
from scheduler.adapters.http import (
    HttpAdapter,
    describe_bytes,
    error_message_of,
    redact,
    retry_after_of,
)
from scheduler.credentials.settings import OAuthSettings
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    PublishError,
    RateLimited,
    TransientPublishError,
)
from scheduler.mediahost import MediaHost, MediaHostConfig, build_media_host
from scheduler.platforms import URL_RE

_TRANSIENT_CODES = {1, 2, 341}
_TRANSIENT_SUBCODES = {2207001, 2207003, 2207032}
_THROTTLE_CODES = {4, 17, 32, 613} | set(range(80001, 80015))
_QUOTA_CODES = {9}
_QUOTA_SUBCODES = {2207042}
_EXPIRED_CONTAINER = 2207020
#: Warn in ``verify`` when a token has fewer days left than this.
EXPIRY_WARNING_DAYS = 14


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


def _int(value: Any) -> int | None:
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
    code, subcode = _int(err.get("code")), _int(err.get("error_subcode"))
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

    def readiness(self) -> list[str]:
        problems = super().readiness()
        expires = self._settings.token_expires
        if expires is not None and expires < self.clock.now().date():
            problems.append(f"the access token expired on {expires.isoformat()}")
        return problems

    def _with_expiry(self, line: str) -> str:
        note = expiry_note(self._settings.token_expires, self.clock.now().date())
        return f"{line}; {note}" if note else line


class GraphContainerAdapter(GraphAdapter):
    """The build-wait-publish flow of Instagram and Threads.

    Meta has no idempotency key. What keeps a post from appearing twice:

    * the container id of each delivery is remembered (in this adapter, and read back from
      ``remote_state["container_id"]`` when the publisher stored it), and a container
      whose status is ``PUBLISHED`` is never published again;
    * ``publish`` (the only call with a public effect) losing its answer raises
      OutcomeUnknown, and ``check`` then asks: the container's status when known, and in
      any case the account's latest posts, matched by exact caption and not older than
      the delivery's due time.
    """

    #: Endpoint and field names; subclasses fill these in.
    create_path: ClassVar[str]
    publish_path: ClassVar[str]
    limit_path: ClassVar[str]
    status_field: ClassVar[str]
    text_field: ClassVar[str]
    list_path: ClassVar[str]
    list_fields: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._containers: dict[str, str] = {}

    @property
    def user(self) -> str:
        raise NotImplementedError

    # -- containers ---------------------------------------------------------------------
    def container_of(self, post: OutgoingPost) -> str | None:
        state = post.remote_state or {}
        return self._containers.get(post.delivery_id) or (
            str(state["container_id"]) if state.get("container_id") else None
        )

    def forget_container(self, post: OutgoingPost) -> None:
        self._containers.pop(post.delivery_id, None)

    def container_status(self, container_id: str) -> tuple[str, str]:
        """``(status, detail)`` of a container: IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED."""
        fields = self.status_field if self.status_field == "status" else f"{self.status_field},status"
        doc = self.graph("GET", f"/{container_id}", params={"fields": f"{fields},id"})
        status = str(doc.get(self.status_field) or "").upper()
        detail = doc.get("error_message") or doc.get("status") or ""
        return status, str(detail)

    def wait_until_ready(self, container_id: str, post: OutgoingPost) -> None:
        """Poll the container until FINISHED; ERROR is permanent, EXPIRED starts over."""
        interval = 1.0
        for attempt in range(self.poll_attempts):
            status, detail = self.container_status(container_id)
            if status == "FINISHED":
                return
            if status == "PUBLISHED":
                raise _AlreadyPublished(container_id)
            if status == "ERROR":
                self.forget_container(post)
                raise PermanentPublishError(
                    f"{self.http.platform}: the platform refused the media of container "
                    f"{container_id}: {detail or 'ERROR'}"
                )
            if status == "EXPIRED":
                self.forget_container(post)
                raise ContainerExpired(f"{self.http.platform}: container {container_id} expired")
            if attempt < self.poll_attempts - 1:
                self.sleep(interval)
                interval = min(interval * 2, self.poll_max_interval)
        raise TransientPublishError(
            f"{self.http.platform}: container {container_id} is still being processed",
            retry_after=30.0,
        )

    def check_quota(self) -> None:
        """RateLimited when the rolling 24 h publishing quota is used up."""
        doc = self.graph("GET", f"/{self.user}/{self.limit_path}",
                         params={"fields": "quota_usage,config"})
        rows = doc.get("data") if isinstance(doc, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        usage = _int(row.get("quota_usage"))
        total = _int((row.get("config") or {}).get("quota_total"))
        if usage is not None and total is not None and usage >= total:
            raise RateLimited(
                f"{self.http.platform}: publishing quota used up ({usage} of {total} posts in "
                "24 hours)",
                retry_after=self.quota_wait,
            )

    @staticmethod
    def _form(fields: Mapping[str, Any]) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in fields.items() if v not in (None, "")}

    def create_container(self, fields: Mapping[str, Any]) -> str:
        # Building a container publishes nothing, so a lost answer is only transient.
        doc = self.graph("POST", f"/{self.user}/{self.create_path}", data=self._form(fields),
                         idempotent=True)
        return str(doc["id"])

    def permalink(self, media_id: str) -> str | None:
        """The post's web address; a failure here must not fail a publication that worked."""
        try:
            doc = self.graph("GET", f"/{media_id}", params={"fields": "permalink"})
        except PublishError:
            return None
        link = doc.get("permalink") if isinstance(doc, dict) else None
        return str(link) if link else None

    # -- what subclasses describe -------------------------------------------------------
    def container_steps(
        self, post: OutgoingPost, url_of: Callable[[OutgoingImage], str]
    ) -> list[dict[str, Any]]:
        """The containers to build, children first and the one to publish last (which
        gets the children's ids as ``children``); ``url_of`` gives an image's URL."""
        raise NotImplementedError

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        auth = {"Authorization": "Bearer ***"}
        planned = [
            PlannedRequest(method="STORE", url=self.planned_image_url(image),
                           body=describe_bytes(image.read_bytes(), image.mime))
            for image in post.images
        ]
        planned.append(self.http.plan("GET", f"/{self.user}/{self.limit_path}", headers=auth))
        steps = self.container_steps(post, self.planned_image_url)
        for step in steps[:-1]:
            planned.append(self.http.plan("POST", f"/{self.user}/{self.create_path}",
                                          headers=auth, data=self._form(step)))
        last = dict(steps[-1])
        if len(steps) > 1:
            last["children"] = ",".join(f"<id of item {n}>" for n in range(1, len(steps)))
        planned.append(self.http.plan("POST", f"/{self.user}/{self.create_path}", headers=auth,
                                      data=self._form(last)))
        planned.append(self.http.plan("POST", f"/{self.user}/{self.publish_path}", headers=auth,
                                      data={"creation_id": "<id of the container>"}))
        return planned

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        self.check_fits(post)
        container_id = self.container_of(post)
        if container_id is not None:
            status, _detail = self.container_status(container_id)
            if status == "PUBLISHED":
                found = self.find_published(post)
                if found is not None:
                    return found
                raise OutcomeUnknown(
                    f"{self.http.platform}: container {container_id} is already published "
                    "but the post was not found among the latest ones"
                )
            if status not in ("FINISHED", "IN_PROGRESS"):
                self.forget_container(post)
                container_id = None
        self.check_quota()
        if container_id is None:
            steps = self.container_steps(post, self.image_url)
            child_ids = [self.create_container(step) for step in steps[:-1]]
            last = dict(steps[-1])
            if child_ids:
                last["children"] = ",".join(child_ids)
            container_id = self.create_container(last)
            self._containers[post.delivery_id] = container_id
        try:
            self.wait_until_ready(container_id, post)
        except _AlreadyPublished:
            found = self.find_published(post)
            if found is not None:
                return found
            raise OutcomeUnknown(
                f"{self.http.platform}: container {container_id} is already published"
            ) from None
        try:
            doc = self.graph("POST", f"/{self.user}/{self.publish_path}",
                             data={"creation_id": container_id})
        except ContainerExpired:
            self.forget_container(post)
            raise
        media_id = str(doc["id"])
        self.forget_container(post)
        return Published(remote_id=media_id, url=self.permalink(media_id))

    def find_published(self, post: OutgoingPost) -> Published | None:
        """The account's latest posts, matched by exact text and time."""
        doc = self.graph("GET", f"/{self.user}/{self.list_path}",
                         params={"fields": self.list_fields, "limit": 25})
        wanted = normalise_text(post.caption)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if normalise_text(str(item.get(self.text_field) or "")) != wanted:
                continue
            if not recent_enough(item.get("timestamp"), post):
                continue
            link = item.get("permalink")
            return Published(remote_id=str(item["id"]),
                             url=str(link) if link else self.permalink(str(item["id"])))
        return None

    def check(self, post: OutgoingPost) -> Published | None:
        container_id = self.container_of(post)
        status = ""
        if container_id is not None:
            try:
                status, _ = self.container_status(container_id)
            except PermanentPublishError:
                status = ""  # an unknown container: fall back to the caption
            if status in ("FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED"):
                return None  # a container that is not PUBLISHED was certainly not posted
        found = self.find_published(post)
        if found is None and container_id is not None and status == "PUBLISHED":
            raise OutcomeUnknown(
                f"{self.http.platform}: container {container_id} is published but the post "
                "was not found among the latest ones"
            )
        return found

class _AlreadyPublished(Exception):
    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.container_id = container_id
