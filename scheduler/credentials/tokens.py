"""The publisher's side: a valid access token for a channel, refreshed when due.

:class:`TokenSource` is what an adapter asks for its bearer token
(:meth:`scheduler.adapters.base.Adapter.bearer`). It keeps the decrypted grant in memory,
renews it once three quarters of its life has passed, and once more after a 401 (then the
adapter gives up with AuthError). Renewal follows :mod:`.store`'s lease, so among
several publishers exactly one presents a refresh token and the rest use its result.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from scheduler.credentials.crypto import Cipher
from scheduler.credentials.oauth import Flow, Grant, InvalidGrant
from scheduler.credentials.store import LEASE, CredentialStore, StoredCredential
from scheduler.errors import AuthError, PostqError, TransientPublishError
from scheduler.timeutil import Clock

log = logging.getLogger("postq.credentials")

#: How often a publisher that lost the race looks for the winner's token.
_POLL = 0.05


class TokenSource:
    """Access tokens of one channel from the credential store."""

    def __init__(self, channel: str, store: CredentialStore,
                 cipher: Cipher | Callable[[], Cipher], flow: Flow, *,
                 clock: Clock | None = None, worker: str | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_retired: Callable[[str, str], None] | None = None) -> None:
        self.channel = channel
        self.store = store
        # The key is read on first use, so a dry run that sends nothing needs none.
        self._cipher_source = cipher
        self._cipher: Cipher | None = cipher if isinstance(cipher, Cipher) else None
        self.flow = flow
        self.clock = clock or Clock()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.sleep = sleep
        self.on_retired = on_retired
        self._lock = threading.Lock()
        self._row: StoredCredential | None = None
        self._grant: Grant | None = None
        #: Every refresh this process presented, for tests and logs (values never kept).
        self.refreshes = 0

    # -- what adapters call -------------------------------------------------------------
    def access_token(self) -> str:
        """A token that is valid now, renewing it first when it is due."""
        with self._lock:
            row, grant = self._current()
            if self.flow.can_refresh and self.flow.refresh_due(grant, self.clock.now()):
                try:
                    row, grant = self._renew(row.version)
                except TransientPublishError as exc:
                    # Renewal is early on purpose: a token still valid is used meanwhile.
                    if grant.expires_at is None or grant.expires_at <= self.clock.now():
                        raise
                    log.warning("%s: renewal failed, the current token is still valid: %s",
                                self.channel, exc)
            self._check_not_expired(grant)
            return grant.access_token

    def after_unauthorized(self, rejected: str) -> str:
        """The platform answered 401 to ``rejected``: a newer token, or AuthError."""
        with self._lock:
            row, grant = self._read()
            if grant.access_token != rejected:
                return grant.access_token  # another publisher already renewed it
            if not self.flow.can_refresh:
                raise AuthError(f"channel '{self.channel}': the platform refused the stored "
                                f"token; log in again with `postq channels login {self.channel}`")
            row, grant = self._renew(row.version)
            return grant.access_token

    def secrets(self) -> list[str]:
        """The token values held in memory, so any output can be scrubbed of them."""
        return self._grant.secrets() if self._grant is not None else []

    # -- inside -------------------------------------------------------------------------
    @property
    def cipher(self) -> Cipher:
        if self._cipher is None:
            source = self._cipher_source
            assert callable(source)
            self._cipher = source()
        return self._cipher

    def _current(self) -> tuple[StoredCredential, Grant]:
        if self._row is None or self._grant is None:
            return self._read()
        return self._row, self._grant

    def _read(self) -> tuple[StoredCredential, Grant]:
        row = self.store.get(self.channel)
        if row is None:
            raise AuthError(f"channel '{self.channel}' has no stored credential; log in with "
                            f"`postq channels login {self.channel}`")
        if row.state != "active":
            raise AuthError(f"channel '{self.channel}': the stored credential was retired "
                            f"({row.note}); log in again with `postq channels login {self.channel}`")
        self._row, self._grant = row, row.grant(self.cipher)
        return self._row, self._grant

    def _check_not_expired(self, grant: Grant) -> None:
        if grant.expires_at is not None and grant.expires_at <= self.clock.now():
            raise AuthError(f"channel '{self.channel}': the stored token expired at "
                            f"{grant.expires_at:%Y-%m-%d %H:%M} UTC; log in again with "
                            f"`postq channels login {self.channel}`")

    def _renew(self, seen: int) -> tuple[StoredCredential, Grant]:
        """Renew the grant of version ``seen``, or adopt the one another publisher made."""
        give_up = time.monotonic() + LEASE.total_seconds() + 5
        while True:
            row = self.store.get(self.channel)
            if row is None or row.state != "active":
                return self._read()  # raises the right AuthError
            if row.version != seen:
                log.info("%s: using the token another publisher renewed", self.channel)
                self._row, self._grant = row, row.grant(self.cipher)
                return self._row, self._grant
            if self.store.take_lease(self.channel, seen, self.worker, self.clock.now()):
                return self._refresh_holding_lease(row)
            if time.monotonic() > give_up:
                raise TransientPublishError(f"channel '{self.channel}': another publisher has "
                                            "been renewing the token for too long")
            self.sleep(_POLL)

    def _refresh_holding_lease(self, row: StoredCredential) -> tuple[StoredCredential, Grant]:
        old = row.grant(self.cipher)
        try:
            new = self.flow.refresh(old)
        except InvalidGrant as exc:
            reason = f"the platform refused the refresh: {exc}"
            self.store.retire(self.channel, row.version, self.worker, str(exc), self.clock.now())
            self._row = self._grant = None
            message = (f"channel '{self.channel}': {reason}; the stored credential is retired, "
                       f"log in again with `postq channels login {self.channel}`")
            log.error("%s", message)
            if self.on_retired is not None:
                try:
                    self.on_retired(self.channel, message)
                except Exception:  # a notice that fails must not hide the real error
                    log.exception("the notice about %s could not be sent", self.channel)
            raise AuthError(message) from None
        except PostqError:
            # Network error, 5xx or anything unclear: the old refresh token is kept.
            self.store.release_lease(self.channel, row.version, self.worker)
            raise
        except Exception:
            self.store.release_lease(self.channel, row.version, self.worker)
            raise
        self.refreshes += 1
        if not self.store.finish_refresh(self.channel, row.version, self.worker, new,
                                         self.cipher, self.clock.now()):
            raise TransientPublishError(f"channel '{self.channel}': the renewed token could not "
                                        "be saved (the refresh lease ran out)")
        log.info("%s: token renewed, valid until %s", self.channel, new.expires_at)
        return self._read()


def attach(adapter: Any, settings: Any, engine: Any, *, env: Mapping[str, str] | None = None,
           clock: Clock | None = None, worker: str | None = None,
           on_retired: Callable[[str, str], None] | None = None) -> Any:
    """Give ``adapter`` a :class:`TokenSource` when its channel uses the store; returns it.

    ``settings`` is the whole configuration (for ``credentials_key_env``); the key is read
    when a token is first needed, so a missing key fails that delivery with one sentence
    naming the variable, and a dry run needs no key.
    """
    from scheduler.credentials import key_env_of, uses_store
    from scheduler.credentials.crypto import cipher_from_env
    from scheduler.credentials.flows import flow_for

    if not uses_store(adapter.settings):
        return None
    env = env if env is not None else os.environ
    clock = clock or adapter.clock
    var = key_env_of(settings)
    source = env

    def cipher() -> Cipher:
        return cipher_from_env(source, var)

    flow = flow_for(adapter.settings.adapter, adapter.channel, adapter.settings, env=env,
                    clock=clock)
    adapter.tokens = TokenSource(adapter.channel, CredentialStore(engine), cipher, flow,
                                 clock=clock, worker=worker, on_retired=on_retired)
    return adapter.tokens


def check_key(settings: Any, engine: Any, env: Mapping[str, str] | None = None) -> None:
    """Before a publisher starts: the key is set and opens every stored credential.

    Without this, a missing or wrong key would surface as one failed delivery after
    another; stopping at once with one sentence loses nothing.
    """
    from scheduler.credentials import key_env_of, uses_store
    from scheduler.credentials.crypto import cipher_from_env

    names = [n for n, c in settings.channels.items() if uses_store(c)]
    if not names:
        return
    cipher = cipher_from_env(env if env is not None else os.environ, key_env_of(settings))
    store = CredentialStore(engine)
    for name in sorted(names):
        row = store.get(name)
        if row is not None:
            row.grant(cipher)  # CredentialKeyError naming the channel and the variable
