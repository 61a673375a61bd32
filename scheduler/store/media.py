"""Rendered images as content-addressed files under ``data_dir/media``.

A file is named by the SHA-256 of its bytes, so two posts using the same render share one
file, and what the publisher reads can be checked against the name it was approved under.
Files are written to a temporary name, flushed to disk and renamed into place: a reader
never sees half a file, and a crash leaves at worst a stray temporary file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scheduler.errors import StoreError


class MediaStore:
    """The folder of content-addressed media files."""

    def __init__(self, root: Path, shared: Any = None) -> None:
        self.root = Path(root)
        #: A :class:`~scheduler.store.blobs.SharedMedia` every publisher reaches, or None.
        self.shared = shared
        #: 0o660 on a shared queue (``[postq] shared = "group"``); mkstemp makes 0600.
        self.file_mode: int | None = None

    def share(self, conn: Any, sha256: str, data: bytes) -> None:
        """Keep the bytes in the shared store too (in the queueing transaction ``conn``)."""
        if self.shared is not None:
            self.shared.put(conn, sha256, data)

    def path_for(self, sha256: str, extension: str) -> Path:
        # Two-character fan-out keeps folders small with many thousands of renders.
        return self.root / sha256[:2] / f"{sha256}{extension}"

    def ensure(self, data: bytes, sha256: str, extension: str, created: list[Path]) -> Path:
        """Put ``data`` in place unless its file exists; new files are appended to ``created``.

        ``created`` lets the caller remove exactly the files this operation made when the
        transaction they belong to fails, and never a file another post already uses.
        """
        target = self.path_for(sha256, extension)
        if target.is_file():
            return target
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"media {sha256[:12]}… does not match its own hash")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                if self.file_mode is not None:
                    os.fchmod(fd, self.file_mode)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write the media file {target}: {exc.strerror or exc}") from None
        created.append(target)
        return target

    def ensure_file(self, source: Path, sha256: str, extension: str,
                    created: list[Path]) -> Path:
        """As :meth:`ensure` for a file too large to hold in memory (a video render): it is
        copied in blocks, hashed on the way, and refused if it is not the approved file."""
        target = self.path_for(sha256, extension)
        if target.is_file():
            return target
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            try:
                digest = hashlib.sha256()
                with open(source, "rb") as src, os.fdopen(fd, "wb") as fh:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        fh.write(block)
                    fh.flush()
                    os.fsync(fh.fileno())
                if digest.hexdigest() != sha256:
                    raise StoreError(f"media {source} changed after it was rendered; "
                                     "render it again")
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(f"cannot write the media file {target}: {exc.strerror or exc}") from None
        created.append(target)
        return target

    def remove(self, paths: Iterable[Path]) -> None:
        """Undo :meth:`ensure` for files a failed operation created."""
        for p in paths:
            try:
                p.unlink(missing_ok=True)
            except OSError:
                pass  # a leftover file is harmless: nothing refers to it

    def verify(self, path: Path, sha256: str) -> bytes:
        """The file's bytes, refusing a file that is missing or no longer matches its hash.

        With a shared store, a missing or changed file is fetched again from it (checked
        against the same hash) and put back in place: another machine queued it.
        """
        try:
            data = path.read_bytes()
        except OSError as exc:
            if self.shared is None:
                raise StoreError(f"media file {path} cannot be read: {exc.strerror or exc}") from None
            return self._fetch(path, sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            if self.shared is None:
                raise StoreError(f"media file {path} has changed since it was queued")
            return self._fetch(path, sha256)
        return data

    def verify_file(self, path: Path, sha256: str) -> Path:
        """Like :meth:`verify` for a file too large to hold in memory (a video): hashed as
        it streams, fetched again from the shared store when missing or changed here."""
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
        except OSError as exc:
            if self.shared is None:
                raise StoreError(f"media file {path} cannot be read: {exc.strerror or exc}") from None
            self._fetch(path, sha256)
            return path
        if digest.hexdigest() != sha256:
            if self.shared is None:
                raise StoreError(f"media file {path} has changed since it was queued")
            self._fetch(path, sha256)
        return path

    def _fetch(self, path: Path, sha256: str) -> bytes:
        data = self.shared.fetch(sha256)
        where = self.shared.describe()
        if data is None:
            raise StoreError(f"media {sha256[:12]}… is neither in {self.root} nor in {where}")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise StoreError(f"media {sha256[:12]}… in {where} does not match its hash")
        try:
            path.unlink(missing_ok=True)  # a changed file under a content address is garbage
        except OSError:
            pass
        self.ensure(data, sha256, path.suffix, [])
        return data
