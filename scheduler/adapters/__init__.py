"""Adapter discovery through the ``postq.adapters`` entry-point group.

The built-in adapters are registered through the same group as third-party ones, so a
plug-in gets exactly the treatment the built-ins do. Loading is lazy: naming a channel's
adapter only imports that one module.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from scheduler.errors import AdapterNotFound
from scheduler.platforms import PROFILES, PlatformProfile

GROUP = "postq.adapters"


class AdapterRegistry:
    """Adapter name → class, loaded on first use. Tests pass a plain dict of classes."""

    def __init__(self, entries: Mapping[str, object]) -> None:
        self._entries = dict(entries)
        self._loaded: dict[str, type] = {}

    @classmethod
    def from_entry_points(cls) -> AdapterRegistry:
        eps: dict[str, object] = {}
        for ep in entry_points(group=GROUP):
            eps.setdefault(ep.name, ep)
        return cls(eps)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def get(self, name: str) -> type:
        from scheduler.adapters.base import Adapter

        if name in self._loaded:
            return self._loaded[name]
        entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise AdapterNotFound(f"no adapter named '{name}' is installed (installed: {known})")
        try:
            obj = entry.load() if isinstance(entry, EntryPoint) else entry
        except Exception as exc:  # a broken plug-in must not take postq down with it
            raise AdapterNotFound(f"adapter '{name}' failed to load: {exc}") from None
        if not (isinstance(obj, type) and issubclass(obj, Adapter)):
            raise AdapterNotFound(f"adapter '{name}' does not subclass scheduler.adapters.base.Adapter")
        self._loaded[name] = obj
        return obj

    def channel_profile(self, channel: Any) -> PlatformProfile:
        """Limits for a configured channel: its ``profile`` if set, else its adapter's."""
        from scheduler.platforms import get_profile

        if getattr(channel, "profile", None):
            prof = get_profile(channel.profile, channel.text_limit)
            if prof is None:
                known = ", ".join(sorted(PROFILES))
                raise AdapterNotFound(f"no platform profile '{channel.profile}' (known: {known})")
            return prof
        return self.profile_for(channel.adapter, channel.text_limit)

    def profile_for(self, name: str, text_limit: int | None = None) -> PlatformProfile:
        """Limits for an adapter name; built-in platform names need no adapter installed."""
        from scheduler.platforms import get_profile

        if name in PROFILES:
            prof = get_profile(name, text_limit)
            assert prof is not None
            return prof
        return self.get(name).profile(text_limit)
