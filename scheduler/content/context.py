"""What every rule needs beyond the post file: settings, limits, the deny list, caches."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.config import Settings
from scheduler.errors import MediaError, PostqError
from scheduler.platforms import PlatformProfile
from scheduler.textsafety import fold


@dataclass
class RuleContext:
    """What rules need beyond the file: settings, limits per channel, caches."""

    settings: Settings
    registry: AdapterRegistry
    deny_terms: list[str]
    profiles: dict[str, PlatformProfile] = field(default_factory=dict)
    profile_errors: dict[str, str] = field(default_factory=dict)
    _deny_re: re.Pattern[str] | None = None
    _probe_cache: dict[Path, Any] = field(default_factory=dict)
    _decode_cache: dict[Path, str | None] = field(default_factory=dict)
    _asset_cache: dict[str, tuple[Path, bool, bool]] = field(default_factory=dict)
    _glyph_cache: dict[tuple[str, Path | None], list[str]] = field(default_factory=dict)
    _assets_real: Path | None = None
    # Every string the deny list was matched against, so a test can prove the rules see
    # exactly what the snapshot sends.
    checked_texts: set[str] = field(default_factory=set)
    _deny_cache: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def create(cls, settings: Settings, registry: AdapterRegistry | None = None) -> RuleContext:
        ctx = cls(settings, registry or AdapterRegistry.from_entry_points(),
                  settings.deny_terms())
        # Checked once up front: a font or logo that is a device or huge is one sentence.
        settings.brand_file("font")
        settings.brand_file("logo")
        for name, ch in settings.channels.items():
            try:
                ctx.profiles[name] = ctx.registry.channel_profile(ch)
            except PostqError as exc:
                ctx.profile_errors[name] = str(exc)
        terms = sorted({fold(t) for t in ctx.deny_terms} - {""}, key=len, reverse=True)
        if terms:
            alts = []
            for term in terms:
                pre = r"(?<!\w)" if term[:1].isalnum() else ""
                post = r"(?!\w)" if term[-1:].isalnum() else ""
                alts.append(pre + re.escape(term) + post)
            ctx._deny_re = re.compile("|".join(alts))
        return ctx

    def deny_hit(self, text: str) -> str | None:
        """The deny-listed term ``text`` contains, compared in the folded form
        (:func:`scheduler.textsafety.fold`), so look-alike letters, invisible
        characters and split white space do not hide it."""
        self.checked_texts.add(text)
        if self._deny_re is None or not text:
            return None
        if text not in self._deny_cache:
            m = self._deny_re.search(fold(text))
            self._deny_cache[text] = m.group(0) if m else None
        return self._deny_cache[text]

    def asset(self, rel: str) -> tuple[Path, bool, bool]:
        """``(real path, inside assets/, is a file)`` for an image path, once per run:
        many posts share an image, and resolving links costs a system call per part."""
        if rel not in self._asset_cache:
            assets = self.settings.assets_dir
            if self._assets_real is None:
                self._assets_real = Path(os.path.realpath(assets))
            real = Path(os.path.realpath(assets / rel))
            self._asset_cache[rel] = (real, real.is_relative_to(self._assets_real),
                                      real.is_file())
        return self._asset_cache[rel]

    def glyphs_missing(self, text: str, font: Path | None) -> list[str]:
        key = (text, font)
        if key not in self._glyph_cache:
            from scheduler.media import missing_glyphs

            self._glyph_cache[key] = missing_glyphs(text, font)
        return self._glyph_cache[key]

    def decode_problem(self, path: Path) -> str | None:
        """Decode the image as rendering will (same decoder, reduced where the format
        allows), once per run: a file whose header reads but whose data is truncated
        fails here, at validation, not later at ``queue add``."""
        if path not in self._decode_cache:
            from scheduler.media.decode import load_source

            try:
                load_source(path, scale=0.125).image.close()
                self._decode_cache[path] = None
            except MediaError as exc:
                self._decode_cache[path] = str(exc)
        return self._decode_cache[path]

    def probe(self, path: Path) -> Any:
        if path not in self._probe_cache:
            from scheduler.media import probe_image

            try:
                self._probe_cache[path] = probe_image(path)
            except MediaError as exc:
                self._probe_cache[path] = exc
        return self._probe_cache[path]
