"""Every rule a post must pass, run over a loaded file; each problem is recorded, none raised.

Rules read the raw front matter defensively, so a file with a type error still gets its
links, deny-listed terms, images and channels checked in the same pass. The text rules
live in :mod:`scheduler.content.textrules`, the shared context in
:mod:`scheduler.content.context`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from scheduler.config import real_channel_hint
from scheduler.content.compose import COMMENT_PLATFORMS, compose_caption, overlay_texts
from scheduler.content.context import RuleContext
from scheduler.content.loader import LoadedPost
from scheduler.content.model import ID_RE
from scheduler.content.textrules import check_sent, check_text
from scheduler.errors import MediaError
from scheduler.platforms import HASHTAG_RE, PlatformProfile, find_urls
from scheduler.timeutil import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    TimeProblem,
    localize,
    parse_duration,
    parse_when,
)

__all__ = ["RuleContext", "check_channels", "check_images", "check_text", "resolve_times",
           "run_rules"]

# Longer image paths are mistakes; the file system refuses names past 255 bytes a part.
MAX_IMAGE_PATH = 1024

_TITLES = re.compile(
    r"^(mr|mrs|ms|miss|mx|dr|sir|dame|lord|lady|prof|professor|colonel|col|major|captain|"
    r"capt|general|gen|director)\.?\s", re.IGNORECASE)


def check_file_name_id(post: LoadedPost) -> None:
    """A post without ``id:`` takes its file name as its id; the same rules apply."""
    if "id" not in post.raw and not ID_RE.match(post.path.stem):
        post.problem("id", f"the file name '{post.path.stem}' is not a valid id (lower-case "
                     "letters, digits and hyphens, at most 80); rename the file or add an "
                     "id: line", line=1)


def resolve_times(post: LoadedPost, ctx: RuleContext) -> dict[str, datetime]:
    """``publish_at`` and ``event_at`` as aware datetimes; DST gaps and repeats refused."""
    zone = ctx.settings.zone
    out: dict[str, datetime] = {}
    for key in ("publish_at", "event_at"):
        value = post.raw.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            out[key] = parse_when(value, zone)
        except TimeProblem as exc:
            post.problem(key, str(exc))
    return out


def check_kind_rules(post: LoadedPost, ctx: RuleContext, times: dict[str, datetime]) -> None:
    raw, zone = post.raw, ctx.settings.zone
    kind = raw.get("kind")
    publish = times.get("publish_at")
    # The model's value, as the snapshot will hold it: a quoted "2026-12-14" is a date too.
    closing = getattr(post.model, "closing_date", None) or raw.get("closing_date")
    if kind == "careers_promo" and isinstance(closing, date):
        if isinstance(closing, datetime):
            closing = closing.date()
        if not EARLIEST_YEAR <= closing.year <= LATEST_YEAR:
            post.problem("closing_date", f"{closing.isoformat()} is outside the years "
                         f"{EARLIEST_YEAR} to {LATEST_YEAR}")
            closing = None
    if kind == "careers_promo" and isinstance(closing, date) and publish:
        closes = localize(datetime.combine(closing, time(0, 0)), zone)
        if publish >= closes:
            post.problem("closing_date", f"{closing.isoformat()} is on or before the publish "
                         f"time {publish.astimezone(zone):%Y-%m-%d %H:%M}; a careers post is "
                         "never published on or after its closing date")
    if kind == "archive_exhibit":
        if raw.get("cleared_for_release") is not True and "cleared_for_release" in raw:
            post.problem("cleared_for_release", "must be true: an exhibit without clearance "
                         "for release is never queued")
        if not raw.get("images"):
            post.problem("images", "an archive exhibit needs at least one image",
                         post.line_of("images") if "images" in post.raw else post.line_of("kind"))
    if kind == "qa_announcement":
        event = times.get("event_at")
        if event and publish and event <= publish:
            ev, pub = event.astimezone(zone), publish.astimezone(zone)
            post.problem("event_at", f"the event ({ev:%Y-%m-%d %H:%M}) is at or before the "
                         f"publish time ({pub:%Y-%m-%d %H:%M}); announce it before it happens")
        host = raw.get("host")
        if isinstance(host, str) and _looks_like_name(host):
            post.problem("host", f"'{host}' looks like a person's name; describe a role "
                         "instead, such as 'a serving officer'")
        reminders = raw.get("reminders")
        if isinstance(reminders, list):
            for i, r in enumerate(reminders):
                try:
                    if parse_duration(str(r)).total_seconds() >= 0:
                        raise TimeProblem(f"'{r}' must be before the event, e.g. -1d or -1h")
                except TimeProblem as exc:
                    post.problem(f"reminders[{i}]", str(exc))


def _looks_like_name(host: str) -> bool:
    if _TITLES.match(host):
        return True
    words = host.split()
    # "Jane Smith", "Alex J. Morgan": every word capitalised and no role word in lower case.
    return 2 <= len(words) <= 4 and all(w[:1].isupper() for w in words)


def asset_path(post: LoadedPost, ctx: RuleContext, field_name: str, rel: Any,
               noun: str) -> Path | None:
    """The real path of a file named in a post, or None after recording why not: the
    path must stay inside assets/ (no absolute path, no '..', no link leading out), and be
    a usable file name (not empty, no NUL, not absurdly long)."""
    if isinstance(rel, str) and not rel.strip():
        post.problem(field_name, f"empty: give the {noun}'s file name inside assets/")
        return None
    if not isinstance(rel, str):
        return None
    if "\0" in rel:  # reported with the other control characters
        return None
    if len(rel) > MAX_IMAGE_PATH:
        post.problem(field_name, f"'{rel[:40]}...' is not a usable file name "
                     f"(at most {MAX_IMAGE_PATH} characters, no NUL)")
        return None
    p = Path(rel)
    if p.is_absolute() or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        post.problem(field_name, f"'{rel}' is absolute; give a path inside assets/")
        return None
    if ".." in p.parts:
        post.problem(field_name, f"'{rel}' contains '..'; give a path inside assets/")
        return None
    try:
        real, inside, is_file = ctx.asset(rel)
    except (OSError, ValueError) as exc:
        post.problem(field_name, f"cannot open assets/{rel}: "
                     f"{getattr(exc, 'strerror', None) or exc}")
        return None
    if not inside:
        post.problem(field_name, f"'{rel}' is a link that leads outside assets/")
        return None
    if not is_file:
        post.problem(field_name, f"no {noun} at assets/{rel}")
        return None
    return real


def check_images(post: LoadedPost, ctx: RuleContext) -> list[Path | None]:
    """Paths stay inside assets/, files exist and decode, alt text is present."""
    images = post.raw.get("images")
    if not isinstance(images, list):
        return []
    resolved: list[Path | None] = []
    for i, img in enumerate(images):
        name = f"images[{i}]"
        if not isinstance(img, dict):
            resolved.append(None)
            continue
        alt = img.get("alt")
        if not isinstance(alt, str) or not alt.strip():
            post.problem(f"{name}.alt", "missing alt text: every image needs a description")
        real = asset_path(post, ctx, f"{name}.path", img.get("path"), "image")
        if real is None:
            resolved.append(None)
            continue
        info = ctx.probe(real)
        broken = str(info) if isinstance(info, MediaError) else ctx.decode_problem(real)
        if broken:
            post.problem(f"{name}.path", broken)
            resolved.append(None)
            continue
        resolved.append(real)
    return resolved


def check_channels(post: LoadedPost, ctx: RuleContext, image_paths: list[Path | None]) -> None:
    """Known channels, then each channel's limits: caption, hashtags, links, images, alt."""
    model = post.model
    raw_channels = post.raw.get("channels")
    if not isinstance(raw_channels, list):
        return
    for i, ch in enumerate(raw_channels):
        if not isinstance(ch, str):
            continue
        if ch not in ctx.settings.channels:
            from difflib import get_close_matches

            close = get_close_matches(ch, list(ctx.settings.channels), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join(sorted(ctx.settings.channels)) or "none"
            post.problem(f"channels[{i}]", f"no channel '{ch}' in postq.toml "
                         f"(configured: {known}){hint}{real_channel_hint(ch)}")
        elif ch in ctx.profile_errors:
            post.problem(f"channels[{i}]", ctx.profile_errors[ch])
    overrides = post.raw.get("overrides")
    if isinstance(overrides, dict):
        for ch in overrides:
            if ch not in raw_channels:
                post.problem(f"overrides.{ch}", f"'{ch}' is not one of this post's channels")
    if model is None:
        return
    commented = [ch for ch in model.channels
                 if ch in ctx.profiles and ctx.profiles[ch].name in COMMENT_PLATFORMS]
    if model.first_comment and not commented:
        post.problem("first_comment", "none of this post's channels takes a first comment; "
                     "Instagram, Facebook and LinkedIn do")
    for ch in model.channels:
        profile = ctx.profiles.get(ch)
        if profile is None:
            continue
        cap = compose_caption(model, post.body, ch, profile, ctx.settings)
        cap_field = f"overrides.{ch}.caption" if ch in model.overrides and \
            model.overrides[ch].caption else "caption"
        cap_line = post.body_line if cap_field == "caption" else None
        check_sent(post, ctx, cap_field, cap.text, f"the caption for {ch}", cap_line)
        parts = cap.parts
        for n, text in enumerate(parts, 1):
            what = "the caption" if len(parts) == 1 else (
                "the first comment" if profile.name in COMMENT_PLATFORMS
                and n == len(parts) and model.first_comment else
                f"part {n} of {len(parts)} of the thread")
            _check_part(post, profile, ch, cap_field, cap_line, what, text, cap.limit)
        if not cap.text.strip() and not model.images and model.video is None:
            post.problem("caption", f"nothing to publish on {ch}: no caption and no image")
        if len(model.images) > profile.max_images:
            post.problem("images", f"{ch} takes at most {profile.max_images} image(s); the "
                         f"post has {len(model.images)}")
        if profile.requires_image and not model.images and model.video is None:
            post.problem("images", f"{ch} ({profile.name}) needs at least one image")
        for n, img in enumerate(model.images):
            check_sent(post, ctx, f"images[{n}].alt", img.alt, "the alt text")
            if len(img.alt) > profile.alt_limit:
                post.problem(f"images[{n}].alt", f"alt text is {len(img.alt)} characters; "
                             f"{ch} allows {profile.alt_limit}")
            path = image_paths[n] if n < len(image_paths) else None
            if path is not None:
                _check_size(post, ctx, n, path, ch, profile)


def _check_part(post: LoadedPost, profile: PlatformProfile, ch: str, cap_field: str,
                cap_line: int | None, what: str, text: str, limit: int) -> None:
    """One published text (a caption, a thread's part, a first comment) against the
    platform's length, size, hashtag and link limits."""
    if profile.text_max_bytes is not None:
        size = len(text.encode("utf-8"))
        if size > profile.text_max_bytes:
            post.problem(cap_field, line=cap_line, message=(
                f"{what} for {ch} is {size:,} bytes in UTF-8; {profile.name} allows "
                f"{profile.text_max_bytes:,}"))
    count = profile.count(text)
    if count > limit:
        post.problem(cap_field, line=cap_line, message=(
            f"{what} for {ch} is {count} {profile.counting} long; {profile.name} allows "
            f"{limit}"))
    tags = len(HASHTAG_RE.findall(text))
    if profile.max_hashtags is not None and tags > profile.max_hashtags:
        post.problem("hashtags", f"{ch} allows {profile.max_hashtags} hashtag(s); {what} "
                     f"has {tags}")
    links = len(find_urls(text))
    if profile.max_links is not None and links > profile.max_links:
        post.problem(cap_field, f"{ch} allows {profile.max_links} links; {what} has "
                     f"{links}", cap_line)


def _check_size(post: LoadedPost, ctx: RuleContext, n: int, path: Path, channel: str,
                profile: PlatformProfile) -> None:
    from scheduler.media import check_source_size

    info = ctx.probe(path)
    if isinstance(info, MediaError):
        return
    fit = "crop"
    if post.model is not None and n < len(post.model.images):
        fit = post.model.images[n].fit
        override = post.model.overrides.get(channel)
        if override and override.fit:
            fit = override.fit
    msg = check_source_size(info, profile, fit)
    if msg:
        post.problem(f"images[{n}].path", msg)


def check_overlay_glyphs(post: LoadedPost, ctx: RuleContext, times: dict[str, datetime]) -> None:
    """Any overlay character the font cannot draw would come out as a box."""
    if post.model is None or not post.model.images:
        return
    texts = overlay_texts(post.model, ctx.settings.zone, times.get("event_at"))
    if texts is None:
        return
    font = ctx.settings.brand_file("font")
    field_name = "overlay" if post.model.overlay else "overlay (default)"
    for text in texts:
        if text:
            check_sent(post, ctx, field_name, text, "the image overlay")
    missing = ctx.glyphs_missing(" ".join(t for t in texts if t), font)
    if missing:
        shown = ", ".join(f"'{c}' (U+{ord(c):04X})" for c in missing[:5])
        post.problem(field_name, f"the font cannot draw {shown}; change the text or set "
                     "[brand] font")


def run_rules(post: LoadedPost, ctx: RuleContext) -> dict[str, datetime]:
    """All rules for one loaded file; returns the resolved times for later use."""
    if not post.raw:
        return {}
    check_text(post, ctx)
    check_file_name_id(post)
    times = resolve_times(post, ctx)
    check_kind_rules(post, ctx, times)
    paths = check_images(post, ctx)
    check_channels(post, ctx, paths)
    check_overlay_glyphs(post, ctx, times)
    if "video" in post.raw:
        from scheduler.content.video import check_video

        check_video(post, ctx)
    post.problems.sort(key=lambda p: (p.line or 0, p.field))
    return times
