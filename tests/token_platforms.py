"""Local token endpoints that behave as each platform documents, plus a minimal X API.

Each is the ``handler`` of a :class:`tests.peers.LocalServer` and keeps a ledger of every
token presented, so a test can prove that no refresh token was ever presented twice.

* X (https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code):
  ``POST /2/oauth2/token`` with ``grant_type=refresh_token`` returns a new access token
  *and a new refresh token*; the old refresh token stops working at once. Access tokens
  live ``lifetime`` seconds (two hours on X; a few seconds here). Public clients send
  ``client_id`` in the body. A dead refresh token answers 400 ``invalid_grant``
  (RFC 6749 §5.2, https://www.rfc-editor.org/rfc/rfc6749#section-5.2). The authorization
  code grant checks the PKCE verifier against the S256 challenge (RFC 7636 §4.6).
  ``POST /2/tweets`` and ``/2/media/*`` answer 401 to an unknown or expired bearer.
* Meta (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived):
  ``GET /oauth/access_token?grant_type=fb_exchange_token`` turns a short-lived token into
  one of about 60 days (``expires_in`` 5183944); an invalid token answers 400 with
  ``{"error": {"type": "OAuthException", "code": 190}}``.
* Threads (https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/):
  ``GET /access_token?grant_type=th_exchange_token`` and
  ``GET /refresh_access_token?grant_type=th_refresh_token`` (the token must be unexpired);
  Instagram Login the same with ``ig_exchange_token``/``ig_refresh_token``
  (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).
* LinkedIn (https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens):
  ``POST /oauth/v2/accessToken`` with ``grant_type=refresh_token`` gives a new 60-day
  access token; the refresh token stays the same and keeps its original end date.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes import form_of
from tests.peers import Recorded, Reply

_counter = itertools.count(1)


def _new(prefix: str) -> str:
    return f"{prefix}-{next(_counter):06d}-{hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:20]}"


def _query(req: Recorded) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(req.path).query).items()}


def _bad_grant() -> Reply:
    return Reply(400, {"error": "invalid_grant",
                       "error_description": "Value passed for the token was invalid."})


class XStandIn:
    """X's token endpoint with rotating refresh tokens, and the calls a post makes."""

    def __init__(self, *, client_id: str = "app-client-id", lifetime: float = 7200.0,
                 now: Callable[[], float] = time.time) -> None:
        self.client_id = client_id
        self.lifetime = lifetime
        self.now = now
        self.lock = threading.Lock()
        self.live_refresh: set[str] = set()
        self.access: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.presented: list[str] = []  # every refresh token presented, in order
        self.refused: list[str] = []  # refresh tokens answered with invalid_grant
        self.challenges: dict[str, str] = {}  # authorization code -> S256 challenge
        self.tweets: list[dict[str, Any]] = []
        self.fail_token: list[Reply] = []  # answers to give the next token requests
        self.reject_all = False  # answer 401 to every API call (app suspended, say)

    # -- what a test sets up ------------------------------------------------------------
    def issue_refresh_token(self) -> str:
        token = _new("x-refresh")
        self.live_refresh.add(token)
        return token

    def approve(self, authorize_url: str) -> str:
        """What the person's browser does: approve, and return the redirected address."""
        q = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        assert q["code_challenge_method"] == "S256" and "offline.access" in q["scope"]
        code = _new("x-code")
        self.challenges[code] = q["code_challenge"]
        return f"{q['redirect_uri']}?state={q['state']}&code={code}"

    def authorised_token(self, token: str) -> bool:
        expiry = self.access.get(token)
        return expiry is not None and self.now() < expiry

    def presented_twice(self) -> list[str]:
        return [t for t, n in Counter(self.presented).items() if n > 1]

    # -- the server ---------------------------------------------------------------------
    def _grant(self) -> dict[str, Any]:
        access, refresh = _new("x-access"), _new("x-refresh")
        self.access[access] = self.now() + self.lifetime
        self.live_refresh.add(refresh)
        return {"token_type": "bearer", "expires_in": self.lifetime, "access_token": access,
                "scope": "tweet.read tweet.write users.read media.write offline.access",
                "refresh_token": refresh}

    def token(self, req: Recorded) -> Reply:
        form = form_of(req)
        if form.get("client_id") != self.client_id:
            return Reply(401, {"error": "invalid_client"})
        with self.lock:
            if self.fail_token:
                return self.fail_token.pop(0)
            if form.get("grant_type") == "refresh_token":
                token = form.get("refresh_token", "")
                self.presented.append(token)
                if token not in self.live_refresh:
                    self.refused.append(token)
                    return _bad_grant()
                self.live_refresh.discard(token)  # rotation: the old one stops working
                return Reply(200, self._grant())
            if form.get("grant_type") == "authorization_code":
                challenge = self.challenges.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "").encode()
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
                if challenge is None or digest.decode() != challenge:
                    return _bad_grant()
                return Reply(200, self._grant())
        return Reply(400, {"error": "unsupported_grant_type"})

    def authorised(self, req: Recorded) -> bool:
        if self.reject_all:
            return False
        token = req.headers.get("Authorization", "").removeprefix("Bearer ")
        expiry = self.access.get(token)
        return expiry is not None and self.now() < expiry

    def __call__(self, req: Recorded) -> Reply:
        path = urlsplit(req.path).path
        if path == "/2/oauth2/token":
            return self.token(req)
        if not self.authorised(req):
            return Reply(401, {"title": "Unauthorized", "type": "about:blank", "status": 401,
                               "detail": "Unauthorized"})
        if path == "/2/media/upload":
            return Reply(200, {"data": {"id": _new("media"), "media_key": "3_1"}})
        if path == "/2/media/metadata":
            return Reply(200, {"data": {"associated_metadata": True}})
        if path == "/2/users/me":
            return Reply(200, {"data": {"id": "42", "username": "careers"}})
        if path == "/2/tweets" and req.method == "POST":
            body = json.loads(req.body)
            with self.lock:
                tweet = {"id": str(1000 + len(self.tweets)), "text": body["text"]}
                self.tweets.append(tweet)
            return Reply(201, {"data": tweet})
        return Reply(404, {"title": "Not Found Error"})


