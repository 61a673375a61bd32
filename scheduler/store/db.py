"""The engine and its transactions, with SQLite tuned for several processes at once.

Staff run ``postq queue add`` from several terminals while the publisher runs, all on one
SQLite file. Three settings make that safe: WAL (readers never wait for the writer), a
long ``busy_timeout`` (a writer waits its turn instead of failing with "database is
locked"), and ``BEGIN IMMEDIATE`` for write transactions (a transaction that starts as a
reader and later writes cannot be granted the lock once another writer has committed,
and SQLite reports that at once instead of waiting). PostgreSQL needs none of this; the
PRAGMAs are behind a dialect check.

Durability follows what a lost commit would cost. A commit that comes before something
leaves the building (a claim, before its post is sent) or that a person was told is done
(every command) must survive a power loss: SQLite syncs the WAL at each such commit
(``synchronous = FULL``), PostgreSQL waits for its WAL flush (its default). Only the
publisher's record of an outcome is written lazily (``lazy``): losing it to a power loss,
or to a PostgreSQL crash, leaves the delivery claimed, and a claim whose publisher is gone
is settled by asking the platform before anything is sent again, as after a publisher
killed mid-call. A lazy commit is never lost alone: the WAL is written in order, so the
next synced commit carries every earlier one with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool, QueuePool

from scheduler.errors import PostqError, StoreError

BUSY_TIMEOUT_S = 30.0
_WRITE = "postq_write"
_BRIEF = "postq_brief"
_SYNC = "postq_sqlite_synchronous"  # the level a SQLite connection was last set to
#: Connections a long-lived process keeps open: one per thread that touches the store
#: (the channels' workers, the scheduler's jobs); more are opened, and closed, as needed.
POOL_SIZE = 8


def make_engine(url: str, *, pooled: bool = False) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout, foreign keys, IMMEDIATE.

    ``pooled`` is for the publisher: its threads keep their connections open between
    transactions. Opening one costs more than most of its transactions (on SQLite a
    file open and four PRAGMAs; on PostgreSQL a TCP and authentication round trip), and
    on SQLite closing the last one checkpoints and deletes the WAL, so a pass that opens
    and closes per transaction spends its time on that. One-shot commands open few
    connections and must leave none behind, so they do without a pool on SQLite (on
    PostgreSQL every process pools: a command's connections go with its engine).
    Nothing pings a connection at checkout: a connection a restarted server dropped
    fails one transaction, and SQLAlchemy then replaces every pooled connection.
    """
    if not url.startswith("sqlite"):
        try:
            return create_engine(url, pool_size=POOL_SIZE, max_overflow=4 * POOL_SIZE)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot use the database {_safe(url)}: {exc}") from None
    from scheduler.store.fastread import connect_sqlite, sqlite_path

    path = sqlite_path(url)
    extra: dict[str, Any] = {}
    if path is not None:
        # Read-only where the folder cannot be written (see connect_sqlite).
        extra["creator"] = lambda: connect_sqlite(path, timeout=BUSY_TIMEOUT_S)
    pool: dict[str, Any] = (
        {"poolclass": QueuePool, "pool_size": POOL_SIZE, "max_overflow": 4 * POOL_SIZE,
         "pool_timeout": BUSY_TIMEOUT_S} if pooled
        else {"poolclass": NullPool})  # short-lived CLI processes: none outlives a command
    engine = create_engine(
        url,
        **pool,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        **extra,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            try:
                cur.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:  # opened read-only: it keeps its mode
                pass
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()
        _record.info[_SYNC] = "FULL"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get(_BRIEF, False):
            return  # each statement is a transaction of its own (see ``transaction``)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(_WRITE, False) else "BEGIN")

    return engine


@contextmanager
def transaction(engine: Engine, *, write: bool, brief: bool = False,
                lazy: bool = False) -> Iterator[Connection]:
    """One transaction; database errors become a StoreError with one sentence.

    ``lazy`` (writes): the commit may be lost to a power loss (see the module's text); on
    PostgreSQL the caller says so inside the transaction (:func:`~scheduler.store.audit.
    chain_lock`), since the setting is the transaction's own.

    ``brief`` (reads only): the statements run in autocommit, sparing BEGIN and COMMIT
    (round trips on PostgreSQL, statements on SQLite). At READ COMMITTED, PostgreSQL's
    level here, each statement sees its own snapshot inside a transaction too, so a read
    loses nothing; on SQLite each statement is then a read transaction of its own, with
    its own consistent snapshot. The publisher's checks before each send are such reads.
    """
    try:
        with engine.connect() as conn:
            if brief and not write:
                if engine.dialect.name == "postgresql":
                    yield conn.execution_options(isolation_level="AUTOCOMMIT")
                else:  # SQLite: no BEGIN is issued, so each statement commits itself
                    yield conn.execution_options(**{_BRIEF: True})
                return
            if write and engine.dialect.name == "sqlite":
                _sqlite_synchronous(conn, "NORMAL" if lazy else "FULL")
            conn = conn.execution_options(**{_WRITE: write})
            with conn.begin():
                yield conn
    except PostqError:
        raise
    except OperationalError as exc:
        raise StoreError(_describe(exc)) from None
    except DBAPIError as exc:
        raise StoreError(_describe(exc)) from None
    except SQLAlchemyError as exc:
        raise StoreError(f"the queue database refused the operation: {exc}") from None


def _sqlite_synchronous(conn: Connection, level: str) -> None:
    """Set the connection's sync level for the coming commit, if it is not set already.

    The level can only change between transactions, so it is set on the driver's
    connection directly (through SQLAlchemy the statement would begin a transaction). A
    publisher's connection records outcome after outcome lazily and claims now and then,
    so the PRAGMA runs only when the level changes.
    """
    if conn.info.get(_SYNC) != level:
        conn.connection.dbapi_connection.execute(f"PRAGMA synchronous = {level}")
        conn.info[_SYNC] = level


def _describe(exc: DBAPIError) -> str:
    orig = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "locked" in orig or "busy" in orig:
        return (
            f"the queue database stayed busy for more than {BUSY_TIMEOUT_S:.0f} s "
            f"({orig}); try again"
        )
    if "readonly database" in orig:
        return ("the queue database cannot be written from here (its file or folder is "
                "read-only); only commands that read the queue work")
    if "unable to open" in orig:
        return f"cannot open the queue database ({orig})"
    return f"the queue database refused the operation: {orig}"


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # only for a message; the caller reports the real error
        return "(unparseable URL)"
