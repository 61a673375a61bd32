"""Expiry found early: when each stored credential lapses, and what is due after that.

A credential lapses when nothing postq can do keeps it alive: a retired one at once; a
renewable one when its refresh token ends (X's have no stated end, LinkedIn's a year
after login); one that cannot be renewed (Meta) when its access token ends. A delivery
due after that moment is named in a warning by ``status``, ``channels`` and ``queue add``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scheduler.store.states import WAITING_STATES

#: A credential lapsing sooner than this is a warning even with nothing queued.
SOON = timedelta(days=14)


@dataclass(frozen=True)
class CredentialStatus:
    """What can be said of one channel's stored credential without its key."""

    channel: str
    stored: bool
    state: str = "missing"
    expires_at: datetime | None = None
    lapses_at: datetime | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {"channel": self.channel, "stored": self.stored, "state": self.state,
                "expires_at": iso(self.expires_at), "lapses_at": iso(self.lapses_at),
                "note": self.note}


def oauth_channels(config_path: Path) -> list[str]:
    """Channels with ``auth = "oauth2"``, read with the standard library alone (``status``
    must not pay for pydantic or SQLAlchemy when no channel uses the store)."""
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    channels = raw.get("channels")
    if not isinstance(channels, dict):
        return []
    return sorted(n for n, c in channels.items() if isinstance(c, dict) and c.get("auth") == "oauth2")


def credential_status(engine: Any, channel: str, now: datetime) -> CredentialStatus:
    """The stored credential of ``channel``, and when it lapses."""
    from scheduler.credentials.store import CredentialStore

    row = CredentialStore(engine).get(channel)
    if row is None:
        return CredentialStatus(channel, stored=False)
    if row.state != "active":
        return CredentialStatus(channel, True, row.state, row.expires_at, now, row.note)
    renewable = row.platform != "meta"  # Facebook Login tokens need a person to renew
    lapses = row.refresh_expires_at if renewable else row.expires_at
    return CredentialStatus(channel, True, row.state, row.expires_at, lapses, row.note)


def lapse_warnings(store: Any, statuses: list[CredentialStatus]) -> list[str]:
    """One sentence per waiting delivery due after its channel's credential lapses."""
    out = []
    for st in statuses:
        if not st.stored:
            for row in _waiting(store, st.channel):
                out.append(f"{row.ref} is due {store.local(row.due_at)} but channel "
                           f"'{st.channel}' has no stored credential; log in with "
                           f"`postq channels login {st.channel}`")
            continue
        if st.lapses_at is None:
            continue
        for row in _waiting(store, st.channel):
            if row.due_at >= st.lapses_at:
                out.append(f"{row.ref} is due {store.local(row.due_at)}, after channel "
                           f"'{st.channel}'s credential lapses ({store.local(st.lapses_at)}); "
                           f"log in again with `postq channels login {st.channel}` before then")
    return out


def _waiting(store: Any, channel: str) -> list[Any]:
    rows = store.list_deliveries(channel=channel)
    return [r for r in rows if r.state in WAITING_STATES]


def describe(status: CredentialStatus, local: Any) -> str:
    """One line for ``status`` and ``channels``."""
    if not status.stored:
        return f"{status.channel}: no stored credential (postq channels login {status.channel})"
    if status.state != "active":
        return f"{status.channel}: credential RETIRED ({status.note})"
    parts = [f"access token until {local(status.expires_at)}" if status.expires_at
             else "access token without an end date"]
    if status.lapses_at is not None:
        parts.append(f"lapses {local(status.lapses_at)} unless renewed by logging in")
    else:
        parts.append("renewed automatically")
    return f"{status.channel}: " + ", ".join(parts)


def report(settings: Any, store: Any, channels: list[str] | None = None
           ) -> tuple[list[CredentialStatus], list[str]]:
    """Statuses of the store-kept channels (all, or ``channels``) and the lapse warnings."""
    from scheduler.credentials import uses_store

    now = store.clock.now()
    names = [n for n, c in sorted(settings.channels.items()) if uses_store(c)
             and (channels is None or n in channels)]
    statuses = [credential_status(store.engine, n, now)
                for n in names]
    return statuses, lapse_warnings(store, statuses)


def channel_credential(settings: Any, adapter: Any, store: Any
                       ) -> tuple[dict[str, Any], list[str], list[str]]:
    """For ``postq channels``: the credential of a store-kept channel, its problems (none
    stored, retired, lapsed, no key), the deliveries due after it lapses, and the adapter
    given its tokens for ``--check``."""
    import os

    from scheduler.credentials import key_env_of
    from scheduler.credentials.tokens import attach

    now = store.clock.now()
    status = credential_status(store.engine, adapter.channel, now)
    problems = []
    var = key_env_of(settings)
    if not status.stored:
        problems.append(f"no stored credential; log in with `postq channels login {adapter.channel}`")
    elif status.state != "active":
        problems.append(f"the stored credential was retired ({status.note}); log in again with "
                        f"`postq channels login {adapter.channel}`")
    elif status.lapses_at is not None and status.lapses_at <= now:
        problems.append(f"the stored credential lapsed at {store.local(status.lapses_at)}; log "
                        f"in again with `postq channels login {adapter.channel}`")
    if not os.environ.get(var):
        problems.append(f"environment variable {var} (the credential key) is not set")
    attach(adapter, settings, store.engine, clock=store.clock)
    info = {**status.as_dict(), "line": describe(status, store.local)}
    warnings = lapse_warnings(store, [status]) if status.stored else []
    if status.state == "active" and status.lapses_at is not None and \
            now < status.lapses_at < now + SOON:
        days = (status.lapses_at - now).days
        warnings.insert(0, f"the stored credential lapses in {days} day{'s' if days != 1 else ''} "
                           f"({store.local(status.lapses_at)}); log in again with "
                           f"`postq channels login {adapter.channel}`")
    return info, problems, warnings


def status_section(read_settings: Any) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """For ``postq status``: credential rows, their lines and the lapse warnings.

    Empty, and free of pydantic and SQLAlchemy, when no channel uses the store.
    """
    if not oauth_channels(read_settings.path):
        return [], [], []
    from scheduler.store import Store

    settings = read_settings.full()
    store = Store.open(settings)
    try:
        statuses, warnings = report(settings, store)
        return ([s.as_dict() for s in statuses], [describe(s, store.local) for s in statuses],
                warnings)
    finally:
        store.close()