class MetaStandIn:
    """Graph API and Threads token exchange and refresh."""

    def __init__(self, *, app_id: str = "meta-app", app_secret: str = "meta-app-secret",
                 exchange: str = "th_exchange_token", refresh: str = "th_refresh_token") -> None:
        # Instagram Login's graph.instagram.com takes the same calls with ig_* grant types.
        self.grants = (exchange, refresh)
        self.app_id = app_id
        self.app_secret = app_secret
        self.valid: set[str] = set()
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.codes: set[str] = set()

    def approve(self, authorize_url: str) -> str:
        """The person approves in the browser: the redirected address with a code."""
        q = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = _new("meta-code")
        self.codes.add(code)
        return f"{q['redirect_uri']}?code={code}&state={q['state']}#_"

    def short_token(self) -> str:
        token = _new("meta-short")
        self.valid.add(token)
        return token

    def _invalid(self) -> Reply:
        return Reply(400, {"error": {"message": "Error validating access token: Session has "
                                                "expired", "type": "OAuthException", "code": 190,
                                     "error_subcode": 463}})

    def _long(self) -> Reply:
        token = _new("meta-long")
        self.valid.add(token)
        return Reply(200, {"access_token": token, "token_type": "bearer", "expires_in": 5183944})

    def __call__(self, req: Recorded) -> Reply:
        path, q = urlsplit(req.path).path, _query(req)
        self.seen.append((path, q))
        if path.endswith("/oauth/access_token") and q.get("grant_type") == "fb_exchange_token":
            if q.get("client_id") != self.app_id or q.get("client_secret") != self.app_secret:
                return Reply(400, {"error": {"message": "Error validating client secret.",
                                             "type": "OAuthException", "code": 1}})
            return self._long() if q.get("fb_exchange_token") in self.valid else self._invalid()
        if path == "/access_token" and q.get("grant_type") == self.grants[0]:
            if q.get("client_secret") != self.app_secret:
                return Reply(400, {"error": {"message": "Invalid client secret",
                                             "type": "OAuthException", "code": 1}})
            return self._long() if q.get("access_token") in self.valid else self._invalid()
        if path == "/oauth/access_token" and req.method == "POST":  # Threads: code -> short token
            form = form_of(req)
            if form.get("code") not in self.codes or form.get("client_secret") != self.app_secret:
                return Reply(400, {"error": {"message": "Invalid code", "type": "OAuthException",
                                             "code": 100}})
            self.codes.discard(form["code"])
            return Reply(200, {"access_token": self.short_token(), "user_id": 1})
        if path.endswith("/oauth/access_token") and q.get("code"):  # Facebook: code -> short
            if q["code"] not in self.codes:
                return self._invalid()
            self.codes.discard(q["code"])
            return Reply(200, {"access_token": self.short_token(), "token_type": "bearer",
                               "expires_in": 3600})
        if path == "/refresh_access_token" and q.get("grant_type") == self.grants[1]:
            return self._long() if q.get("access_token") in self.valid else self._invalid()
        return Reply(404, {"error": {"message": "Unknown path", "code": 803}})


class LinkedInStandIn:
    """LinkedIn's token endpoint: refresh tokens that stay the same and keep their end."""

    def __init__(self, *, client_id: str = "li-client", client_secret: str = "li-secret",
                 now: Callable[[], float] = time.time) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.now = now
        self.refresh_ends: dict[str, float] = {}
        self.revoked: set[str] = set()
        self.issued: list[str] = []  # access tokens, in order
        self.codes: set[str] = set()

    def approve(self, authorize_url: str) -> str:
        q = {k: v[-1] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = _new("li-code")
        self.codes.add(code)
        return f"{q['redirect_uri']}?code={code}&state={q['state']}"

    def issue_refresh_token(self, ttl: float = 365 * 86400) -> str:
        token = _new("li-refresh")
        self.refresh_ends[token] = self.now() + ttl
        return token

    def __call__(self, req: Recorded) -> Reply:
        form = form_of(req)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id,
                                                                  self.client_secret):
            return Reply(401, {"error": "invalid_client"})
        if form.get("grant_type") == "authorization_code":
            if form.get("code") not in self.codes:
                return Reply(400, {"error": "invalid_grant",
                                   "error_description": "Unable to retrieve access token"})
            self.codes.discard(form["code"])
            refresh = self.issue_refresh_token()
            self.issued.append(_new("li-access"))
            return Reply(200, {"access_token": self.issued[-1], "expires_in": 5184000,
                               "refresh_token": refresh, "refresh_token_expires_in": 31536000,
                               "scope": "r_organization_social,w_organization_social"})
        token = form.get("refresh_token", "")
        end = self.refresh_ends.get(token)
        if form.get("grant_type") != "refresh_token" or end is None or token in self.revoked \
                or end <= self.now():
            return Reply(400, {"error": "invalid_grant",
                               "error_description": "The provided authorization grant is invalid"})
        self.issued.append(_new("li-access"))
        return Reply(200, {"access_token": self.issued[-1], "expires_in": 5184000,
                           "refresh_token": token,
                           "refresh_token_expires_in": int(end - self.now()),
                           "scope": "r_organization_social,w_organization_social"})
