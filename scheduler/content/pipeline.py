"""From post files to frozen snapshots: validate, compose every caption, render every image.

This is what ``queue add`` and ``preview`` share, so what is previewed is exactly what is
queued: the same captions and the same rendered bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime, time
from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.config import Settings
from scheduler.content.compose import compose_caption, overlay_texts
from scheduler.content.snapshot import ChannelSnapshot, ImageSnapshot, PostSnapshot
from scheduler.content.validate import CheckedPost, collect_paths, validate_files
from scheduler.errors import PostFileError
from scheduler.timeutil import localize


def brand_style(settings: Settings) -> Any:
    from scheduler.media import BrandStyle

    colors = settings.brand.colors
    return BrandStyle(
        background=colors.get("background", "#0b0c0c"),
        text=colors.get("text", "#ffffff"),
        accent=colors.get("accent", "#ffdd00"),
        font_path=settings.resolve(settings.brand.font) if settings.brand.font else None,
        logo_path=settings.resolve(settings.brand.logo) if settings.brand.logo else None,
    )


def snapshot_post(
    checked: CheckedPost, settings: Settings, registry: AdapterRegistry,
    cache: dict[tuple[Any, ...], Any] | None = None,
) -> PostSnapshot:
    """Compose and render one valid post for each of its channels."""
    from scheduler.media import Overlay, render_image

    loaded = checked.loaded
    model = loaded.model
    zone = settings.zone
    brand = brand_style(settings)
    texts = overlay_texts(model, zone, checked.times.get("event_at"))
    overlay = Overlay(texts[0], texts[1]) if texts else None
    cache = cache if cache is not None else {}
    channels = []
    for ch in model.channels:
        cfg = settings.channels[ch]
        profile = registry.channel_profile(cfg)
        cap = compose_caption(model, loaded.body, ch, profile, settings)
        override = model.overrides.get(ch)
        images = []
        warnings: list[str] = []
        for img in model.images:
            src = settings.assets_dir / img.path
            fit = (override.fit if override and override.fit else img.fit)
            key = (os.path.realpath(src), profile.render_size, profile.image_max_bytes,
                   profile.formats, overlay, img.focus, fit)
            if key not in cache:
                cache[key] = render_image(src, profile, overlay=overlay, brand=brand,
                                          focus=img.focus, fit=fit)
            r = cache[key]
            warnings.extend(f"{img.path}: {w}" for w in r.warnings)
            images.append(ImageSnapshot(r.data, r.mime, img.alt, r.width, r.height,
                                        img.path, img.focus))
        channels.append(ChannelSnapshot(ch, cfg.adapter, cap.text, cap.count, cap.limit,
                                        tuple(images), tuple(warnings)))
    publish_before, reason, closing, event = None, None, None, None
    if model.kind == "careers_promo":
        closing = model.closing_date
        publish_before = localize(datetime.combine(closing, time(0, 0)), zone)
        reason = f"closing date {closing.isoformat()}"
    elif model.kind == "qa_announcement":
        event = checked.times.get("event_at")
        publish_before, reason = event, "the event starts"
    return PostSnapshot(
        post_id=loaded.post_id,
        kind=model.kind,
        source_path=str(loaded.path),
        source_text=loaded.text,
        language=model.language,
        publish_at=checked.times.get("publish_at"),
        channels=tuple(channels),
        publish_before=publish_before,
        publish_before_reason=reason,
        closing_date=closing,
        event_at=event,
    )


def build_snapshots(
    settings: Settings,
    paths: Iterable[str | os.PathLike[str]],
    *,
    registry: AdapterRegistry | None = None,
) -> list[PostSnapshot]:
    """Validate ``paths`` (all problems raised together), then snapshot each post."""
    registry = registry or AdapterRegistry.from_entry_points()
    files = collect_paths(paths, settings)
    report = validate_files(settings, files, registry=registry)
    if not report.ok:
        raise PostFileError(report.problems)
    cache: dict[tuple[Any, ...], Any] = {}
    return [snapshot_post(c, settings, registry, cache) for c in report.posts]


def source_of(snapshot: PostSnapshot) -> Path:
    return Path(snapshot.source_path)
