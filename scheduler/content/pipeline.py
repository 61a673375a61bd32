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
from scheduler.content.compose import compose_caption, overlay_texts, reminder_text
from scheduler.content.snapshot import (
    ChannelSnapshot,
    ImageSnapshot,
    PostSnapshot,
    ReminderSnapshot,
)
from scheduler.content.validate import CheckedPost, collect_paths, validate_files
from scheduler.errors import MediaError, PostFileError, Problem
from scheduler.timeutil import format_duration, localize, parse_duration


def brand_style(settings: Settings) -> Any:
    from scheduler.media import BrandStyle

    colors = settings.brand.colors
    return BrandStyle(
        background=colors.get("background", "#0b0c0c"),
        text=colors.get("text", "#ffffff"),
        accent=colors.get("accent", "#ffdd00"),
        font_path=brand_file(settings, "font"),
        logo_path=brand_file(settings, "logo"),
    )


def brand_file(settings: Settings, key: str) -> Path | None:
    """A ``[brand]`` file that exists and is a regular file of a sane size; else an error
    naming the setting and its file (see :meth:`Settings.brand_file`)."""
    path: Path | None = settings.brand_file(key)
    return path


def _render(cache: dict[tuple[Any, ...], Any], src: Path, profile: Any, overlay: Any,
            brand: Any, focus: Any, fit: str) -> Any:
    """Render once per distinct output; reuse a render made under a larger byte limit
    when it also fits this one.

    The key is what the output is made of, not the profile's name or rules: the crop
    planned from the source's size (:func:`~scheduler.media.frame.plan_frame`), the
    output size and format, the overlay. Two profiles with different aspect limits that
    choose the same crop therefore share one render. The encoder steps quality down
    until the bytes fit, so when a render made for limit L1 came out at or under a
    smaller L2, encoding for L2 would have stopped at the very same step: the bytes are
    identical, and the 12-megapixel decode is not repeated. A render the encoder had to
    shrink to fit is shared only by profiles that shrink alike (same aspect rules).
    """
    from scheduler.media import render_image
    from scheduler.media.decode import probe_image
    from scheduler.media.encode import output_format
    from scheduler.media.frame import plan_frame
    from scheduler.media.render import check_source_size

    real = os.path.realpath(src)
    try:
        info = probe_image(src)
        planned = None if check_source_size(info, profile, fit) else plan_frame(
            info.width, info.height, profile, focus, fit)
        key = (real, planned, profile.render_size, output_format(profile), overlay)
    except MediaError:
        planned, key = None, None  # render_image says what is wrong, in its own words
    if planned is None or key is None:
        return render_image(src, profile, overlay=overlay, brand=brand, focus=focus, fit=fit)
    limit = profile.image_max_bytes
    shrinks = (profile.render_aspect, profile.aspect_min, profile.aspect_max,
               profile.min_width)
    for made_for, made_by, rendered in cache.get(key, ()):
        same_frame = (rendered.width, rendered.height) == planned.size or made_by == shrinks
        if made_for >= limit and len(rendered.data) <= limit and same_frame:
            return rendered
    rendered = render_image(src, profile, overlay=overlay, brand=brand, focus=focus, fit=fit)
    cache.setdefault(key, []).append((limit, shrinks, rendered))
    return rendered


def snapshot_post(
    checked: CheckedPost, settings: Settings, registry: AdapterRegistry,
    cache: dict[tuple[Any, ...], Any] | None = None,
) -> PostSnapshot:
    """Compose and render one valid post for each of its channels."""
    from scheduler.media import Overlay

    loaded = checked.loaded
    model = loaded.model
    zone = settings.zone
    brand = brand_style(settings)
    texts = overlay_texts(model, zone, checked.times.get("event_at"))
    overlay = Overlay(texts[0], texts[1]) if texts else None
    cache = cache if cache is not None else {}
    profiles = {ch: registry.channel_profile(settings.channels[ch]) for ch in model.channels}

    def fit_for(ch: str, img: Any) -> str:
        override = model.overrides.get(ch)
        return override.fit if override and override.fit else img.fit

    # Largest byte limit first, so a render can serve the stricter channels after it.
    for ch in sorted(model.channels, key=lambda c: -profiles[c].image_max_bytes):
        for img in model.images:
            _render(cache, settings.assets_dir / img.path, profiles[ch], overlay, brand,
                    img.focus, fit_for(ch, img))
    if model.video is not None:
        from scheduler.content.video import render_channels

        render_channels(model.video, list(model.channels), profiles, settings, cache)
    channels = []
    for ch in model.channels:
        cfg = settings.channels[ch]
        profile = profiles[ch]
        cap = compose_caption(model, loaded.body, ch, profile, settings)
        images = []
        warnings: list[str] = []
        for img in model.images:
            r = _render(cache, settings.assets_dir / img.path, profile, overlay, brand,
                        img.focus, fit_for(ch, img))
            warnings.extend(f"{img.path}: {w}" for w in r.warnings)
            images.append(ImageSnapshot(r.data, r.mime, img.alt, r.width, r.height,
                                        img.path, img.focus))
        video = None
        if model.video is not None:
            from scheduler.content.video import snapshot_video

            video = snapshot_video(model.video, ch, profile, settings, overlay, brand, cache)
        channels.append(ChannelSnapshot(ch, cfg.adapter, cap.text, cap.count, cap.limit,
                                        tuple(images), tuple(warnings), video))
    reminders = _reminders(checked, settings, profiles, channels)
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
        reminders=reminders,
    )


def _reminders(checked: CheckedPost, settings: Settings, profiles: dict[str, Any],
               channels: list[ChannelSnapshot]) -> tuple[ReminderSnapshot, ...]:
    """Each channel's reminders before a Q&A event: own caption, the post's renders."""
    model = checked.loaded.model
    event = checked.times.get("event_at")
    if model.kind != "qa_announcement" or not model.reminders or event is None:
        return ()
    offsets = sorted({parse_duration(str(r)) for r in model.reminders})
    out = []
    for ch in channels:
        for offset in offsets:
            words = reminder_text(model, offset, event, settings.zone, settings)
            cap = compose_caption(model, words, ch.channel, profiles[ch.channel], settings,
                                  own_text=False)
            if cap.count > cap.limit:
                loaded = checked.loaded
                raise PostFileError([Problem(
                    loaded.display, loaded.line_of("reminders"), "reminders",
                    f"the {format_duration(offset)} reminder's caption on {ch.channel} is "
                    f"{cap.count} characters, over the limit of {cap.limit}",
                )])
            content = ChannelSnapshot(ch.channel, ch.adapter, cap.text, cap.count, cap.limit,
                                      ch.images)
            out.append(ReminderSnapshot(format_duration(offset), event + offset, content))
    return tuple(out)


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
    snaps = [snapshot_post(c, settings, registry, cache) for c in report.posts]
    if not report.pairs:
        return snaps
    from scheduler.content.pairs import pair_snapshots

    profiles = {name: registry.channel_profile(ch) for name, ch in settings.channels.items()
                if any(c.channel == name for s in snaps for c in s.channels)}
    return pair_snapshots(snaps, {c.loaded.post_id: c.loaded for c in report.posts},
                          report.pairs, settings, profiles)


def source_of(snapshot: PostSnapshot) -> Path:
    return Path(snapshot.source_path)
