"""The adapter interface every platform implements, built-ins and plug-ins alike.

An adapter gets a frozen :class:`OutgoingPost` — the snapshot that was approved, byte for
byte — and either returns :class:`Published` or raises one of the shared error types, so
the publisher can decide between retrying, failing and asking a human without knowing
anything about the platform. ``check`` settles an unknown outcome by asking the platform
(record key, idempotency key or lookup), never by sending again.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from scheduler.errors import AuthError, ConfigError, PermanentPublishError
from scheduler.platforms import PlatformProfile, find_urls, get_profile, title_of
from scheduler.timeutil import Clock


@dataclass(frozen=True)
class OutgoingImage:
    """One rendered image of the snapshot, stored content-addressed under ``data_dir``."""

    path: Path
    mime: str
    alt: str
    width: int
    height: int
    sha256: str
    focus: tuple[float, float] | None = None

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True)
class OutgoingPost:
    """Exactly what one delivery publishes: caption and images of the approved snapshot."""

    delivery_id: str
    post_id: str
    channel: str
    caption: str
    images: tuple[OutgoingImage, ...]
    language: str
    content_hash: str
    due_at: datetime
    attempt: int = 1
    # What the adapter recorded from an earlier attempt (container ids and the like).
    remote_state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Published:
    """Where the post now lives."""

    remote_id: str
    url: str | None = None


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request an adapter would send, for ``--dry-run``; secrets already redacted."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}


class AdapterSettings(BaseModel):
    """Settings of one channel, checked by the adapter's own model.

    Keys ending in ``_env`` name environment variables that hold secrets; the secret
    itself is read with :meth:`Adapter.secret` at the moment it is needed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    adapter: str
    text_limit: int | None = None
    profile: str | None = None


class Adapter(ABC):
    """Base class of every adapter. Subclasses set the class attributes below."""

    #: The platform profile name in :mod:`scheduler.platforms` (limits and counting).
    platform: ClassVar[str]
    #: Pydantic model of the channel settings this adapter accepts.
    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    #: Whether ``check() -> None`` proves the post is not on the platform. Adapters that
    #: cannot ask (a webhook) set False, and an unknown outcome then waits for a person.
    check_is_authoritative: ClassVar[bool] = True
    #: A custom profile for platforms postq does not know; wins over ``platform``.
    profile_override: ClassVar[PlatformProfile | None] = None

    def __init__(
        self,
        channel: str,
        settings: AdapterSettings,
        *,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.env = env if env is not None else os.environ
        self.clock = clock or Clock()
        self.data_dir = data_dir

    # -- construction -------------------------------------------------------------------
    @classmethod
    def parse_settings(cls, channel: str, raw: Mapping[str, Any]) -> AdapterSettings:
        try:
            return cls.settings_model.model_validate(dict(raw))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                msg = msg.removeprefix("Value error, ")
                where = f"channels.{channel}.{key}" if key else f"channels.{channel}"
                parts.append(f"{where}: {msg}")
            raise ConfigError("; ".join(parts)) from None

    @classmethod
    def profile(cls, text_limit: int | None = None) -> PlatformProfile:
        if cls.profile_override is not None:
            return cls.profile_override
        prof = get_profile(cls.platform, text_limit)
        if prof is None:
            raise ConfigError(f"adapter declares unknown platform '{cls.platform}'")
        return prof

    # -- secrets ------------------------------------------------------------------------
    def secret_names(self) -> dict[str, str]:
        """``{setting key: environment variable name}`` for every ``*_env`` setting."""
        out = {}
        for key, value in self.settings.model_dump().items():
            if key.endswith("_env") and value:
                out[key] = str(value)
        return out

    def secret(self, key: str) -> str:
        """The secret named by setting ``key``; AuthError naming the variable if unset."""
        var = getattr(self.settings, key, None)
        if not var:
            raise AuthError(f"channel '{self.channel}' has no {key} setting")
        value = self.env.get(str(var), "")
        if not value:
            raise AuthError(
                f"channel '{self.channel}': environment variable {var} is not set"
            )
        return value

    def secrets(self) -> list[str]:
        """Every secret value currently set, so output can be scrubbed of them."""
        return [v for v in (self.env.get(n, "") for n in self.secret_names().values()) if v]

    def readiness(self) -> list[str]:
        """What stops this channel from publishing now (missing variables and the like)."""
        return [
            f"environment variable {var} ({key}) is not set"
            for key, var in self.secret_names().items()
            if not self.env.get(var)
        ]

    # -- limits -------------------------------------------------------------------------
    def fit_problems(
        self, post: OutgoingPost, profile: PlatformProfile | None = None, who: str | None = None
    ) -> list[str]:
        """What ``post`` breaks of the platform's limits, the same ones validation used.

        Checked again on the exact snapshot before any request, so a post the platform
        would refuse after the uploads is refused before them, with the count and limit.
        Adapters whose limits are read at run time (a Mastodon instance) pass a profile.
        """
        profile = profile or self.profile(self.settings.text_limit)
        who = who or title_of(profile)
        problems = []
        length = profile.count(post.caption)
        if length > profile.text_limit:
            problems.append(f"the caption is {length} {profile.counting}; {who} allows "
                            f"{profile.text_limit}")
        size = len(post.caption.encode("utf-8"))
        if profile.text_max_bytes is not None and size > profile.text_max_bytes:
            problems.append(f"the caption is {size:,} bytes in UTF-8; {who} allows "
                            f"{profile.text_max_bytes:,}")
        if len(post.images) > profile.max_images:
            problems.append(f"{len(post.images)} images; {who} allows {profile.max_images}")
        if profile.requires_image and not post.images:
            problems.append(f"{who} needs at least one image")
        if profile.max_links is not None:
            links = len(find_urls(post.caption))
            if links > profile.max_links:
                problems.append(f"{links} links; {who} allows {profile.max_links}")
        for n, image in enumerate(post.images, start=1):
            if image.mime.split("/")[-1] not in profile.formats:
                problems.append(f"image {n} is {image.mime}; {who} takes "
                                f"{', '.join(profile.formats)}")
            if not image.alt.strip():
                problems.append(f"image {n} has no alt text")
            elif len(image.alt) > profile.alt_limit:
                problems.append(f"image {n} alt text is {len(image.alt)} characters; {who} "
                                f"allows {profile.alt_limit}")
            size = image.path.stat().st_size
            if size > profile.image_max_bytes:
                problems.append(f"image {n} is {size} bytes; {who} allows at most "
                                f"{profile.image_max_bytes}")
        return problems

    def check_fits(self, post: OutgoingPost, profile: PlatformProfile | None = None,
                   who: str | None = None) -> None:
        """Raise PermanentPublishError listing every limit ``post`` breaks."""
        problems = self.fit_problems(post, profile, who)
        if problems:
            raise PermanentPublishError(f"channel '{self.channel}': " + "; ".join(problems))

    # -- publishing ---------------------------------------------------------------------
    @abstractmethod
    def publish(self, post: OutgoingPost) -> Published:
        """Send the post; raise AuthError, RateLimited, Transient/PermanentPublishError."""

    @abstractmethod
    def check(self, post: OutgoingPost) -> Published | None:
        """After an unknown outcome: the earlier success if the platform has it, else None."""

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        """The requests ``publish`` would send, for dry runs. Adapters override this."""
        return []

    def verify(self) -> str:
        """One harmless authenticated call; returns a short status line (channels --check)."""
        return "no remote check for this adapter"

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release sessions and sockets."""
