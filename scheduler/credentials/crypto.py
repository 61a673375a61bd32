"""Encryption of stored credentials: Fernet from ``cryptography``, never hand-made crypto.

Fernet (AES-128-CBC with HMAC-SHA256, https://cryptography.io/en/latest/fernet/) both
hides and authenticates a token: a wrong key fails the HMAC check, so a credential read
with the wrong key is a clear error and never garbage sent to a platform.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from scheduler.errors import ConfigError


class CredentialKeyError(ConfigError):
    """The credential key is missing, malformed or not the one the credential was stored with."""


def new_key() -> str:
    """A fresh random key, printed by ``postq channels new-key``."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


class Cipher:
    """Encrypts and decrypts credential documents with one key from one variable."""

    def __init__(self, key: str, var: str) -> None:
        from cryptography.fernet import Fernet

        self.var = var
        try:
            self._fernet = Fernet(key.strip().encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise CredentialKeyError(
                f"environment variable {var} does not hold a credential key (make one with "
                "`postq channels new-key`)"
            ) from None

    def encrypt(self, doc: Mapping[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(dict(doc), sort_keys=True).encode()).decode("ascii")

    def decrypt(self, blob: str, channel: str) -> dict[str, Any]:
        from cryptography.fernet import InvalidToken

        try:
            doc = json.loads(self._fernet.decrypt(blob.encode("ascii")))
        except (InvalidToken, ValueError):
            raise CredentialKeyError(
                f"the stored credential of channel '{channel}' cannot be decrypted with the key "
                f"in {self.var}: it is not the key the credential was stored with (set the "
                f"right key, or log in again with `postq channels login {channel}`)"
            ) from None
        if not isinstance(doc, dict):
            raise CredentialKeyError(f"the stored credential of channel '{channel}' is damaged")
        return doc


def cipher_from_env(env: Mapping[str, str], var: str) -> Cipher:
    """The cipher for the key in ``var``; one sentence naming the variable when unset."""
    key = env.get(var, "")
    if not key.strip():
        raise CredentialKeyError(
            f"set the environment variable {var} to the credential key (make one with "
            "`postq channels new-key`)"
        )
    return Cipher(key, var)
