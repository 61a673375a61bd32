"""Tables of the queue database, its schema version and the migrations between versions.

The tables are built by :func:`build_metadata` for a given schema version, so the exact
layout an older postq created can be reproduced (tests build a version-1 database and
upgrade it). Only SQLAlchemy Core constructs and plain ``ALTER TABLE``/``CREATE INDEX``
statements are used, so the same code serves SQLite and PostgreSQL.

Times are stored as naive UTC (:class:`UTCDateTime`): SQLite has no time-zone type, and
one convention everywhere keeps ``due <= now`` comparisons correct on both databases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from scheduler.errors import StoreError
from scheduler.store.states import GLOBAL_PAUSE, OPEN_STATES, SCHEMA_VERSION, STATES

__all__ = ["GLOBAL_PAUSE", "OPEN_STATES", "SCHEMA_VERSION", "STATES", "T", "build_metadata"]



class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; every time must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def build_metadata(version: int = SCHEMA_VERSION) -> MetaData:
    """The tables as schema ``version`` defines them."""
    md = MetaData()
    Table(
        "meta", md,
        Column("key", String(64), primary_key=True),
        Column("value", Text, nullable=False),
    )
    Table(
        "posts", md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("post_id", String(200), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("current", Boolean, nullable=False),
        Column("kind", String(64), nullable=False),
        Column("language", String(35), nullable=False),
        Column("source_path", Text, nullable=False),
        Column("source_text", Text, nullable=False),
        Column("content_hash", String(64), nullable=False),
        Column("publish_at", UTCDateTime),
        Column("publish_before", UTCDateTime),
        Column("publish_before_reason", Text),
        Column("details", Text, nullable=False),  # JSON: closing date, event time, extra
        Column("approval_required", Boolean, nullable=False),
        Column("queued_by", String(200), nullable=False),
        Column("queued_at", UTCDateTime, nullable=False),
        Column("approved_by", String(200)),
        Column("approved_at", UTCDateTime),
        Column("approved_hash", String(64)),
        UniqueConstraint("post_id", "revision", name="uq_posts_revision"),
    )
    deliveries = Table(
        "deliveries", md,
        # f"{post_id}@{channel}#r{revision}": unique per revision, so idempotency keys
        # derived from it never collide with an earlier version of the post.
        Column("id", String(300), primary_key=True),
        Column("post_row", Integer, ForeignKey("posts.id"), nullable=False),
        Column("post_id", String(200), nullable=False),
        Column("channel", String(100), nullable=False),
        Column("adapter", String(100), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("caption", Text, nullable=False),
        Column("state", String(32), nullable=False),
        Column("due_at", UTCDateTime, nullable=False),
        # When the publisher should next look at it: due_at, or the retry time.
        Column("wake_at", UTCDateTime, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("claimed_by", String(200)),
        Column("claimed_at", UTCDateTime),
        Column("remote_id", Text),
        Column("remote_url", Text),
        Column("last_error", Text),
        Column("published_at", UTCDateTime),
        Column("updated_at", UTCDateTime, nullable=False),
        UniqueConstraint("post_row", "channel", name="uq_deliveries_channel"),
    )
    Index("ix_deliveries_state_wake", deliveries.c.state, deliveries.c.wake_at)
    Index("ix_deliveries_due", deliveries.c.due_at)
    Table(
        "media", md,
        Column("sha256", String(64), primary_key=True),
        Column("mime", String(64), nullable=False),
        Column("size", Integer, nullable=False),
        Column("file_name", String(80), nullable=False),
    )
    Table(
        "delivery_media", md,
        Column("delivery_id", String(300), ForeignKey("deliveries.id"), primary_key=True),
        Column("position", Integer, primary_key=True),
        Column("sha256", String(64), ForeignKey("media.sha256"), nullable=False),
        Column("alt", Text, nullable=False),
        Column("width", Integer, nullable=False),
        Column("height", Integer, nullable=False),
        Column("source", Text, nullable=False),
        Column("focus", String(40)),
    )
    events = Table(
        "events", md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("at", UTCDateTime, nullable=False),
        Column("who", String(200), nullable=False),
        Column("action", String(40), nullable=False),
        Column("post_id", String(200)),
        Column("delivery_id", String(300)),
        Column("channel", String(100)),
        Column("state_before", String(32)),
        Column("state_after", String(32)),
        Column("reason", Text),
    )
    Table(
        "pauses", md,
        Column("channel", String(100), primary_key=True),  # GLOBAL_PAUSE for everything
        Column("reason", Text, nullable=False),
        Column("paused_by", String(200), nullable=False),
        Column("paused_at", UTCDateTime, nullable=False),
    )
    Table(
        "heartbeats", md,
        Column("worker", String(200), primary_key=True),
        Column("seen_at", UTCDateTime, nullable=False),
        Column("info", Text, nullable=False),
    )
    if version >= 2:
        # v2: adapter progress kept across attempts, and the audit trail looked up by post.
        deliveries.append_column(Column("remote_state", Text))
        Index("ix_events_post", events.c.post_id, events.c.id)
    if version >= 7:
        # v7: signed decisions and a hash-chained audit trail (see store/audit.py).
        md.tables["posts"].append_column(Column("queued_sig", Text))  # author's {"doc","sig"}
        deliveries.append_column(Column("approved_by", String(200)))
        deliveries.append_column(Column("approval", Text))  # approver's {"doc","sig"}
        events.append_column(Column("prev_chain", String(64)))
        events.append_column(Column("chain", String(64)))
        events.append_column(Column("signed", Text))  # the person's {"doc","sig"}
    return md


METADATA = build_metadata()
T = METADATA.tables


def _migrate_1_to_2(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE deliveries ADD COLUMN remote_state TEXT"))
    conn.execute(text("CREATE INDEX ix_events_post ON events (post_id, id)"))


def _migrate_6_to_7(conn: Connection) -> None:
    """Signature columns, and the hash chain computed over the events already there."""
    from scheduler.store.audit import rechain

    for stmt in (
        "ALTER TABLE posts ADD COLUMN queued_sig TEXT",
        "ALTER TABLE deliveries ADD COLUMN approved_by VARCHAR(200)",
        "ALTER TABLE deliveries ADD COLUMN approval TEXT",
        "ALTER TABLE events ADD COLUMN prev_chain VARCHAR(64)",
        "ALTER TABLE events ADD COLUMN chain VARCHAR(64)",
        "ALTER TABLE events ADD COLUMN signed TEXT",
    ):
        conn.execute(text(stmt))
    rechain(conn)


def _unchanged(conn: Connection) -> None:
    """Schema versions 3 to 6 add nothing to this table layout."""


#: ``from_version -> step``; each step brings the database to ``from_version + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2, 2: _unchanged, 3: _unchanged, 4: _unchanged, 5: _unchanged,
    6: _migrate_6_to_7,
}


def read_version(conn: Connection) -> int | None:
    """The schema version of the database, or None when it has no postq tables yet."""
    if not inspect(conn).has_table("meta"):
        return None
    meta = T["meta"]
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    return int(value) if value is not None else None


def create_schema(conn: Connection, version: int = SCHEMA_VERSION) -> None:
    """Create every table of ``version`` in an empty database and record the version."""
    build_metadata(version).create_all(conn)
    conn.execute(T["meta"].insert().values(key="schema_version", value=str(version)))


def ensure_schema(conn: Connection) -> int:
    """Create or upgrade the schema in place; returns the version found before.

    Runs inside the caller's write transaction, so two processes opening a new database at
    once cannot both create it, and a failed upgrade leaves the old database untouched.
    """
    if conn.dialect.name == "postgresql":
        # Two processes creating the tables at once would collide in PostgreSQL's catalog;
        # SQLite is already serialised by BEGIN IMMEDIATE.
        conn.execute(text("SELECT pg_advisory_xact_lock(4242000)"))
    found = read_version(conn)
    if found is None:
        create_schema(conn)
        return 0
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the queue database has schema version {found}, newer than this postq "
            f"understands ({SCHEMA_VERSION}); upgrade postq"
        )
    version = found
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](conn)
        version += 1
    if version != found:
        meta = T["meta"]
        conn.execute(
            meta.update().where(meta.c.key == "schema_version").values(value=str(version))
        )
    return found


def row_dict(row: Any) -> dict[str, Any]:
    return dict(row._mapping)
