"""Every rule a post must pass, run over a loaded file; each problem is recorded, none raised.

Rules read the raw front matter defensively, so a file with a type error still gets its
links, deny-listed terms, images and channels checked in the same pass.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scheduler.adapters import AdapterRegistry
from scheduler.config import Settings, real_channel_hint
from scheduler.content.compose import compose_caption, overlay_texts
from scheduler.content.loader import LoadedPost
from scheduler.errors import MediaError, PostqError
from scheduler.platforms import HASHTAG_RE, PlatformProfile, find_urls
from scheduler.timeutil import TimeProblem, localize, parse_duration, parse_when

_TITLES = re.compile(
    r"^(mr|mrs|ms|miss|mx|dr|sir|dame|lord|lady|prof|professor|colonel|col|major|captain|"
    r"capt|general|gen|director)\.?\s", re.IGNORECASE)


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
    _asset_cache: dict[str, tuple[Path, bool, bool]] = field(default_factory=dict)
    _glyph_cache: dict[tuple[str, Path | None], list[str]] = field(default_factory=dict)
    _assets_real: Path | None = None

    @classmethod
    def create(cls, settings: Settings, registry: AdapterRegistry | None = None) -> RuleContext:
        ctx = cls(settings, registry or AdapterRegistry.from_entry_points(),
                  settings.deny_terms())
        for name, ch in settings.channels.items():
            try:
                ctx.profiles[name] = ctx.registry.channel_profile(ch)
            except PostqError as exc:
                ctx.profile_errors[name] = str(exc)
        if ctx.deny_terms:
            alts = []
            for term in sorted(ctx.deny_terms, key=len, reverse=True):
                esc = re.escape(term.casefold())
                pre = r"(?<!\w)" if term[:1].isalnum() else ""
                post = r"(?!\w)" if term[-1:].isalnum() else ""
                alts.append(pre + esc + post)
            ctx._deny_re = re.compile("|".join(alts))
        return ctx

    def deny_hit(self, text: str) -> str | None:
        if self._deny_re is None or not text:
            return None
        m = self._deny_re.search(text.casefold())
        return m.group(0) if m else None

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

    def probe(self, path: Path) -> Any:
        if path not in self._probe_cache:
            from scheduler.media import probe_image

            try:
                self._probe_cache[path] = probe_image(path)
            except MediaError as exc:
                self._probe_cache[path] = exc
        return self._probe_cache[path]


def _texts(post: LoadedPost) -> Iterator[tuple[str, str]]:
    """Every piece of human-readable text in the post, with its field path."""
    raw = post.raw
    if post.body:
        yield "caption", post.body
    for key, value in raw.items():
        if key in ("images", "overlay", "overrides", "hashtags", "channels", "kind", "id"):
            continue
        if isinstance(value, str):
            yield key, value
    images, overlay, overrides, tags = (raw.get(k) for k in ("images", "overlay", "overrides",
                                                            "hashtags"))
    for i, img in enumerate(images if isinstance(images, list) else []):
        if isinstance(img, dict) and isinstance(img.get("alt"), str):
            yield f"images[{i}].alt", img["alt"]
    if isinstance(overlay, dict):
        for k in ("headline", "subline"):
            if isinstance(overlay.get(k), str):
                yield f"overlay.{k}", overlay[k]
    for ch, ov in (overrides.items() if isinstance(overrides, dict) else ()):
        if isinstance(ov, dict) and isinstance(ov.get("caption"), str):
            yield f"overrides.{ch}.caption", ov["caption"]
    for i, tag in enumerate(tags if isinstance(tags, list) else []):
        if isinstance(tag, str):
            yield f"hashtags[{i}]", tag


def _body_line(post: LoadedPost, text: str, needle: str) -> int:
    idx = text.find(needle)
    return post.body_line + (text[:idx].count("\n") if idx >= 0 else 0)


def check_text(post: LoadedPost, ctx: RuleContext) -> None:
    """Links (https, allow-listed host) and deny-listed terms in every text field."""
    allowed = {h.lower().rstrip(".") for h in ctx.settings.policy.link_hosts}
    for field_name, text in _texts(post):
        line = _body_line(post, text, "") if field_name == "caption" else None
        hit = ctx.deny_hit(text)
        if hit:
            if field_name == "caption":
                idx = text.casefold().find(hit)
                line = post.body_line + text[:idx].count("\n")
            post.problem(field_name, f"contains the deny-listed term '{hit}'", line)
        urls = [u for _, _, u in find_urls(text)]
        if field_name in ("apply_url", "questions_url") and not urls:
            urls = [text]
        for url in urls:
            where = _body_line(post, text, url) if field_name == "caption" else None
            parts = urlsplit(url)
            if parts.scheme.lower() != "https":
                post.problem(field_name, f"link {url} is not https", where)
                continue
            host = (parts.hostname or "").lower().rstrip(".")
            if not host or host not in allowed:
                listed = ", ".join(sorted(allowed)) or "none configured"
                post.problem(field_name, f"link host '{host}' is not on the allow-list "
                             f"([policy] link_hosts: {listed})", where)
            elif parts.username or parts.password or parts.port not in (None, 443):
                post.problem(field_name, f"link {url} carries credentials or a port", where)


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
    if kind == "careers_promo" and isinstance(raw.get("closing_date"), date) and publish:
        closing = raw["closing_date"]
        if isinstance(closing, datetime):
            closing = closing.date()
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
    path must stay inside assets/ (no absolute path, no '..', no link leading out)."""
    if not isinstance(rel, str) or not rel:
        return None
    p = Path(rel)
    if p.is_absolute() or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        post.problem(field_name, f"'{rel}' is absolute; give a path inside assets/")
        return None
    if ".." in p.parts:
        post.problem(field_name, f"'{rel}' contains '..'; give a path inside assets/")
        return None
    real, inside, is_file = ctx.asset(rel)
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
        if isinstance(info, MediaError):
            post.problem(f"{name}.path", str(info))
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
    for ch in model.channels:
        profile = ctx.profiles.get(ch)
        if profile is None:
            continue
        cap = compose_caption(model, post.body, ch, profile, ctx.settings)
        cap_field = f"overrides.{ch}.caption" if ch in model.overrides and \
            model.overrides[ch].caption else "caption"
        cap_line = post.body_line if cap_field == "caption" else None
        if cap.count > cap.limit:
            post.problem(cap_field, line=cap_line, message=(
                f"the caption for {ch} is {cap.count} {profile.counting} long; "
                f"{profile.name} allows {cap.limit}"))
        if not cap.text.strip() and not model.images and model.video is None:
            post.problem("caption", f"nothing to publish on {ch}: no caption and no image")
        tags = len(HASHTAG_RE.findall(cap.text))
        if profile.max_hashtags is not None and tags > profile.max_hashtags:
            post.problem("hashtags", f"{ch} allows {profile.max_hashtags} hashtag(s); the "
                         f"caption has {tags}")
        links = len(find_urls(cap.text))
        if profile.max_links is not None and links > profile.max_links:
            post.problem(cap_field, f"{ch} allows {profile.max_links} links; the caption has "
                         f"{links}")
        if len(model.images) > profile.max_images:
            post.problem("images", f"{ch} takes at most {profile.max_images} image(s); the "
                         f"post has {len(model.images)}")
        if profile.requires_image and not model.images and model.video is None:
            post.problem("images", f"{ch} ({profile.name}) needs at least one image")
        for n, img in enumerate(model.images):
            if len(img.alt) > profile.alt_limit:
                post.problem(f"images[{n}].alt", f"alt text is {len(img.alt)} characters; "
                             f"{ch} allows {profile.alt_limit}")
            path = image_paths[n] if n < len(image_paths) else None
            if path is not None:
                _check_size(post, ctx, n, path, ch, profile)


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
    font = ctx.settings.resolve(ctx.settings.brand.font) if ctx.settings.brand.font else None
    field_name = "overlay" if post.model.overlay else "overlay (default)"
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
