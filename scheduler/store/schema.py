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
    LargeBinary,
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
        *([UniqueConstraint("post_row", "channel", name="uq_deliveries_channel")]
          if version < 3 else []),
    )
    # From 9 the id too: the publisher claims in (wake_at, id) order, and deliveries due
    # at the same instant (a burst) would otherwise be sorted whole on every claim.
    Index("ix_deliveries_state_wake", deliveries.c.state, deliveries.c.wake_at,
          *([deliveries.c.id] if version >= 9 else []))
    if version < 8:
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
    if version >= 3:
        _add_reminders(deliveries)
    if version >= 4:
        # v4: the fencing token of the current claim, raised by every claim, so a publisher
        # that lost its claim can no longer record an outcome (see PublishOps.claim_due).
        deliveries.append_column(
            Column("claim_token", Integer, nullable=False, default=0, server_default="0"))
    if version >= 5:
        _credentials_table(md)
    if version >= 6:
        _media_blobs_table(md)
    if version >= 7:
        # v7: signed decisions and a hash-chained audit trail (see store/audit.py).
        md.tables["posts"].append_column(Column("queued_sig", Text))  # author's {"doc","sig"}
        deliveries.append_column(Column("approved_by", String(200)))
        deliveries.append_column(Column("approval", Text))  # approver's {"doc","sig"}
        events.append_column(Column("prev_chain", String(64)))
        events.append_column(Column("chain", String(64)))
        events.append_column(Column("signed", Text))  # the person's {"doc","sig"}
    if version >= 8:
        _list_indexes(deliveries, md.tables["posts"])
    return md


def _list_indexes(deliveries: Table, posts: Table) -> None:
    """v8: the indexes the reads walk in order, so what they cost grows with what they
    show, not with the whole history (see tests/test_read_plans.py).

    ``queue list`` orders by (due_at, post_id, channel) and stops at its limit; the
    calendar reads a window of due times (a prefix of the same index, which replaces the
    one on due_at alone) and marks the deadlines (``publish_before``) inside it.
    """
    Index("ix_deliveries_list", deliveries.c.due_at, deliveries.c.post_id,
          deliveries.c.channel)
    Index("ix_posts_deadline", posts.c.publish_before)


def _add_reminders(deliveries: Table) -> None:
    """v3: Q&A reminders are extra deliveries of the same post row on the same channel.

    ``reminder`` is the offset before the event (``-1h``), or '' for the post itself, so
    one channel holds the announcement and each of its reminders once.
    """
    deliveries.append_column(
        Column("reminder", String(16), nullable=False, server_default="", default="")
    )
    Index("uq_deliveries_slot", deliveries.c.post_row, deliveries.c.channel,
          deliveries.c.reminder, unique=True)


def _credentials_table(md: MetaData) -> Table:
    """v5: tokens a platform handed back, encrypted (see :mod:`scheduler.credentials`).

    ``secret`` is Fernet ciphertext of the access and refresh tokens; the expiry times and
    scopes stay readable so ``status`` can warn without the key. ``version`` grows with
    every new token pair, and ``lease_by``/``lease_until`` mark the one publisher allowed
    to present the refresh token, so several publishers never present it twice.
    """
    return Table(
        "credentials", md,
        Column("channel", String(100), primary_key=True),
        Column("platform", String(32), nullable=False),
        Column("secret", Text, nullable=False),
        Column("expires_at", UTCDateTime),
        Column("refresh_expires_at", UTCDateTime),
        Column("obtained_at", UTCDateTime, nullable=False),
        Column("scopes", Text, nullable=False),
        Column("state", String(16), nullable=False),  # active | retired
        Column("note", Text),
        Column("version", Integer, nullable=False),
        Column("lease_by", String(200)),
        Column("lease_until", UTCDateTime),
        Column("updated_at", UTCDateTime, nullable=False),
    )


def _media_blobs_table(md: MetaData) -> Table:
    """v6: rendered media in the database, so publishers on other machines can read them
    (:mod:`scheduler.store.blobs`); split in parts so no single value is huge."""
    return Table(
        "media_blobs", md,
        Column("sha256", String(64), primary_key=True),
        Column("part", Integer, primary_key=True),
        Column("data", LargeBinary, nullable=False),
    )


METADATA = build_metadata()
T = METADATA.tables


