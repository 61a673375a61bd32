"""``postq channels login`` and ``logout`` as core functions: no click, no printing.

The command line reads what the person types and prints what these return; the flow,
the storing and the errors live here so tests and other front ends use the same path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scheduler.credentials import key_env_of, uses_store
from scheduler.credentials.crypto import cipher_from_env
from scheduler.credentials.oauth import Flow, Grant, LoginStart
from scheduler.errors import ConfigError
from scheduler.timeutil import Clock


@dataclass(frozen=True)
class LoginResult:
    channel: str
    expires_at: datetime | None
    scopes: str
    refreshable: bool


def channel_flow(settings: Any, channel: str, *, env: Mapping[str, str] | None = None,
                 clock: Clock | None = None) -> Flow:
    """The token flow of a configured ``auth = "oauth2"`` channel."""
    from scheduler.adapters import AdapterRegistry
    from scheduler.credentials.flows import FLOWS, flow_for, no_flow

    cfg = settings.channel(channel)
    if cfg.adapter not in FLOWS:
        raise no_flow(cfg.adapter, channel)
    cls = AdapterRegistry.from_entry_points().get(cfg.adapter)
    parsed = cls.parse_settings(channel, cfg.model_dump())
    if not uses_store(parsed):
        raise ConfigError(f'channel \'{channel}\' does not keep its tokens in the credential '
                          f'store; add auth = "oauth2" to [channels.{channel}] first',
                          settings.path, f"channels.{channel}.auth")
    return flow_for(cfg.adapter, channel, parsed, env=env if env is not None else os.environ,
                    clock=clock or Clock())


def store_grant(settings: Any, store: Any, flow: Flow, grant: Grant,
                env: Mapping[str, str] | None = None) -> LoginResult:
    """Encrypt and keep a grant, replacing the channel's old one."""
    from scheduler.credentials.store import CredentialStore

    cipher = cipher_from_env(env if env is not None else os.environ, key_env_of(settings))
    CredentialStore(store.engine).save(flow.channel, flow.platform, grant, cipher,
                                       store.clock.now())
    return LoginResult(flow.channel, grant.expires_at, grant.scopes, flow.renewable(grant))


def login_with_token(settings: Any, store: Any, channel: str, token: str,
                     env: Mapping[str, str] | None = None) -> LoginResult:
    """``--refresh-token-stdin``: import a token; the platform is asked at once."""
    token = token.strip()
    if not token:
        raise ConfigError("standard input was empty; pipe the token in, e.g. "
                          f"`postq channels login {channel} --refresh-token-stdin < token.txt`")
    # The key is checked before the platform is asked: a rotated token must not be lost.
    cipher_from_env(env if env is not None else os.environ, key_env_of(settings))
    flow = channel_flow(settings, channel, env=env, clock=store.clock)
    try:
        grant = flow.import_token(token)
        return store_grant(settings, store, flow, grant, env)
    finally:
        flow.close()


def login_interactive(settings: Any, store: Any, channel: str,
                      ask: Callable[[LoginStart], str],
                      env: Mapping[str, str] | None = None) -> LoginResult:
    """The platform's authorization flow: ``ask`` shows the address and returns the answer."""
    cipher_from_env(env if env is not None else os.environ, key_env_of(settings))
    flow = channel_flow(settings, channel, env=env, clock=store.clock)
    try:
        start = flow.start_login()
        grant = flow.finish_login(start, ask(start))
        return store_grant(settings, store, flow, grant, env)
    finally:
        flow.close()


def logout(store: Any, channel: str) -> bool:
    """Forget a channel's stored credential; False when there was none."""
    from scheduler.credentials.store import CredentialStore

    return CredentialStore(store.engine).forget(channel)
