"""LinkedIn: authorization code, then programmatic refresh tokens where the app has them.

https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens
— access tokens last 60 days, refresh tokens a year from the first login; refreshing
(``POST https://www.linkedin.com/oauth/v2/accessToken``, ``grant_type=refresh_token``,
``client_id``, ``client_secret``) gives a new access token while the refresh token keeps
its original end date. A dead refresh token answers 400 ``invalid_grant``.
"""

from __future__ import annotations

import secrets as pysecrets

from scheduler.credentials.oauth import Flow, Grant, LoginStart, code_from_answer
from scheduler.errors import AuthError

TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
AUTHORIZE_URL = "https://www.linkedin.com/oauth/v2/authorization"
SCOPES = "w_organization_social r_organization_social"


class LinkedInFlow(Flow):
    platform = "linkedin"

    def token_url(self) -> str:
        return self.settings.token_url or TOKEN_URL

    def _secret(self) -> str:
        secret = self.client_secret()
        if secret is None:
            raise AuthError(f"channel '{self.channel}' needs a client_secret_env setting")
        return secret

    def refresh(self, grant: Grant) -> Grant:
        if not grant.refresh_token:
            raise AuthError(f"linkedin '{self.channel}': the app has no refresh token; log in "
                            f"again with `postq channels login {self.channel}`")
        doc = self.request_token("POST", self.token_url(), form={
            "grant_type": "refresh_token", "refresh_token": grant.refresh_token,
            "client_id": self.client_id(), "client_secret": self._secret(),
        }, hide=(grant.refresh_token, grant.access_token))
        return self.grant_from(doc, grant)

    def import_token(self, token: str) -> Grant:
        return self.refresh(Grant("", token, None, None, "", self.clock.now()))

    def start_login(self) -> LoginStart:
        state = pysecrets.token_urlsafe(16)
        url = self._authorize_url(AUTHORIZE_URL, {
            "response_type": "code", "client_id": self.client_id(),
            "redirect_uri": self.settings.redirect_uri, "state": state, "scope": SCOPES,
        })
        return LoginStart(url, state, "")

    def finish_login(self, start: LoginStart, answer: str) -> Grant:
        code = code_from_answer(answer, start.state)
        doc = self.request_token("POST", self.token_url(), form={
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": self.settings.redirect_uri, "client_id": self.client_id(),
            "client_secret": self._secret(),
        }, hide=(code,))
        return self.grant_from(doc)
