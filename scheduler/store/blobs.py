"""Rendered media that every publisher can read, wherever it runs.

``data_dir/media`` is one machine's folder: a publisher on another machine, sharing the
queue through PostgreSQL, cannot read what was queued elsewhere. So each image is also
kept, under its SHA-256, in a store every publisher reaches, chosen by ``[media_store]``:

- ``kind = "database"`` (the default when ``[postq] database`` is not SQLite): in the
  queue's own database (PostgreSQL ``bytea``, SQLite blob), in parts of 512 KiB, written in
  the same transaction that queues the post, so a queued post never lacks its media;
- ``kind = "s3"``: an S3-compatible bucket (``bucket``, ``prefix``, ``region``,
  ``endpoint_url``; credentials the usual boto3 way). The bucket should be private: names
  are plain hashes. https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html
- ``kind = "local"`` (the default on SQLite): only ``data_dir/media``.

The local folder stays a cache: :meth:`scheduler.store.media.MediaStore.verify` reads it
first and fetches from the shared store only when the file is missing or does not match
its hash; what it fetches is checked against the hash before anything is published.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from sqlalchemy import Connection, Engine, select

from scheduler.errors import ConfigError, StoreError
from scheduler.store.schema import T

PART = 512 * 1024


class SharedMedia(ABC):
    """A content-addressed store every publisher can read."""

    @abstractmethod
    def put(self, conn: Connection, sha256: str, data: bytes) -> None:
        """Keep ``data`` under ``sha256`` (inside the queueing transaction ``conn``)."""

    @abstractmethod
    def fetch(self, sha256: str) -> bytes | None:
        """The bytes kept under ``sha256``, or None when there are none."""

    @abstractmethod
    def describe(self) -> str: ...


class DatabaseMedia(SharedMedia):
    """Media in the ``media_blobs`` table of the queue's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def put(self, conn: Connection, sha256: str, data: bytes) -> None:
        mb = T["media_blobs"]
        if conn.execute(select(mb.c.part).where(mb.c.sha256 == sha256, mb.c.part == 0)).first():
            return
        parts = [data[i:i + PART] for i in range(0, len(data), PART)] or [b""]
        conn.execute(mb.insert(), [{"sha256": sha256, "part": n, "data": chunk}
                                   for n, chunk in enumerate(parts)])

    def fetch(self, sha256: str) -> bytes | None:
        mb = T["media_blobs"]
        with self.engine.connect() as conn:
            found = conn.execute(select(mb.c.data).where(mb.c.sha256 == sha256)
                                 .order_by(mb.c.part)).scalars().all()
        return b"".join(bytes(p) for p in found) if found else None

    def describe(self) -> str:
        return "the queue database"


class S3Media(SharedMedia):
    """Media as objects ``<prefix><sha256>`` in an S3-compatible bucket."""

    def __init__(self, bucket: str, prefix: str = "", region: str | None = None,
                 endpoint_url: str | None = None) -> None:
        self.bucket, self.prefix = bucket, prefix
        self.region, self.endpoint_url = region, endpoint_url
        self._client: Any = None

    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise ConfigError("media_store kind 's3' needs boto3: pip install 'postq[s3]'",
                                  key="media_store.kind") from None
            self._client = boto3.client("s3", region_name=self.region,
                                        endpoint_url=self.endpoint_url)
        return self._client

    def put(self, conn: Connection, sha256: str, data: bytes) -> None:
        # Uploaded before the queueing transaction commits: if it then fails, an unused
        # object is left, which is harmless (content-addressed); the reverse never happens.
        try:
            self.client().put_object(Bucket=self.bucket, Key=self.prefix + sha256, Body=data,
                                     ContentType="application/octet-stream")
        except Exception as exc:  # botocore's errors, imported lazily with boto3
            raise StoreError(f"cannot store media in s3://{self.bucket}/{self.prefix}: "
                             f"{type(exc).__name__}: {exc}") from None

    def fetch(self, sha256: str) -> bytes | None:
        try:
            answer = self.client().get_object(Bucket=self.bucket, Key=self.prefix + sha256)
        except Exception as exc:
            code = str(((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code"))
            if code in ("NoSuchKey", "404"):
                return None
            raise StoreError(f"cannot read media from s3://{self.bucket}/{self.prefix}: "
                             f"{type(exc).__name__}: {exc}") from None
        return bytes(answer["Body"].read())

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


def shared_media(cfg: Any, engine: Engine) -> SharedMedia | None:
    """The shared store ``[media_store]`` asks for (None: only the local folder).

    ``cfg`` is the validated :class:`scheduler.config.MediaStoreSettings`, or a plain
    mapping of the same keys (validated here, for stores opened without a postq.toml).
    """
    if cfg is None or isinstance(cfg, dict):
        from pydantic import ValidationError

        from scheduler.config import MediaStoreSettings

        try:
            cfg = MediaStoreSettings.model_validate(cfg or {})
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            raise ConfigError(message, key=f"media_store{'.' + key if key else ''}") from None
    kind = cfg.kind or ("local" if engine.dialect.name == "sqlite" else "database")
    if kind == "database":
        return DatabaseMedia(engine)
    if kind == "s3":
        return S3Media(cfg.bucket, cfg.prefix, cfg.region, cfg.endpoint_url)
    return None
