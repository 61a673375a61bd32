"""The channel settings shared by every adapter that can keep its tokens in the store.

A channel either names a static token (``token_env``, as before) or says
``auth = "oauth2"``: its tokens then come from ``postq channels login`` and are renewed
by the publisher, using the app's ``client_id_env`` / ``client_secret_env``.
"""

from __future__ import annotations

from typing import Literal

from scheduler.adapters.base import AdapterSettings


class OAuthSettings(AdapterSettings):
    """``auth`` ("token" or "oauth2"), the app's ``client_id_env``/``client_secret_env``,
    the ``redirect_uri`` registered with the app, and ``token_url`` to send token requests
    elsewhere than the platform's documented endpoint (a proxy, a test server)."""

    auth: Literal["token", "oauth2"] = "token"
    client_id_env: str | None = None
    client_secret_env: str | None = None
    redirect_uri: str = "http://localhost:8400/callback"
    token_url: str | None = None
