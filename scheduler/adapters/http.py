"""The one way adapters talk HTTP: timeouts, User-Agent, error mapping, redaction.

Every adapter goes through :class:`HttpClient` so that the same rules hold everywhere:

* every request has ``User-Agent: postq/<version>`` (platforms ask for an identifying
  agent) and runs under :mod:`scheduler.adapters.transport`'s limits: a total deadline
  and a size cap on the answer (a hung or dripping socket must never hold a delivery in
  ``publishing``), and redirects that never carry a credential to another origin;
* one function, :func:`raise_for_status`, maps a platform's answer to the shared error
  types, so the publisher decides between retrying, failing and asking a human without
  knowing the platform;
* a request that may have reached the platform but whose answer was lost, or was a
  500/502/503/504 (a gateway may answer so after the platform acted), becomes
  :class:`~scheduler.errors.OutcomeUnknown` when repeating it could publish twice; the
  publisher then asks the platform (``Adapter.check``) instead of sending again;
* secrets (the adapter's ``secrets()`` values, session tokens, ``Authorization``
  headers) are replaced by ``***`` in anything logged, raised or planned, through the
  one redaction function, :func:`scheduler.redaction.redact`.

See RFC 9110 §10.2.3 for ``Retry-After``:
https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar, cast

import requests
from requests import exceptions as rex

from scheduler import __version__
from scheduler.adapters.base import Adapter, AdapterSettings, PlannedRequest
from scheduler.adapters.transport import (
    DeadlineExceeded,
    ExchangeError,
    Limits,
    RedirectRefused,
    TooLarge,
    exchange,
    new_session,
)
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)
from scheduler.redaction import (
    REDACTED,
    SECRET_HEADERS,
    redact,
    redact_headers,
    redact_value,
    remember,
)
from scheduler.timeutil import Clock

# redact, redact_headers, redact_value and REDACTED are re-exported for the adapters;
# they live in scheduler.redaction, the one place secrets are cut out.
__all__ = ["REDACTED", "DryRunStop", "HttpAdapter", "HttpClient", "describe_bytes",
           "error_message_of", "plan_request", "raise_for_status", "redact", "redact_headers",
           "redact_value", "retry_after_of"]

log = logging.getLogger(__name__)

USER_AGENT = f"postq/{__version__}"
# Methods that have no extra effect when repeated (RFC 9110 §9.2.2).
_IDEMPOTENT_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
# Answers that may come from a gateway after the platform acted: for a call that creates
# something, "the post may exist" (https://www.rfc-editor.org/rfc/rfc9110#name-502-bad-gateway).
_AMBIGUOUS_STATUSES = {500, 502, 503, 504}

SecretSource = Callable[[], Iterable[str]]


# -- planning ---------------------------------------------------------------------------


def describe_bytes(data: bytes, mime: str) -> str:
    """How image bytes appear in plans and logs: size, type and hash, never the content."""
    return f"<{len(data)} bytes {mime} sha256={hashlib.sha256(data).hexdigest()}>"


def plan_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    data: Any = None,
    files: Mapping[str, tuple[str, bytes, str]] | None = None,
    content: tuple[bytes, str] | None = None,
    secrets: Iterable[str] = (),
) -> PlannedRequest:
    """The :class:`PlannedRequest` for a request ``HttpClient`` would send, redacted.

    ``files`` maps a multipart field to ``(filename, bytes, mime)``; ``content`` is a raw
    body with its type. Bytes are summarised by :func:`describe_bytes`.
    """
    values = list(secrets)
    shown_headers = {"User-Agent": USER_AGENT, **(dict(headers or {}))}
    body: Any = None
    if json_body is not None:
        body = redact_value(json_body, values)
    elif files is not None or data is not None:
        form: dict[str, Any] = {}
        if data is not None:
            items = data.items() if isinstance(data, Mapping) else data
            for key, val in items:
                shown = redact_value(val, values)
                if key in form:  # repeated form keys such as media_ids[]
                    prev = form[key]
                    form[key] = [*prev, shown] if isinstance(prev, list) else [prev, shown]
                else:
                    form[key] = shown
        for field_name, (filename, blob, mime) in (files or {}).items():
            form[field_name] = f"{filename} {describe_bytes(blob, mime)}"
        body = form
    elif content is not None:
        blob, mime = content
        body = describe_bytes(blob, mime)
        shown_headers.setdefault("Content-Type", mime)
    return PlannedRequest(
        method=method.upper(),
        url=redact(url, values),
        headers=redact_headers(shown_headers, values),
        body=body,
    )


# -- error mapping ----------------------------------------------------------------------


def _parse_retry_after(value: str, now: datetime) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _parse_reset(value: str, now: datetime) -> float | None:
    """``x-rate-limit-reset``: epoch seconds (X, Bluesky) or an ISO time (Mastodon)."""
    value = value.strip()
    try:
        return max(0.0, float(value) - now.timestamp())
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_of(response: requests.Response, now: datetime | None = None) -> float | None:
    """Seconds the platform asks us to wait, from ``Retry-After`` or a rate-limit reset."""
    now = now or datetime.now(UTC)
    headers = response.headers
    if headers.get("Retry-After"):
        parsed = _parse_retry_after(headers["Retry-After"], now)
        if parsed is not None:
            return parsed
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        if headers.get(name):
            parsed = _parse_reset(headers[name], now)
            if parsed is not None:
                return parsed
    return None


def error_message_of(response: requests.Response) -> str:
    """The platform's own words for a failure, from the usual JSON error shapes."""
    try:
        doc = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:300] if text else (response.reason or f"HTTP {response.status_code}")
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):  # Meta: {"error": {"message": ...}}
            return str(err.get("message") or err)
        parts = []
        for key in ("error", "title"):  # AT Protocol's error name, RFC 7807's title
            if doc.get(key):
                parts.append(str(doc[key]))
        for key in ("message", "error_description", "detail"):
            if doc.get(key):
                parts.append(str(doc[key]))
                break
        if parts:
            return ": ".join(dict.fromkeys(parts))
        if doc.get("errors"):
            return json.dumps(doc["errors"])[:300]
    return json.dumps(doc)[:300]


