"""The ``directory`` media host: a folder the organisation's web server already serves.

The cheapest host that works: files land in ``path`` and are served as
``<public_base_url>/<name>``. Each file is written under a temporary name and renamed
into place, so the web server never hands Meta half an image, and an existing file is
left alone (its name is its content).
"""

from __future__ import annotations

import os
from pathlib import Path

from scheduler.errors import TransientPublishError
from scheduler.mediahost.base import LargeFile, MediaHost, MediaHostSettings


class DirectoryHostSettings(MediaHostSettings):
    """``path``: the served folder; ``public_base_url``: the URL it is served at."""

    path: str


class DirectoryHost(MediaHost):
    """Copies images into a served folder."""

    settings_model = DirectoryHostSettings

    @property
    def folder(self) -> Path:
        assert isinstance(self.settings, DirectoryHostSettings)
        return Path(self.settings.path).expanduser()

    def put(self, data: bytes, mime: str) -> str:
        name = self.name_for(data, mime)
        target = self.folder / name
        try:
            if target.is_file() and target.stat().st_size == len(data):
                return self.url_for(data, mime)
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.{os.getpid()}.tmp"
            # World-readable on purpose: the web server, not postq, serves the file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise TransientPublishError(f"media host {self.folder}: cannot write: {exc}") from None
        return self.url_for(data, mime)

    def put_file(self, item: LargeFile) -> str:
        """A video, copied piece by piece: never all in memory, and a file that changes
        while it is copied (its hash no longer matching) leaves nothing behind."""
        name = self.name_for_file(item)
        target = self.folder / name
        url = f"{self.settings.public_base_url}/{name}"
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        try:
            if target.is_file() and target.stat().st_size == item.size:
                return url
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            with os.fdopen(fd, "wb") as fh:
                for block in item.chunks():
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise TransientPublishError(f"media host {self.folder}: cannot write: {exc}") from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return url

    def delete(self, url: str) -> None:
        prefix = self.settings.public_base_url + "/"
        if not url.startswith(prefix):
            return
        name = url[len(prefix):]
        if "/" in name or name.startswith("."):
            return  # never step outside the folder
        try:
            (self.folder / name).unlink(missing_ok=True)
        except OSError:
            pass

    def describe(self) -> str:
        folder = self.folder
        probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()), folder)
        if not os.access(probe, os.W_OK):
            return f"cannot write to {folder}"
        return f"copies media to {folder}, served at {self.settings.public_base_url}"
