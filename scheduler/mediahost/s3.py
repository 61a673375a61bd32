"""The ``s3`` media host: an S3 (or S3-compatible) bucket whose objects are public.

Install with ``pip install postq[s3]``; boto3 is imported only when this host is used.
Credentials come the usual boto3 way (environment, shared config, instance role), never
from postq's configuration. The bucket (or a CDN in front of it, ``public_base_url``)
must serve ``<prefix><name>`` publicly; postq sets no ACL unless ``acl`` asks for one,
because many buckets forbid ACLs and grant read access by policy instead.
https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
"""

from __future__ import annotations

from typing import Any

from scheduler.errors import (
    AuthError,
    ConfigError,
    PermanentPublishError,
    PublishError,
    TransientPublishError,
)
from scheduler.mediahost.base import LargeFile, MediaHost, MediaHostSettings

_AUTH_CODES = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
               "InvalidToken", "AllAccessDisabled"}
_CONFIG_CODES = {"NoSuchBucket", "PermanentRedirect", "AuthorizationHeaderMalformed"}


class S3HostSettings(MediaHostSettings):
    """``bucket``, ``prefix`` (key prefix, e.g. ``"postq/"``), ``region``,
    ``endpoint_url`` (S3-compatible stores), ``acl`` (e.g. ``"public-read"``) and
    ``public_base_url`` (the bucket's or CDN's address for ``prefix``)."""

    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: str | None = None
    acl: str | None = None


class S3Host(MediaHost):
    """Uploads images to a bucket."""

    settings_model = S3HostSettings
    _client: Any = None

    @property
    def _settings(self) -> S3HostSettings:
        assert isinstance(self.settings, S3HostSettings)
        return self.settings

    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise ConfigError(
                    "media host 's3' needs boto3: pip install 'postq[s3]'"
                ) from None
            self._client = boto3.client("s3", region_name=self._settings.region,
                                        endpoint_url=self._settings.endpoint_url)
        return self._client

    def object_key(self, data: bytes, mime: str) -> str:
        return f"{self._settings.prefix}{self.name_for(data, mime)}"

    def put(self, data: bytes, mime: str) -> str:
        extra: dict[str, Any] = {}
        if self._settings.acl:
            extra["ACL"] = self._settings.acl
        try:
            self.client().put_object(
                Bucket=self._settings.bucket, Key=self.object_key(data, mime), Body=data,
                ContentType=mime, CacheControl="public, max-age=31536000, immutable", **extra,
            )
        except Exception as exc:  # botocore's errors; imported lazily like boto3 itself
            raise _translate(exc, self._settings.bucket) from None
        return self.url_for(data, mime)

    def put_file(self, item: LargeFile) -> str:
        """A video, streamed to the bucket (multipart above boto3's threshold): never all
        in memory; a file that changes while it is read fails before the upload completes."""
        import io

        name = self.name_for_file(item)
        extra: dict[str, Any] = {"ContentType": item.mime,
                                 "CacheControl": "public, max-age=31536000, immutable"}
        if self._settings.acl:
            extra["ACL"] = self._settings.acl
        pieces = item.chunks()

        class _Reader(io.RawIOBase):
            buffer = b""

            def readable(self) -> bool:
                return True

            def readinto(self, target: Any) -> int:
                while not self.buffer:
                    block = next(pieces, None)
                    if block is None:
                        return 0
                    self.buffer = block
                n = min(len(target), len(self.buffer))
                target[:n] = self.buffer[:n]
                self.buffer = self.buffer[n:]
                return n

        try:
            self.client().upload_fileobj(io.BufferedReader(_Reader()), self._settings.bucket,
                                         f"{self._settings.prefix}{name}", ExtraArgs=extra)
        except PublishError:
            raise  # the file changed while it was read
        except Exception as exc:  # botocore's errors; imported lazily like boto3 itself
            raise _translate(exc, self._settings.bucket) from None
        return f"{self.settings.public_base_url}/{name}"

    def delete(self, url: str) -> None:
        prefix = self.settings.public_base_url + "/"
        if not url.startswith(prefix):
            return
        key = f"{self._settings.prefix}{url[len(prefix):]}"
        try:
            self.client().delete_object(Bucket=self._settings.bucket, Key=key)
        except Exception:  # leaving a stray object behind is harmless
            pass

    def describe(self) -> str:
        return f"uploads media to s3://{self._settings.bucket}/{self._settings.prefix}"


def _translate(exc: Exception, bucket: str) -> Exception:
    error = getattr(exc, "response", None)
    code = ""
    if isinstance(error, dict):
        code = str((error.get("Error") or {}).get("Code") or "")
    message = f"media host s3://{bucket}: {type(exc).__name__}: {exc}"
    if code in _AUTH_CODES or type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
        return AuthError(message)
    if code in _CONFIG_CODES:
        return PermanentPublishError(message)
    return TransientPublishError(message)