def raise_for_status(
    response: requests.Response,
    *,
    platform: str,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> None:
    """Map an HTTP answer to the shared error types; return quietly on 2xx.

    401/403 → AuthError (a human must fix credentials or permissions), 429 →
    RateLimited with ``retry_after``, 5xx → TransientPublishError, any other 4xx →
    PermanentPublishError carrying the platform's message.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    values = list(secrets)
    method = response.request.method if response.request is not None else ""
    path = requests.utils.urlparse(response.url).path if response.url else ""
    detail = redact(error_message_of(response), values)
    message = redact(f"{platform}: {method} {path} answered {status}: {detail}", values)
    if status in (401, 403):
        raise AuthError(message)
    if status == 429:
        raise RateLimited(message, retry_after=retry_after_of(response, now))
    if status >= 500:
        raise TransientPublishError(message, retry_after=retry_after_of(response, now))
    raise PermanentPublishError(message)


def _never_sent(exc: BaseException) -> bool:
    """True when the exception proves the request did not leave this machine.

    requests wraps urllib3's errors several layers deep (``reason``, ``args``, causes);
    a refused or timed-out connection and a failed name lookup mean nothing was sent.
    """
    if isinstance(exc, rex.ConnectTimeout | rex.InvalidURL | rex.MissingSchema):
        return True
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        cur = todo.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        if type(cur).__name__ in ("NewConnectionError", "NameResolutionError",
                                  "ConnectTimeoutError", "ConnectionRefusedError"):
            return True
        nxt = [getattr(cur, "reason", None), cur.__cause__, cur.__context__, *cur.args]
        todo.extend(x for x in nxt if isinstance(x, BaseException))
    return False


# -- the client -------------------------------------------------------------------------


class DryRunStop(Exception):  # noqa: N818 - a signal, not an error condition
    """Raised instead of sending when a client is in dry-run mode; carries the request."""

    def __init__(self, planned: PlannedRequest) -> None:
        super().__init__(f"{planned.method} {planned.url}")
        self.planned = planned


class HttpClient:
    """A requests session with postq's rules; one per adapter instance.

    ``secrets`` is called at each use so tokens obtained later (sessions) are redacted too.
    """

    def __init__(
        self,
        *,
        platform: str,
        base_url: str = "",
        secrets: SecretSource = lambda: (),
        limits: Limits | None = None,
        now: Callable[[], datetime] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self._secrets = secrets
        #: Timeouts, total deadline and answer size cap of every request.
        self.limits = limits or Limits.from_env()
        self._now = now or (lambda: datetime.now(UTC))
        self.session = session or new_session()
        self.session.headers["User-Agent"] = USER_AGENT
        #: "GET <url> answered 200 with text/html" for the latest answer, redacted: lets a
        #: caller say what came back when an adapter cannot read it.
        self.last_answer = ""
        #: When true, :meth:`request` raises DryRunStop with the redacted request instead
        #: of sending it (``postq channels --check --dry-run``).
        self.dry_run = False

    def secrets(self) -> list[str]:
        """The adapter's secrets now, remembered so logs and notices are cleaned of them too
        (session tokens appear only after signing in)."""
        found = [s for s in self._secrets() if s]
        remember(*found)
        return found

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def plan(self, method: str, path_or_url: str, **kwargs: Any) -> PlannedRequest:
        """What :meth:`request` would send, redacted; same keyword names as there."""
        return plan_request(method, self.url(path_or_url), secrets=self.secrets(), **kwargs)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        content: tuple[bytes | Iterable[bytes], str] | None = None,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
        check: bool = True,
    ) -> requests.Response:
        """Send one request; raise the shared error types on failure.

        ``idempotent`` says whether repeating the call is harmless (uploads that publish
        nothing, lookups); by default only GET/HEAD/OPTIONS/PUT/DELETE are. A
        non-idempotent call whose answer is lost raises OutcomeUnknown. With
        ``check=False`` HTTP error statuses are returned for the caller to inspect.
        """
        method = method.upper()
        url = self.url(path_or_url)
        if self.dry_run:
            from urllib.parse import urlencode

            shown_url = f"{url}?{urlencode(dict(params))}" if params else url
            raise DryRunStop(self.plan(method, shown_url, headers=headers, json_body=json_body,
                                       data=data, files=files, content=content))
        if idempotent is None:
            idempotent = method in _IDEMPOTENT_METHODS
        hdrs = dict(headers or {})
        body: Any = None
        if content is not None:
            body, mime = content
            hdrs.setdefault("Content-Type", mime)
        secrets = self.secrets()
        shown = redact(f"{method} {url}", secrets)
        log.debug("%s: %s", self.platform, shown)
        try:
            response = exchange(
                self.session,
                method,
                url,
                limits=self.limits,
                follow=idempotent,
                carries_secret=self._carries_secret(url, hdrs, json_body, data, secrets),
                headers=hdrs,
                json=json_body,
                data=body if content is not None else data,
                files=files,
                params=params,
            )
        except (rex.RequestException, ExchangeError) as exc:
            raise self._failure(exc, shown, idempotent, secrets) from None
        log.debug("%s: %s -> %s", self.platform, shown, response.status_code)
        ctype = response.headers.get("Content-Type", "").split(";")[0].strip()
        self.last_answer = (f"{shown} answered {response.status_code} with "
                            f"{ctype or 'no Content-Type'}")
        if not idempotent and response.status_code in _AMBIGUOUS_STATUSES:
            # The same rule as a lost connection: ask the platform, never send again blindly.
            detail = redact(error_message_of(response), secrets)
            raise OutcomeUnknown(
                f"{self.platform}: {shown} answered {response.status_code} ({detail}), which "
                "may come after the platform acted, so it may or may not have taken effect"
            )
        if check:
            raise_for_status(response, platform=self.platform, secrets=secrets, now=self._now())
        return response

    def _carries_secret(self, url: str, headers: Mapping[str, str], json_body: Any, data: Any,
                        secrets: list[str]) -> bool:
        """Whether the request holds a credential (header, body or URL) a redirect could leak."""
        if self.session.auth is not None or any(k.lower() in SECRET_HEADERS for k in headers):
            return True  # session.auth: OAuth 1.0a signs every request, the next hop's too
        shown = json.dumps([url, dict(headers), json_body, data], default=str)
        return redact(shown, secrets) != shown

    def _failure(self, exc: BaseException, shown: str, idempotent: bool, secrets: list[str]
                 ) -> Exception:
        """The shared error type for a request that got no usable answer."""
        reason = redact(str(exc), secrets)
        if isinstance(exc, RedirectRefused):
            # A redirect is an answer: the request was not carried out where it was sent.
            return PermanentPublishError(
                f"{self.platform}: {shown} was {reason}; check the channel's address")
        if isinstance(exc, DeadlineExceeded | TooLarge):
            message = f"{self.platform}: {shown}: {reason}"
        elif _never_sent(exc):
            return TransientPublishError(
                f"{self.platform}: could not connect for {shown}: {reason}")
        else:
            message = f"{self.platform}: no answer to {shown}: {reason}"
        if not idempotent:
            return OutcomeUnknown(f"{message}; it was sent, so it may or may not have "
                                  "taken effect")
        return TransientPublishError(message)

    def json(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        """:meth:`request` and decode its JSON answer (a broken body is transient)."""
        response = self.request(method, path_or_url, **kwargs)
        try:
            return response.json()
        except ValueError:
            shown = redact(f"{method.upper()} {self.url(path_or_url)}", self.secrets())
            message = f"{self.platform}: {shown} answered {response.status_code} without JSON"
            idempotent = kwargs.get("idempotent")
            if idempotent is None:
                idempotent = method.upper() in _IDEMPOTENT_METHODS
            # A success we cannot read may still have published: ask, do not resend.
            if not idempotent:
                raise OutcomeUnknown(message) from None
            raise TransientPublishError(message) from None

    def close(self) -> None:
        self.session.close()


# -- adapters over HTTP -----------------------------------------------------------------

S = TypeVar("S", bound=AdapterSettings)


class HttpAdapter(Adapter, Generic[S]):
    """An adapter talking to one HTTP API through its own :class:`HttpClient`.

    Subclasses set ``label`` and give :meth:`http_base_url`; ``sleep`` is injectable so
    tests need not wait when an adapter polls.
    """

    #: Used in messages: "mastodon 'main'".
    label: ClassVar[str]

    def __init__(
        self,
        channel: str,
        settings: AdapterSettings,
        *,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(channel, settings, env=env, clock=clock, data_dir=data_dir)
        self.sleep = sleep or time.sleep
        self.http = HttpClient(
            platform=f"{self.label} '{channel}'",
            base_url=self.http_base_url(),
            secrets=self.secrets,
            now=self.clock.now,
        )

    @property
    def _settings(self) -> S:
        assert isinstance(self.settings, self.settings_model)
        return cast(S, self.settings)

    def http_base_url(self) -> str:
        """Where relative request paths go, from the channel settings."""
        raise NotImplementedError

    def bearer(self) -> str:
        # A dry run shows the call it would make; it must not renew a token to do so.
        if self.http.dry_run and self.tokens is not None:
            return REDACTED
        return super().bearer()

    def send_authorised(self, method: str, path: str, auth: Callable[[], dict[str, str]],
                        **kwargs: Any) -> requests.Response:
        """``http.request`` with ``auth()`` headers; a 401 to a stored token renews it once
        and sends again (a 401 means nothing was done), then the caller maps the answer."""
        headers = {**auth(), **dict(kwargs.pop("headers", None) or {})}
        response = self.http.request(method, path, headers=headers, check=False, **kwargs)
        if response.status_code == 401 and self.tokens is not None:
            rejected = headers.get("Authorization", "").removeprefix("Bearer ")
            self.tokens.after_unauthorized(rejected)
            headers = {**headers, **auth()}
            response = self.http.request(method, path, headers=headers, check=False, **kwargs)
        return response

    def close(self) -> None:
        self.http.close()
