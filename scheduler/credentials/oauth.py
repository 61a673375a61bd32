"""What every platform's token flow shares: the grant, the token request, its errors.

A token endpoint's answer is mapped once, here (RFC 6749 §5.1 success, §5.2 errors,
https://www.rfc-editor.org/rfc/rfc6749#section-5.2): only an explicit ``invalid_grant``
(or Meta's "invalid OAuth token", code 190) means the stored token is dead and is
:class:`InvalidGrant`; a network error or a 5xx is transient and the old token is kept;
anything else is an :class:`AuthError` for a person to look at, the token also kept.
"""

from __future__ import annotations

import base64
import hashlib
import secrets as pysecrets
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from scheduler.errors import AuthError, TransientPublishError, UsageError
from scheduler.timeutil import Clock

#: How long one token request may take, all told; well inside the refresh lease (see
#: store.LEASE), so a renewal never outlives the lease that lets it present the token.
TOKEN_DEADLINE = 25.0


class InvalidGrant(AuthError):
    """The platform said the stored token or refresh token is no longer valid."""


@dataclass(frozen=True)
class Grant:
    """What a token endpoint handed back, with absolute times."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    scopes: str
    obtained_at: datetime

    def secrets(self) -> list[str]:
        return [s for s in (self.access_token, self.refresh_token) if s]


@dataclass(frozen=True)
class LoginStart:
    """The address a person opens, and what is needed to finish the login afterwards."""

    url: str
    state: str
    verifier: str


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` and its S256 ``code_challenge`` (RFC 7636 §4.1–4.2)."""
    verifier = pysecrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def code_from_answer(answer: str, state: str) -> str:
    """The authorization code from what the person pasted: the redirected URL or the code.

    A URL's ``state`` must match the one we sent (RFC 6749 §10.12: it ties the answer to
    this login); an ``error`` in it is reported in the platform's words.
    """
    answer = answer.strip()
    if "://" not in answer and "code=" not in answer:
        if not answer:
            raise UsageError("no authorization code was given")
        return answer
    query = parse_qs(urlsplit(answer).query or answer.split("?", 1)[-1])
    if query.get("error"):
        reason = query.get("error_description", query["error"])[0]
        raise AuthError(f"the platform refused the authorization: {reason}")
    if query.get("state", [state])[0] != state:
        raise UsageError("the redirected address belongs to another login (its state differs); "
                         "start the login again")
    code = query.get("code", [""])[0]
    if not code:
        raise UsageError("the redirected address has no code in it")
    return code