def _migrate_1_to_2(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE deliveries ADD COLUMN remote_state TEXT"))
    conn.execute(text("CREATE INDEX ix_events_post ON events (post_id, id)"))


def _migrate_to_reminders(conn: Connection) -> None:
    """Add ``deliveries.reminder`` and make (post row, channel, reminder) the unique slot.

    PostgreSQL drops the old constraint in place. SQLite cannot drop a table constraint, so
    the two delivery tables are rebuilt from the new definition and copied: the media table
    first (it refers to deliveries), so no foreign key is ever left dangling and the step
    runs inside the caller's transaction with foreign keys on.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(text("ALTER TABLE deliveries DROP CONSTRAINT uq_deliveries_channel"))
        conn.execute(text("ALTER TABLE deliveries ADD COLUMN reminder VARCHAR(16) "
                          "NOT NULL DEFAULT ''"))
        conn.execute(text("CREATE UNIQUE INDEX uq_deliveries_slot "
                          "ON deliveries (post_row, channel, reminder)"))
        return
    from sqlalchemy.schema import CreateIndex, CreateTable

    new = build_metadata(3)
    old_cols = [c.name for c in build_metadata(2).tables["deliveries"].columns]
    dialect = conn.dialect
    deliveries, media = new.tables["deliveries"], new.tables["delivery_media"]
    conn.execute(text(str(CreateTable(deliveries).compile(dialect=dialect))
                      .replace("TABLE deliveries", "TABLE deliveries_v3", 1)))
    cols = ", ".join(old_cols)
    conn.execute(text(f"INSERT INTO deliveries_v3 ({cols}) SELECT {cols} FROM deliveries"))
    conn.execute(text(str(CreateTable(media).compile(dialect=dialect))
                      .replace("TABLE delivery_media", "TABLE delivery_media_v3", 1)
                      .replace("REFERENCES deliveries ", "REFERENCES deliveries_v3 ")))
    conn.execute(text("INSERT INTO delivery_media_v3 SELECT * FROM delivery_media"))
    conn.execute(text("DROP TABLE delivery_media"))
    conn.execute(text("DROP TABLE deliveries"))
    # Renaming rewrites delivery_media_v3's reference to the new name (SQLite 3.26+).
    conn.execute(text("ALTER TABLE deliveries_v3 RENAME TO deliveries"))
    conn.execute(text("ALTER TABLE delivery_media_v3 RENAME TO delivery_media"))
    for index in deliveries.indexes:
        conn.execute(text(str(CreateIndex(index).compile(dialect=dialect))))


def _migrate_to_claim_tokens(conn: Connection) -> None:
    conn.execute(text(
        "ALTER TABLE deliveries ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0"))


def _migrate_to_credentials(conn: Connection) -> None:
    _credentials_table(MetaData()).create(conn)


def _migrate_add_media_blobs(conn: Connection) -> None:
    _media_blobs_table(MetaData()).create(conn)


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


def _migrate_7_to_8(conn: Connection) -> None:
    """The reading indexes of :func:`_list_indexes`."""
    conn.execute(text("DROP INDEX IF EXISTS ix_deliveries_due"))
    md = build_metadata(8)
    for index in (*md.tables["deliveries"].indexes, *md.tables["posts"].indexes):
        if index.name in ("ix_deliveries_list", "ix_posts_deadline"):
            index.create(conn)


def _migrate_8_to_9(conn: Connection) -> None:
    """The (state, wake_at) index gains the id, the claim's last sort key."""
    conn.execute(text("DROP INDEX ix_deliveries_state_wake"))
    index = next(i for i in build_metadata(9).tables["deliveries"].indexes
                 if i.name == "ix_deliveries_state_wake")
    index.create(conn)


#: ``from_version -> step``; each step brings the database to ``from_version + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2, 2: _migrate_to_reminders, 3: _migrate_to_claim_tokens,
    4: _migrate_to_credentials, 5: _migrate_add_media_blobs, 6: _migrate_6_to_7,
    7: _migrate_7_to_8, 8: _migrate_8_to_9,
}


def read_version(conn: Connection) -> int | None:
    """The schema version of the database, or None when it has no postq tables yet."""
    if not inspect(conn).has_table("meta"):
        return None
    meta = T["meta"]
    value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StoreError(
            f"the queue database is damaged: its meta row 'schema_version' holds {value!r}, "
            "not a version number; restore the database from a backup"
        ) from None


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
