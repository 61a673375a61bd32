"""X: OAuth 2.0 authorization code with PKCE, and rotating refresh tokens.

https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code — access
tokens live two hours; with the ``offline.access`` scope a refresh token is issued, and
each refresh (``POST /2/oauth2/token``, ``grant_type=refresh_token``) returns a new
refresh token while the old one stops working. Public clients send ``client_id`` in the
body; confidential clients authenticate with HTTP Basic (client id and secret).
"""

from __future__ import annotations

import secrets as pysecrets

from scheduler.credentials.oauth import Flow, Grant, LoginStart, code_from_answer, pkce_pair
from scheduler.errors import AuthError

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
SCOPES = "tweet.read tweet.write users.read media.write offline.access"


class XFlow(Flow):
    platform = "x"

    def token_url(self) -> str:
        return self.settings.token_url or f"{self.settings.base_url.rstrip('/')}/2/oauth2/token"

    def _client(self, form: dict[str, str]) -> tuple[dict[str, str], tuple[str, str] | None]:
        secret = self.client_secret()
        if secret is None:
            return {**form, "client_id": self.client_id()}, None
        return form, (self.client_id(), secret)

    def refresh(self, grant: Grant) -> Grant:
        if not grant.refresh_token:
            raise AuthError(f"x '{self.channel}': the stored credential has no refresh token "
                            "(log in with the offline.access scope)")
        form, basic = self._client({"grant_type": "refresh_token",
                                    "refresh_token": grant.refresh_token})
        doc = self.request_token("POST", self.token_url(), form=form, basic=basic,
                                 hide=(grant.refresh_token, grant.access_token))
        return self.grant_from(doc)

    def import_token(self, token: str) -> Grant:
        # A pasted refresh token is used at once: that proves it and yields the access token.
        placeholder = Grant("", token, None, None, "", self.clock.now())
        return self.refresh(placeholder)

    def start_login(self) -> LoginStart:
        verifier, challenge = pkce_pair()
        state = pysecrets.token_urlsafe(16)
        url = self._authorize_url(AUTHORIZE_URL, {
            "response_type": "code", "client_id": self.client_id(),
            "redirect_uri": self.settings.redirect_uri, "scope": SCOPES, "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        })
        return LoginStart(url, state, verifier)

    def finish_login(self, start: LoginStart, answer: str) -> Grant:
        code = code_from_answer(answer, start.state)
        form, basic = self._client({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": self.settings.redirect_uri,
                                    "code_verifier": start.verifier})
        return self.grant_from(self.request_token("POST", self.token_url(), form=form,
                                                  basic=basic, hide=(code, start.verifier)))
