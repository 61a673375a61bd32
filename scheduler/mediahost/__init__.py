"""Media hosts, discovered through the ``postq.mediahosts`` entry-point group.

Like adapters, the built-in hosts (``directory``, ``s3``) use the same door as plug-ins.
A channel names its host in an inline table, validated by the adapter's settings::

    media_host = { kind = "directory", path = "/srv/www/postq-media",
                   public_base_url = "https://media.example.gov.uk/postq" }
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from scheduler.errors import ConfigError
from scheduler.mediahost.base import MediaHost, MediaHostSettings

GROUP = "postq.mediahosts"

__all__ = ["GROUP", "MediaHost", "MediaHostConfig", "MediaHostSettings", "build_media_host",
           "host_class"]


def host_class(kind: str) -> type[MediaHost]:
    """The class registered under ``kind``; ConfigError naming the known kinds if none."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=GROUP):
        found.setdefault(ep.name, ep)
    entry = found.get(kind)
    if entry is None:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(f"no media host kind '{kind}' is installed (installed: {known})")
    try:
        obj = entry.load()
    except Exception as exc:  # a broken plug-in must not take postq down with it
        raise ConfigError(f"media host '{kind}' failed to load: {exc}") from None
    if not (isinstance(obj, type) and issubclass(obj, MediaHost)):
        raise ConfigError(f"media host '{kind}' does not subclass scheduler.mediahost.MediaHost")
    return obj


class MediaHostConfig(BaseModel):
    """The ``media_host`` inline table of a channel: ``kind`` plus that host's settings.

    The rest of the table is checked against the host's own model when the channel's
    settings are parsed, so a typo shows up at ``postq validate``, not at publish time.
    """

    model_config = ConfigDict(extra="allow", frozen=True)
    kind: str

    @model_validator(mode="after")
    def _check_for_kind(self) -> MediaHostConfig:
        try:
            cls = host_class(self.kind)
            cls.parse_settings(self.as_dict(), where="")
        except ConfigError as exc:  # pydantic reports ValueErrors with the field's place
            raise ValueError(str(exc)) from None
        return self

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **(self.model_extra or {})}


def build_media_host(
    config: MediaHostConfig | Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> MediaHost:
    """The configured host, ready to ``put``."""
    raw = config.as_dict() if isinstance(config, MediaHostConfig) else dict(config)
    kind = str(raw.get("kind") or "")
    cls = host_class(kind)
    return cls(cls.parse_settings(raw), env=env, data_dir=data_dir)
