"""Meta: short-lived tokens exchanged for long-lived ones; Threads can renew its own.

* Facebook Login (Facebook Pages, Instagram with a Facebook-login token):
  ``GET {base_url}/oauth/access_token?grant_type=fb_exchange_token&client_id&client_secret
  &fb_exchange_token`` turns a short-lived user token into one of about 60 days
  (https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived).
  There is no server-side renewal: a person logs in again before it lapses, which is why
  expiry is warned about early.
* Threads: ``GET graph.threads.net/access_token?grant_type=th_exchange_token&client_secret
  &access_token`` gives a 60-day token; ``GET /refresh_access_token?grant_type=
  th_refresh_token&access_token`` renews one that is at least 24 hours old and unexpired
  (https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/).
* Instagram with Instagram Login (``base_url`` on graph.instagram.com): the same shape as
  Threads with ``ig_exchange_token`` and ``ig_refresh_token``; the code is exchanged at
  ``api.instagram.com/oauth/access_token``
  (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-instagram-login/business-login).
"""

from __future__ import annotations

import secrets as pysecrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from scheduler.credentials.oauth import Flow, Grant, LoginStart, code_from_answer, origin_of
from scheduler.errors import AuthError
from scheduler.timeutil import Clock

#: Threads and Instagram refuse to renew a token younger than this.
THREADS_MIN_AGE = timedelta(hours=24)


class FacebookLoginFlow(Flow):
    platform = "meta"
    can_refresh = False
    dialog = "https://www.facebook.com/v21.0/dialog/oauth"
    scopes = "pages_show_list,pages_manage_posts,instagram_basic,instagram_content_publish"

    def token_url(self) -> str:
        return self.settings.token_url or f"{self.settings.base_url.rstrip('/')}/oauth/access_token"

    def _app_secret(self) -> str:
        secret = self.client_secret()
        if secret is None:
            raise AuthError(f"channel '{self.channel}' needs a client_secret_env setting "
                            "(the app secret) to exchange tokens")
        return secret

    def exchange(self, short: str) -> Grant:
        secret = self._app_secret()
        doc = self.request_token("GET", self.token_url(), query={
            "grant_type": "fb_exchange_token", "client_id": self.client_id(),
            "client_secret": secret, "fb_exchange_token": short,
        }, hide=(short,))
        return self.grant_from(doc)

    def refresh(self, grant: Grant) -> Grant:
        raise AuthError(f"channel '{self.channel}': Meta tokens cannot be renewed without a "
                        f"person; log in again with `postq channels login {self.channel}`")

    def refresh_due(self, grant: Grant, now: datetime) -> bool:
        return False

    def import_token(self, token: str) -> Grant:
        return self.exchange(token)

    def start_login(self) -> LoginStart:
        state = pysecrets.token_urlsafe(16)
        url = self._authorize_url(self.dialog, {
            "client_id": self.client_id(), "redirect_uri": self.settings.redirect_uri,
            "state": state, "response_type": "code", "scope": self.scopes,
        })
        return LoginStart(url, state, "")

    def finish_login(self, start: LoginStart, answer: str) -> Grant:
        code = code_from_answer(answer, start.state)
        doc = self.request_token("GET", self.token_url(), query={
            "client_id": self.client_id(), "client_secret": self._app_secret(),
            "redirect_uri": self.settings.redirect_uri, "code": code,
        }, hide=(code,))
        return self.exchange(str(doc["access_token"]))


class ThreadsFlow(FacebookLoginFlow):
    platform = "threads"
    can_refresh = True
    dialog = "https://threads.net/oauth/authorize"
    scopes = "threads_basic,threads_content_publish"
    exchange_grant = "th_exchange_token"
    refresh_grant = "th_refresh_token"

    def _origin(self) -> str:
        return origin_of(self.settings.token_url or self.settings.base_url)

    def token_url(self) -> str:
        return f"{self._origin()}/access_token"

    def exchange(self, short: str) -> Grant:
        doc = self.request_token("GET", self.token_url(), query={
            "grant_type": self.exchange_grant, "client_secret": self._app_secret(),
            "access_token": short,
        }, hide=(short,))
        return self.grant_from(doc)

    def code_url(self) -> str:
        return f"{self._origin()}/oauth/access_token"

    def renewable(self, grant: Grant) -> bool:
        return True  # the access token itself is renewed

    def refresh_due(self, grant: Grant, now: datetime) -> bool:
        return now - grant.obtained_at >= THREADS_MIN_AGE and super(FacebookLoginFlow, self
                                                                     ).refresh_due(grant, now)

    def refresh(self, grant: Grant) -> Grant:
        doc = self.request_token("GET", f"{self._origin()}/refresh_access_token", query={
            "grant_type": self.refresh_grant, "access_token": grant.access_token,
        }, hide=(grant.access_token,))
        return self.grant_from(doc, grant)

    def finish_login(self, start: LoginStart, answer: str) -> Grant:
        code = code_from_answer(answer, start.state)
        doc = self.request_token("POST", self.code_url(), form={
            "client_id": self.client_id(), "client_secret": self._app_secret(),
            "grant_type": "authorization_code", "redirect_uri": self.settings.redirect_uri,
            "code": code,
        }, hide=(code,))
        return self.exchange(str(doc["access_token"]))


class InstagramLoginFlow(ThreadsFlow):
    platform = "instagram"
    dialog = "https://www.instagram.com/oauth/authorize"
    scopes = "instagram_business_basic,instagram_business_content_publish"
    exchange_grant = "ig_exchange_token"
    refresh_grant = "ig_refresh_token"

    def code_url(self) -> str:
        if self.settings.token_url:
            return f"{self._origin()}/oauth/access_token"
        return "https://api.instagram.com/oauth/access_token"


def instagram_flow(channel: str, settings: Any, *, env: Mapping[str, str], clock: Clock) -> Flow:
    """Instagram Login tokens (graph.instagram.com) renew themselves; Facebook Login's do not."""
    if urlsplit(settings.base_url).hostname == "graph.instagram.com":
        return InstagramLoginFlow(channel, settings, env=env, clock=clock)
    return FacebookLoginFlow(channel, settings, env=env, clock=clock)
