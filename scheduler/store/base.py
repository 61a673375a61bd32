"""What every store operation shares: the engine, the clock, the acting user, and the
one function that moves a delivery from one state to another.

All state changes go through :meth:`StoreBase._move`, a conditional ``UPDATE ... WHERE
id = ? AND state = ?`` followed by its audit event in the same transaction. If another
process changed the delivery in between, the update matches no row and nothing happens,
which is what makes claiming exclusive across processes.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import Connection, Engine, func, select, text

from scheduler.errors import StoreError, UsageError
from scheduler.store import audit
from scheduler.store.audit import chain_lock
from scheduler.store.db import make_engine, transaction
from scheduler.store.media import MediaStore
from scheduler.store.report import when
from scheduler.store.rows import DeliveryRow, MediaRow
from scheduler.store.schema import SCHEMA_VERSION, T, ensure_schema, read_version
from scheduler.store.stored import read_state, read_time
from scheduler.timeutil import Clock

if TYPE_CHECKING:
    from scheduler.config import Settings
    from scheduler.team import Signed, Team


def current_user() -> str:
    """Who is acting: ``POSTQ_USER`` if set (shared service accounts, tests), else the
    OS login name."""
    name = os.environ.get("POSTQ_USER", "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


class StoreBase:
    """Engine, clock, user and the shared helpers of the queue operations."""

    def __init__(
        self,
        url: str,
        media_dir: Path,
        *,
        clock: Clock | None = None,
        user: str | None = None,
        late_grace: timedelta = timedelta(minutes=30),
        zone: tzinfo = UTC,
        engine: Engine | None = None,
        claim_clock: Clock | None = None,
        media_store: Any = None,
        team: Team | None = None,
        pooled: bool = False,
    ) -> None:
        self.url = url
        if engine is None:
            _make_parent(url)
            _refuse_empty_file(url)
        self.engine = engine if engine is not None else make_engine(url, pooled=pooled)
        from scheduler.store.blobs import shared_media

        self.media = MediaStore(Path(media_dir), shared_media(media_store, self.engine))
        self.clock = clock or Clock()
        # Who owns a claim is decided on the database's clock, shared by every publisher,
        # never on each process's own: two machines 60 s apart must agree on who is alive.
        # Tests may stand in for the database's clock (one for all stores of a database).
        self.claim_clock = claim_clock
        self.user = user or current_user()
        #: ``[team]``: when set, who acts is the principal of the key that signed.
        self.team = team
        #: Why this user may not write the queue (see ``Store.open``); reads go ahead.
        self.write_refusal: str | None = None
        self.late_grace = late_grace
        self.zone = zone
        # Deliveries this process's claims marked missed, per worker (see take_missed).
        self._missed: dict[str, list[DeliveryRow]] = {}
        # Deliveries they held back, with the reason, per worker (see take_held).
        self._held: dict[str, list[tuple[str, str]]] = {}
        self._prepare_schema()

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None, *,
             pooled: bool = False) -> Self:
        """The store of a configuration: SQLite in ``data_dir`` unless a URL is given;
        ``pooled`` for the publisher, whose threads keep their connections (see
        :func:`~scheduler.store.db.make_engine`)."""
        from scheduler.errors import StoreError
        from scheduler.team import load_team
        from scheduler.team.shared import prepare_data_dir, write_refusal
        from scheduler.timeutil import parse_duration

        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the data folder {settings.data_dir}: {exc.strerror or exc}"
            ) from None
        shared = prepare_data_dir(settings)
        store = cls(
            settings.database_url,
            settings.data_dir / "media",
            clock=clock,
            late_grace=parse_duration(settings.postq.late_grace),
            zone=settings.zone,
            media_store=settings.media_store,
            team=load_team(settings),
            pooled=pooled,
        )
        if shared:
            store.media.file_mode = 0o660
        use = getattr(store, "use_configured_blackouts", None)
        if use is not None:
            use(settings)
        store.write_refusal = write_refusal(settings)
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- transactions -------------------------------------------------------------------
    def _prepare_schema(self) -> None:
        with self._read() as conn:
            if read_version(conn) == SCHEMA_VERSION:
                return
        with self._write() as conn:
            ensure_schema(conn)

    @contextmanager
    def _write(self, *, lazy: bool = False) -> Iterator[Connection]:
        """A write transaction, durable unless ``lazy``: only the publisher's records of
        outcomes may be lost to a power loss (see :mod:`scheduler.store.db`)."""
        if self.write_refusal:
            raise StoreError(self.write_refusal)
        with transaction(self.engine, write=True, lazy=lazy) as conn:
            if conn.dialect.name == "postgresql":
                # Every write appends to the audit chain, which must be appended to one at
                # a time; taking that lock first (as SQLite's BEGIN IMMEDIATE does) means
                # no transaction ever waits for it while holding row locks another needs.
                chain_lock(conn, lazy=lazy)
            yield conn

    @contextmanager
    def _read(self, *, brief: bool = False) -> Iterator[Connection]:
        """A read transaction; ``brief`` for a few statements that need no common
        snapshot (see :func:`~scheduler.store.db.transaction`)."""
        with transaction(self.engine, write=False, brief=brief) as conn:
            yield conn

    def _now(self) -> datetime:
        return self.clock.now()

    def _db_now(self, conn: Connection) -> datetime:
        """The database's own time (``CURRENT_TIMESTAMP``/``now()``), aware UTC: the clock
        of claims, heartbeats and takeovers."""
        if self.claim_clock is not None:
            return self.claim_clock.now()
        if conn.dialect.name == "sqlite":
            # SQLite runs inside each process, so its clock is the host's; every process
            # sharing a SQLite file runs on that one host (SQLite's locking does not hold
            # over network file systems), so they still share one clock.
            # CURRENT_TIMESTAMP has whole seconds only; the same clock with milliseconds.
            raw = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar()
            return datetime.fromisoformat(str(raw)).replace(tzinfo=UTC)
        raw = conn.execute(text("SELECT CAST(timezone('UTC', now()) AS TIMESTAMP)")).scalar()
        if not isinstance(raw, datetime):  # another database: ask it in its own words
            raw = conn.execute(select(func.current_timestamp())).scalar()
        return raw.replace(tzinfo=UTC) if raw.tzinfo is None else raw.astimezone(UTC)

    def local(self, moment: datetime | None) -> str:
        """A time as people here read it, for messages: ``2026-12-01 09:00 GMT``."""
        # Seconds when it is due within the hour: "in 40 seconds" must not read as "now".
        return when(moment, self.zone, "%Y-%m-%d %H:%M %Z", now=self.clock.now())

    # -- loading rows -------------------------------------------------------------------
    def _deliveries(
        self, conn: Connection, where: Iterable[Any], *, order: Any = None,
        limit: int | None = None, with_media: bool = False, lock: bool = False,
    ) -> list[DeliveryRow]:
        """Delivery rows; ``lock`` takes them ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
        (SQLite's write transaction already holds the whole database)."""
        d = T["deliveries"]
        q = select(d).where(*where).order_by(
            *(order if order is not None else (d.c.due_at, d.c.post_id, d.c.channel))
        )
        if limit is not None:
            q = q.limit(limit)
        if lock and conn.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=d)
        try:
            rows = list(conn.execute(q))
            media: dict[str, list[MediaRow]] = {}
            if with_media and rows:
                media = self._media_for(conn, [r.id for r in rows])
            return [_delivery(r, tuple(media.get(r.id, ()))) for r in rows]
        except (ValueError, TypeError, OverflowError, StoreError):
            # A value SQLAlchemy cannot read back (a time written by hand into SQLite):
            # name the first damaged row instead of failing with the parser's words.
            raise DamagedRow(*self._find_damaged(conn, where)) from None

    def _find_damaged(self, conn: Connection, where: Iterable[Any]) -> tuple[str, str]:
        """``(delivery id, sentence)`` of the first row of ``where`` that cannot be read."""
        d = T["deliveries"]
        ids = list(conn.execute(select(d.c.id).where(*where).order_by(d.c.id)).scalars())
        times = ("due_at", "wake_at", "claimed_at", "published_at", "updated_at")
        for did in ids:
            raw = conn.execute(text(
                f"SELECT {', '.join(times)}, remote_state FROM deliveries WHERE id = :id"),
                {"id": did}).one()
            try:
                for col, value in zip(times, raw[:-1], strict=True):
                    read_time(did, col, value)
                read_state(did, raw[-1])
            except StoreError as exc:
                return did, str(exc)
        return "", "a delivery row in the queue database cannot be read back"

    def _media_for(self, conn: Connection, ids: list[str]) -> dict[str, list[MediaRow]]:
        dm, m = T["delivery_media"], T["media"]
        out: dict[str, list[MediaRow]] = {}
        q = (
            select(dm, m.c.mime, m.c.file_name)
            .join(m, m.c.sha256 == dm.c.sha256)
            .where(dm.c.delivery_id.in_(ids))
            .order_by(dm.c.delivery_id, dm.c.position)
        )
        for r in conn.execute(q):
            focus = tuple(float(x) for x in r.focus.split(",")) if r.focus else None
            out.setdefault(r.delivery_id, []).append(MediaRow(
                position=r.position, path=self.media.root / r.file_name, sha256=r.sha256,
                mime=r.mime, alt=r.alt, width=r.width, height=r.height, source=r.source,
                focus=focus,  # type: ignore[arg-type]
            ))
        return out

    def _current_post(self, conn: Connection, post_id: str) -> Any:
        p = T["posts"]
        row = conn.execute(
            select(p).where(p.c.post_id == post_id, p.c.current.is_(True))
        ).first()
        if row is None:
            raise UsageError(f"no queued post has the id '{post_id}'")
        return row

    def _resolve(self, conn: Connection, ref: str) -> tuple[Any, list[DeliveryRow]]:
        """``ID`` → every delivery of the post's current revision; ``ID@CHANNEL`` → that
        channel's delivery with its reminders; ``ID@CHANNEL~-1h`` → one reminder."""
        post_id, _, channel = ref.partition("@")
        channel, _, reminder = channel.split("#", 1)[0].partition("~")
        if not post_id:
            raise UsageError(f"'{ref}' is not a post id or ID@CHANNEL")
        post = self._current_post(conn, post_id)
        d = T["deliveries"]
        rows = self._deliveries(conn, [d.c.post_row == post.id], order=(d.c.channel,))
        if channel:
            rows = [r for r in rows if r.channel == channel]
            if not rows:
                names = ", ".join(r.channel for r in self._deliveries(
                    conn, [d.c.post_row == post.id], order=(d.c.channel,)))
                raise UsageError(
                    f"post '{post_id}' is not queued on channel '{channel}' (it is on {names})"
                )
        if reminder:
            found = [r for r in rows if r.reminder == reminder]
            if not found:
                have = ", ".join(r.reminder for r in rows if r.reminder) or "none"
                raise UsageError(
                    f"post '{post_id}' has no reminder '{reminder}' on {channel} "
                    f"(reminders: {have})"
                )
            rows = found
        return post, rows

    # -- who is acting ----------------------------------------------------------------
    def _act(self, doc: str) -> Signed | None:
        """Sign ``doc`` as the person running the command when ``[team]`` is set (and take
        the signing key's principal as the acting user); None on login names alone."""
        if self.team is None:
            return None
        signed = self.team.sign(doc)
        self.user = signed.who
        return signed

    # -- the one way a delivery changes state -------------------------------------------
    def _move(
        self, conn: Connection, row: DeliveryRow, to: str, *, action: str,
        reason: str | None = None, who: str | None = None, token: int | None = None,
        signed: Signed | None = None,
        **values: Any,
    ) -> bool:
        """Move ``row`` to state ``to`` if nobody moved it first; records the event.

        With ``token``, only while that claim is still the current one (fencing).
        """
        d = T["deliveries"]
        now = self._now()
        where = [d.c.id == row.id, d.c.state == row.state]
        if token is not None:
            where.append(d.c.claim_token == token)
        result = conn.execute(d.update().where(*where).values(state=to, updated_at=now, **values))
        if result.rowcount != 1:
            return False
        audit.record(
            conn, at=now, who=who or self.user, action=action, post_id=row.post_id,
            delivery_id=row.id, channel=row.channel, before=row.state, after=to,
            reason=reason, signed=signed.as_json() if signed else None,
        )
        return True

    def _move_or_fail(self, conn: Connection, row: DeliveryRow, to: str, **kw: Any) -> None:
        if not self._move(conn, row, to, **kw):
            raise UsageError(
                f"delivery {row.ref} changed while this command ran; look at it again"
            )


