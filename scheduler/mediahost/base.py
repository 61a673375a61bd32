"""The media host interface: put image bytes where a platform can fetch them by URL.

Instagram and Threads (and Facebook, when given a URL) do not take uploads: they fetch
the image from a public https address at the moment a container is built
(https://developers.facebook.com/docs/instagram-platform/content-publishing). A media
host turns bytes into such an address.

Names are content-addressed *and* unguessable: ``HMAC-SHA256(key, content)``. The same
image always gets the same URL, so a retry uploads nothing new and never leaves a second
copy behind; yet nobody can probe the folder for an image that has not been published
yet (a job advert before its embargo) by hashing candidate files, because the key is
secret. The key comes from the environment variable named by ``key_env`` when set, else
from a random 32-byte key kept in ``<data_dir>/mediahost.key`` (created on first use,
readable by its owner only; never inside the served folder). Without either, a random
key lives for this process only: names stay unguessable but differ between runs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from scheduler.errors import ConfigError

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
               "video/mp4": "mp4", "video/quicktime": "mov"}
KEY_FILE = "mediahost.key"


class MediaHostSettings(BaseModel):
    """Settings shared by every host: ``kind`` (the entry-point name), ``public_base_url``
    (where the uploaded names are served from) and ``key_env`` (optional variable with
    the naming key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str
    public_base_url: str
    key_env: str | None = None

    @field_validator("public_base_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an absolute https:// URL (the platform fetches it)")
        return value.rstrip("/")


def extension_for(mime: str) -> str:
    return _EXTENSIONS.get(mime, "bin")


class LargeFile(Protocol):
    """A file too large to hold in memory (a video): read in pieces, each read checked
    against the approved hash (:class:`scheduler.adapters.outgoing.OutgoingVideo`)."""

    mime: str
    size: int

    def chunks(self, size: int = ..., start: int = ...) -> Iterator[bytes]: ...


class MediaHost(ABC):
    """Stores bytes and answers with the public URL they are served at."""

    settings_model: ClassVar[type[MediaHostSettings]] = MediaHostSettings

    def __init__(
        self,
        settings: MediaHostSettings,
        *,
        env: Mapping[str, str] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.env = env if env is not None else os.environ
        self.data_dir = data_dir
        self._key: bytes | None = None

    @classmethod
    def parse_settings(cls, raw: Mapping[str, Any], where: str = "media_host") -> MediaHostSettings:
        try:
            return cls.settings_model.model_validate(dict(raw))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                parts.append(f"{where}.{key}: {msg}" if where else f"{key}: {msg}")
            raise ConfigError("; ".join(parts)) from None

    # -- naming -------------------------------------------------------------------------
    def key(self) -> bytes:
        """The naming key: from ``key_env``, else persisted in ``data_dir``, else random."""
        if self._key is not None:
            return self._key
        if self.settings.key_env:
            value = self.env.get(self.settings.key_env, "")
            if not value:
                raise ConfigError(
                    f"media host: environment variable {self.settings.key_env} is not set"
                )
            self._key = value.encode("utf-8")
        elif self.data_dir is not None:
            self._key = _load_or_create_key(self.data_dir / KEY_FILE)
        else:
            self._key = secrets.token_bytes(32)
        return self._key

    def name_for(self, data: bytes, mime: str) -> str:
        """The file name of ``data``: its keyed hash and an extension for its type."""
        digest = hmac.new(self.key(), data, hashlib.sha256).hexdigest()
        return f"{digest}.{extension_for(mime)}"

    def url_for(self, data: bytes, mime: str) -> str:
        """Where ``put`` stores ``data``, without storing it (for dry runs)."""
        return f"{self.settings.public_base_url}/{self.name_for(data, mime)}"

    def name_for_file(self, item: LargeFile) -> str:
        """:meth:`name_for` of a large file, read in pieces: the same name its bytes get."""
        mac = hmac.new(self.key(), digestmod=hashlib.sha256)
        for block in item.chunks():
            mac.update(block)
        return f"{mac.hexdigest()}.{extension_for(item.mime)}"

    def url_for_file(self, item: LargeFile) -> str:
        return f"{self.settings.public_base_url}/{self.name_for_file(item)}"

    def put_file(self, item: LargeFile) -> str:
        """Store a large file and return its public URL. Hosts that can stream it do;
        this fallback holds it in memory once."""
        return self.put(b"".join(item.chunks()), item.mime)

    def secrets(self) -> list[str]:
        """Secret values this host holds (for redaction)."""
        if self.settings.key_env and self.env.get(self.settings.key_env):
            return [self.env[self.settings.key_env]]
        return []

    # -- storing ------------------------------------------------------------------------
    @abstractmethod
    def put(self, data: bytes, mime: str) -> str:
        """Store ``data`` (idempotently) and return its public URL.

        Raises TransientPublishError when storage is unavailable for now, AuthError when
        it refuses our credentials.
        """

    def delete(self, url: str) -> None:  # noqa: B027 - optional: hosts may keep files
        """Remove a file stored earlier; hosts that cannot, ignore it."""

    def describe(self) -> str:
        """A short line for ``channels --check``."""
        return f"serves media at {self.settings.public_base_url}"


def _load_or_create_key(path: Path) -> bytes:
    try:
        data = path.read_bytes()
        if len(data) >= 16:
            return data
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    try:
        # Link, not replace: when two processes race, the first key written wins for both.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()
