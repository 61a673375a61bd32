"""``[postq] shared = "group"``: one queue on one server for everyone in a Unix group.

Modelled on git's ``core.sharedRepository = group``. SQLite creates its database with mode
0644 whatever the umask, and its ``-wal``/``-shm`` files with the database's own mode, so
the colleague who approves would get "attempt to write a readonly database". With the
setting, postq sets the umask to 007 for the process, makes ``data_dir`` and its folders
setgid (new files take the folder's group), and creates the database file itself with
mode 0660 before SQLite opens it. Without it, a file postq cannot write is reported with
its owner and this setting.
"""

from __future__ import annotations

import os
import pwd
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from scheduler.errors import StoreError

if TYPE_CHECKING:
    from scheduler.config import Settings

SETTING = '[postq] shared = "group"'
DIR_MODE = 0o2770
FILE_MODE = 0o660


def share_folder(path: Path) -> None:
    """Create ``path`` (and parents) group-writable and setgid, as far as we own it."""
    os.umask(0o007)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the data folder {path}: {exc.strerror or exc}") from None
    _loosen(path, DIR_MODE)


def share_database(path: Path) -> None:
    """Create the SQLite queue file with mode 0660 and a real header, if missing.

    SQLite makes new files 0644 whatever the umask, and makes ``-wal``/``-shm`` with the
    database file's mode; so the file is made here first. Its header is written at once
    (WAL mode): an empty file is refused as a damaged queue, never taken for a new one.
    """
    import sqlite3

    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        _loosen(path, FILE_MODE)
        return
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc.strerror or exc}") from None
    os.close(fd)
    _loosen(path, FILE_MODE)
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL").fetchone()
    finally:
        conn.close()


def share_tree(root: Path) -> None:
    """Folders under ``root`` that we own become setgid and group-writable (upgrades an
    existing ``data_dir`` the first time the setting is on)."""
    for folder, dirs, files in os.walk(root):
        for d in dirs:
            _loosen(Path(folder) / d, DIR_MODE)
        for f in files:
            _loosen(Path(folder) / f, FILE_MODE)


def _loosen(path: Path, mode: int) -> None:
    try:
        st = path.stat()
    except OSError:
        return
    if st.st_uid != os.geteuid():
        return  # someone else's file: they (or their postq) made it shareable
    want = (stat.S_IMODE(st.st_mode) | mode) & (0o7777 if stat.S_ISDIR(st.st_mode) else 0o777)
    if want != stat.S_IMODE(st.st_mode):
        try:
            os.chmod(path, want)
        except OSError:
            pass


def owner(path: Path) -> str:
    try:
        uid = path.stat().st_uid
    except OSError:
        return "unknown"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def check_writable(paths: Iterable[Path]) -> None:
    """One sentence naming the first file we cannot write, its owner and the setting."""
    for p in paths:
        if p.exists() and not os.access(p, os.W_OK):
            raise StoreError(
                f"cannot write {p}: it belongs to {owner(p)} and you may not write it; for "
                f"colleagues to share one queue, put them in one Unix group and set {SETTING} "
                "in postq.toml"
            )


def prepare_data_dir(settings: Settings) -> bool:
    """Before the store opens: share ``data_dir`` and the SQLite files when the setting is
    on, else check we can write them. Returns whether the queue is shared."""
    from scheduler.store.fastread import sqlite_path

    data_dir = settings.data_dir
    db = sqlite_path(settings.database_url)
    if settings.postq.shared == "group":
        # Walking the tree (thousands of renders) only the first time: afterwards every
        # folder is setgid and the umask keeps new files and folders group-writable.
        first = not (data_dir.is_dir() and data_dir.stat().st_mode & stat.S_ISGID)
        share_folder(data_dir)
        if first:
            share_tree(data_dir)
        if db is not None:
            share_folder(db.parent)
            share_database(db)
            for extra in ("-wal", "-shm"):
                side = db.with_name(db.name + extra)
                if side.exists():
                    _loosen(side, FILE_MODE)
        return True
    return False


def write_refusal(settings: Settings) -> str | None:
    """Why this user cannot write the queue (one sentence naming the file, its owner and
    the setting), or None. Read-only commands go ahead regardless; the first write is
    refused with this sentence rather than SQLite's "readonly database"."""
    from scheduler.store.fastread import sqlite_path

    if settings.postq.shared == "group":
        return None
    files = [settings.data_dir]
    db = sqlite_path(settings.database_url)
    if db is not None:
        files += [db.parent, db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    try:
        check_writable(files)
    except StoreError as exc:
        return str(exc)
    return None