class Flow(ABC):
    """How one platform hands out and renews tokens for one channel."""

    platform: ClassVar[str]
    #: Whether the publisher can renew the token without a person.
    can_refresh: ClassVar[bool] = True

    def __init__(self, channel: str, settings: Any, *, env: Mapping[str, str],
                 clock: Clock) -> None:
        from scheduler.adapters.http import HttpClient

        self.channel = channel
        self.settings = settings
        self.env = env
        self.clock = clock
        self._shown: list[str] = []
        self.http = HttpClient(platform=f"{self.platform} '{channel}' token endpoint",
                               secrets=lambda: self._shown + self._app_secrets(),
                               limits=_token_limits(), now=clock.now)

    # -- the app's own credentials ------------------------------------------------------
    def _env_setting(self, key: str) -> str:
        var = getattr(self.settings, key, None)
        if not var:
            raise AuthError(f"channel '{self.channel}' needs a {key} setting for auth = \"oauth2\"")
        value = self.env.get(str(var), "")
        if not value:
            raise AuthError(f"channel '{self.channel}': environment variable {var} is not set")
        return value

    def client_id(self) -> str:
        return self._env_setting("client_id_env")

    def client_secret(self) -> str | None:
        """The app secret, or None for a public client that has none."""
        return self._env_setting("client_secret_env") if self.settings.client_secret_env else None

    def _app_secrets(self) -> list[str]:
        var = self.settings.client_secret_env
        return [self.env.get(var, "")] if var else []

    # -- what each platform defines -----------------------------------------------------
    @abstractmethod
    def token_url(self) -> str:
        """Where token requests go (``token_url`` setting, else the documented endpoint)."""

    @abstractmethod
    def refresh(self, grant: Grant) -> Grant:
        """A new grant from the current one; raise InvalidGrant when the platform says so."""

    @abstractmethod
    def import_token(self, token: str) -> Grant:
        """``--refresh-token-stdin``: turn a pasted token into a stored grant."""

    @abstractmethod
    def start_login(self) -> LoginStart:
        """The authorization address to open."""

    @abstractmethod
    def finish_login(self, start: LoginStart, answer: str) -> Grant:
        """Exchange what the person pasted back for a (long-lived) grant."""

    def renewable(self, grant: Grant) -> bool:
        """Whether the publisher can keep this grant alive without a person."""
        return self.can_refresh and bool(grant.refresh_token)

    def refresh_due(self, grant: Grant, now: datetime) -> bool:
        """Whether to renew now: once three quarters of the token's life has passed."""
        if grant.expires_at is None:
            return False
        life = grant.expires_at - grant.obtained_at
        return now >= grant.expires_at - max(life / 4, timedelta(0))

    # -- the token request --------------------------------------------------------------
    def _authorize_url(self, base: str, params: Mapping[str, str]) -> str:
        return f"{base}?{urlencode(dict(params))}"

    def request_token(self, method: str, url: str, *, form: Mapping[str, str] | None = None,
                      query: Mapping[str, str] | None = None,
                      basic: tuple[str, str] | None = None, hide: tuple[str, ...] = ()) -> Any:
        """Send one token request and return its JSON; errors as the module doc says."""
        self._shown = [s for s in hide if s]
        headers = {}
        if basic is not None:
            raw = f"{basic[0]}:{basic[1]}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        # A token request publishes nothing: a lost answer is transient, never "unknown".
        response = self.http.request(method, url, data=dict(form) if form else None,
                                     params=dict(query) if query else None, headers=headers,
                                     idempotent=True, check=False)
        try:
            doc = response.json()
        except ValueError:
            doc = None
        if 200 <= response.status_code < 300 and isinstance(doc, dict) and doc.get("access_token"):
            return doc
        reason = self._reason(doc, response.status_code)
        where = f"{self.platform} '{self.channel}': the token endpoint answered {response.status_code}"
        if response.status_code >= 500 or response.status_code == 429:
            raise TransientPublishError(f"{where}: {reason}")
        if self._is_invalid_grant(doc):
            raise InvalidGrant(f"{where}: {reason}")
        raise AuthError(f"{where}: {reason}")

    def _reason(self, doc: Any, status: int) -> str:
        from scheduler.adapters.http import redact

        if isinstance(doc, dict):
            err = doc.get("error")
            if isinstance(err, dict):
                text = str(err.get("message") or err)
            else:
                text = ": ".join(str(doc[k]) for k in ("error", "error_description") if doc.get(k))
            text = text or "no reason given"
        else:
            text = "an answer without a token" if 200 <= status < 300 else "no reason given"
        return redact(text[:300], self._shown + self._app_secrets())

    @staticmethod
    def _is_invalid_grant(doc: Any) -> bool:
        if not isinstance(doc, dict):
            return False
        err = doc.get("error")
        if isinstance(err, dict):  # Meta: code 190 is an invalid or expired OAuth token
            return err.get("code") == 190
        return err == "invalid_grant"

    def grant_from(self, doc: Mapping[str, Any], previous: Grant | None = None) -> Grant:
        """A grant from a token answer; a refresh token not sent again is kept (LinkedIn)."""
        now = self.clock.now()
        expires = _seconds(doc.get("expires_in"))
        refresh_expires = _seconds(doc.get("refresh_token_expires_in"))
        grant = Grant(
            access_token=str(doc["access_token"]),
            refresh_token=str(doc["refresh_token"]) if doc.get("refresh_token") else None,
            expires_at=now + timedelta(seconds=expires) if expires is not None else None,
            refresh_expires_at=(now + timedelta(seconds=refresh_expires)
                                if refresh_expires is not None else None),
            scopes=str(doc.get("scope") or (previous.scopes if previous else "")),
            obtained_at=now,
        )
        if previous is not None and grant.refresh_token is None and previous.refresh_token:
            grant = replace(grant, refresh_token=previous.refresh_token,
                            refresh_expires_at=grant.refresh_expires_at
                            or previous.refresh_expires_at)
        return grant

    def close(self) -> None:
        self.http.close()


def _seconds(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def origin_of(url: str) -> str:
    """``https://host`` of a URL, for token endpoints that live outside the API version."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _token_limits() -> Any:
    """The HTTP limits of token requests: the usual ones, capped at :data:`TOKEN_DEADLINE`."""
    from scheduler.adapters.transport import Limits

    usual = Limits.from_env()
    return replace(usual, connect=min(usual.connect, 5.0), read=min(usual.read, 20.0),
                   deadline=min(usual.deadline, TOKEN_DEADLINE))
