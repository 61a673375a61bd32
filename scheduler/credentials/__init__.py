"""Credentials that last: tokens kept encrypted in the queue database and kept alive.

A channel either names a static token in the environment (``token_env``) or says
``auth = "oauth2"``: then ``postq channels login`` stores what the platform hands back
(access token, refresh token, expiry, scopes) in the ``credentials`` table, encrypted with
the key in ``[postq] credentials_key_env`` (:mod:`.crypto`), and the publisher refreshes
it before it lapses (:mod:`.tokens`), safely when several publishers share one database
(:mod:`.store`). How each platform hands out and renews tokens is in :mod:`.flows`.

Nothing here is imported by ``postq --help``; ``cryptography`` is imported only when a
stored credential is read or written.
"""

from __future__ import annotations

from typing import Any

#: The environment variable holding the key when ``[postq] credentials_key_env`` is unset.
DEFAULT_KEY_ENV = "POSTQ_CREDENTIALS_KEY"


def uses_store(channel_settings: Any) -> bool:
    """Whether a channel keeps its tokens in the credential store (``auth = "oauth2"``).

    Works on an adapter's parsed settings and on the raw channel table alike (pydantic
    exposes the channel's adapter-specific keys as attributes)."""
    return getattr(channel_settings, "auth", None) == "oauth2"


def key_env_of(settings: Any) -> str:
    """The name of the variable holding the credential key, from ``[postq]``."""
    return getattr(settings.postq, "credentials_key_env", None) or DEFAULT_KEY_ENV
