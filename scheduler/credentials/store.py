"""The ``credentials`` table: encrypted grants, and the lease that makes refreshing safe.

Several publishers may share one database. A rotating refresh token (X) works exactly
once, so only one of them may present it: :meth:`CredentialStore.take_lease` is a
compare-and-swap (``UPDATE ... WHERE version = ? AND no live lease``) that at most one
process wins; the winner refreshes and writes the new pair with ``version + 1`` in one
statement, the others wait for the version to change and use the winner's token. The
lease is plain data rather than a held row lock, so no database lock is held across the
network call (SQLite would block every other writer meanwhile), and a crashed winner's
lease simply runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update

from scheduler.credentials.crypto import Cipher
from scheduler.credentials.oauth import Grant
from scheduler.store.db import transaction
from scheduler.store.schema import T

#: How long a refresh may hold the lease: above the token request's whole timeout.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class StoredCredential:
    """One row, still encrypted: what can be shown without the key."""

    channel: str
    platform: str
    secret: str
    expires_at: datetime | None
    refresh_expires_at: datetime | None
    obtained_at: datetime
    scopes: str
    state: str
    note: str | None
    version: int
    lease_by: str | None
    lease_until: datetime | None

    def grant(self, cipher: Cipher) -> Grant:
        doc = cipher.decrypt(self.secret, self.channel)
        return Grant(access_token=str(doc.get("access_token") or ""),
                     refresh_token=doc.get("refresh_token") or None,
                     expires_at=self.expires_at, refresh_expires_at=self.refresh_expires_at,
                     scopes=self.scopes, obtained_at=self.obtained_at)


class CredentialStore:
    """Reads and writes the ``credentials`` table of one queue database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.table = T["credentials"]

    def get(self, channel: str) -> StoredCredential | None:
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(select(self.table).where(self.table.c.channel == channel)).first()
        return _row(row) if row is not None else None

    def all(self) -> list[StoredCredential]:
        with transaction(self.engine, write=False) as conn:
            rows = conn.execute(select(self.table).order_by(self.table.c.channel)).all()
        return [_row(r) for r in rows]

    def save(self, channel: str, platform: str, grant: Grant, cipher: Cipher,
             now: datetime) -> None:
        """Store a grant from a login, replacing whatever the channel had."""
        values = {**_grant_values(grant, cipher), "platform": platform, "state": "active",
                  "note": None, "lease_by": None, "lease_until": None, "updated_at": now}
        t = self.table
        with transaction(self.engine, write=True) as conn:
            found = conn.execute(select(t.c.version).where(t.c.channel == channel)
                                 .with_for_update()).scalar()
            if found is None:
                conn.execute(t.insert().values(channel=channel, version=1, **values))
            else:
                conn.execute(update(t).where(t.c.channel == channel)
                             .values(version=found + 1, **values))

    def forget(self, channel: str) -> bool:
        with transaction(self.engine, write=True) as conn:
            gone = conn.execute(delete(self.table).where(self.table.c.channel == channel))
        return bool(gone.rowcount)

    # -- the refresh protocol -----------------------------------------------------------
    def take_lease(self, channel: str, version: int, worker: str, now: datetime) -> bool:
        """Become the one publisher allowed to refresh ``version``; False if another is."""
        t = self.table
        with transaction(self.engine, write=True) as conn:
            done = conn.execute(
                update(t).where(t.c.channel == channel, t.c.version == version,
                                t.c.state == "active",
                                (t.c.lease_until.is_(None)) | (t.c.lease_until < now))
                .values(lease_by=worker, lease_until=now + LEASE)
            )
        return done.rowcount == 1

    def finish_refresh(self, channel: str, version: int, worker: str, grant: Grant,
                       cipher: Cipher, now: datetime) -> bool:
        """Write the new pair and end the lease, only if the lease is still ours."""
        t = self.table
        with transaction(self.engine, write=True) as conn:
            done = conn.execute(
                update(t).where(t.c.channel == channel, t.c.version == version,
                                t.c.lease_by == worker)
                .values(version=version + 1, lease_by=None, lease_until=None, updated_at=now,
                        **_grant_values(grant, cipher))
            )
        return done.rowcount == 1

    def release_lease(self, channel: str, version: int, worker: str) -> None:
        """End the lease without a new token (a network error keeps the old one)."""
        t = self.table
        with transaction(self.engine, write=True) as conn:
            conn.execute(update(t).where(t.c.channel == channel, t.c.version == version,
                                         t.c.lease_by == worker)
                         .values(lease_by=None, lease_until=None))

    def retire(self, channel: str, version: int, worker: str, reason: str,
               now: datetime) -> None:
        """The platform refused the token for good: keep the row, marked unusable."""
        t = self.table
        with transaction(self.engine, write=True) as conn:
            conn.execute(update(t).where(t.c.channel == channel, t.c.version == version,
                                         t.c.lease_by == worker)
                         .values(state="retired", note=reason, lease_by=None,
                                 lease_until=None, version=version + 1, updated_at=now))


def _grant_values(grant: Grant, cipher: Cipher) -> dict[str, Any]:
    return {
        "secret": cipher.encrypt({"access_token": grant.access_token,
                                  "refresh_token": grant.refresh_token}),
        "expires_at": grant.expires_at, "refresh_expires_at": grant.refresh_expires_at,
        "obtained_at": grant.obtained_at, "scopes": grant.scopes,
    }


def _row(row: Any) -> StoredCredential:
    m = row._mapping
    return StoredCredential(**{k: m[k] for k in StoredCredential.__dataclass_fields__})