def _make_parent(url: str) -> None:
    """A SQLite file's folder is created like ``data_dir`` is, so any caller can open it."""
    from scheduler.errors import StoreError
    from scheduler.store.fastread import sqlite_path

    path = sqlite_path(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder {path.parent}: {exc.strerror or exc}") from None


# How long a fresh, empty database file may stay empty while another process creates the
# queue in it: SQLite writes its first page within milliseconds of creating the file.
_CREATING_S = 2.0


def _refuse_empty_file(url: str) -> None:
    """A 0-byte database file is damage (a failed copy, a full disk), not a new queue:
    creating fresh tables in it would silently forget every post it held.

    A file that has only just appeared may be another process creating the queue (the
    file exists, empty, until its first write), so a recent empty file is watched for up
    to ``_CREATING_S`` before it is called damage.
    """
    import stat
    import time

    from scheduler.store.fastread import sqlite_path

    path = sqlite_path(url)
    if path is None:
        return
    deadline = time.monotonic() + _CREATING_S
    while True:
        try:
            info = path.stat()
        except OSError:
            return  # no file yet (a new queue), or the engine reports it in its own words
        if not stat.S_ISREG(info.st_mode) or info.st_size > 0:
            return
        if time.time() - info.st_mtime > _CREATING_S or time.monotonic() > deadline:
            raise StoreError(
                f"the queue database {path} is an empty file (0 bytes), not a queue; "
                "restore it from a backup, or remove it to start a new, empty queue"
            )
        time.sleep(0.02)


class DamagedRow(StoreError):
    """A delivery row whose stored values cannot be read; names the row."""

    def __init__(self, delivery_id: str, message: str) -> None:
        super().__init__(message)
        self.delivery_id = delivery_id


def _delivery(r: Any, media: tuple[MediaRow, ...] = ()) -> DeliveryRow:
    raw_state = getattr(r, "remote_state", None)
    return DeliveryRow(
        id=r.id, post_id=r.post_id, channel=r.channel, adapter=r.adapter,
        revision=r.revision, state=r.state, due_at=r.due_at, wake_at=r.wake_at,
        attempts=r.attempts, caption=r.caption, claimed_by=r.claimed_by,
        claimed_at=r.claimed_at, remote_id=r.remote_id, remote_url=r.remote_url,
        last_error=r.last_error, published_at=r.published_at, updated_at=r.updated_at,
        remote_state=read_state(r.id, raw_state), media=media,
        claim_token=getattr(r, "claim_token", 0) or 0,
        reminder=getattr(r, "reminder", "") or "",
    )
