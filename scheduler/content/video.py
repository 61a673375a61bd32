"""The rules for a post's ``video``: file, captions, cover, trim, and every channel's limits.

Run by :func:`scheduler.content.rules.run_rules` when a post has a video, so ``validate``
and ``queue add`` report video problems in the same list, with the same file, line and
field, as every other rule.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scheduler.content.loader import LoadedPost
from scheduler.content.rules import RuleContext, asset_path
from scheduler.errors import ConfigError, MediaError
from scheduler.platforms import (
    MIXED_CAROUSELS,
    NO_MIXED_MEDIA,
    TITLES,
    VideoProfile,
    title_of,
    video_profile_for,
)

_CLOCK_RE = re.compile(r"^(\d+):([0-5]?\d(?:\.\d+)?)$")
_probes: dict[tuple[Path, float, int], Any] = {}


#: A Mastodon instance's own limits, by the names its ``/api/v2/instance`` answers with
#: (configuration.media_attachments), settable on a channel in postq.toml.
INSTANCE_LIMITS = {"video_size_limit": "max_bytes", "video_frame_rate_limit": "fps_max",
                   "video_matrix_limit": "max_pixels"}


def channel_video_profile(settings: Any, channel: str, profile: Any) -> VideoProfile | None:
    """The channel's platform video profile, with the instance limits the channel sets.

    A channel's ``format`` picks the platform's other product where it has one
    (``format = "story"`` on Instagram: Stories; ``format = "video"`` on Facebook: Page
    videos instead of Reels), whose limits and frame differ."""
    from dataclasses import replace

    from scheduler.platforms import VIDEO_PROFILES

    vp = video_profile_for(profile)
    cfg = settings.channels.get(channel)
    if vp is None or cfg is None:
        return vp
    fmt = cfg.extras().get("format")
    if isinstance(fmt, str) and f"{vp.name}_{fmt}" in VIDEO_PROFILES:
        vp = VIDEO_PROFILES[f"{vp.name}_{fmt}"]
    changes: dict[str, Any] = {}
    for key, attr in INSTANCE_LIMITS.items():
        value = cfg.extras().get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{value!r} is not a whole number above 0 (as the instance's "
                              "/api/v2/instance says it)", settings.path,
                              f"[channels.{channel}] {key}")
        changes[attr] = value
    return replace(vp, **changes) if changes else vp


def cover_seconds(value: Any) -> float | None:
    """A cover given as a time (``4``, ``4.5``, ``"0:04"``) in seconds; None for a file."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        m = _CLOCK_RE.match(value.strip())
        if m:
            return int(m.group(1)) * 60 + float(m.group(2))
        try:
            return float(value)
        except ValueError:
            return None
    return None


def probe_cached(path: Path) -> Any:
    """The probe of ``path`` (or the MediaError it raised), once per file version."""
    from scheduler.media.video.probe import probe_video

    st = path.stat()
    key = (path, st.st_mtime, st.st_size)
    if key not in _probes:
        try:
            _probes[key] = probe_video(path)
        except MediaError as exc:
            _probes[key] = exc
    return _probes[key]


def read_cues(path: Path) -> Any:
    from scheduler.media.video.captions import read_captions

    try:
        return read_captions(path)
    except MediaError as exc:
        return exc


def check_video(post: LoadedPost, ctx: RuleContext) -> None:
    video = post.raw.get("video")
    if not isinstance(video, dict):
        return
    if post.raw.get("images"):
        _check_mixed(post, ctx)
    alt = video.get("alt")
    if not isinstance(alt, str) or not alt.strip():
        post.problem("video.alt", "missing alt text: describe what the video shows")
    elif (hit := ctx.deny_hit(alt)) is not None:
        post.problem("video.alt", f"contains the deny-listed term '{hit}'")
    real = asset_path(post, ctx, "video.path", video.get("path"), "video")
    info = probe_cached(real) if real is not None else None
    if isinstance(info, MediaError):
        post.problem("video.path", _named(info, real, video.get("path")))
        info = None
    _check_captions(post, ctx, video, info)
    _check_cover(post, ctx, video, info)
    if info is None or post.model is None or post.model.video is None:
        return
    ref = post.model.video
    _check_channels(post, ctx, ref, info)


def takes_mixed(settings: Any, channel: str, profile: Any) -> bool:
    """Whether ``channel`` publishes images and a video together, as one carousel: an
    Instagram feed or Threads channel (or an outbox rehearsing one), or the outbox; not an
    Instagram Stories channel, whose Story is one image or one video."""
    cfg = settings.channels.get(channel)
    story = cfg is not None and cfg.extras().get("format") == "story"
    return profile.name in MIXED_CAROUSELS and not story


def _check_mixed(post: LoadedPost, ctx: RuleContext) -> None:
    """Images and a video together: every channel must take them as one carousel (the
    images in order, then the video), within its item limit."""
    if post.model is None:
        return
    refusers = ", ".join(TITLES[n] for n in NO_MIXED_MEDIA)
    items = len(post.model.images) + 1
    for ch in post.model.channels:
        profile = ctx.profiles.get(ch)
        if profile is None:
            continue
        if not takes_mixed(ctx.settings, ch, profile):
            what = "Instagram Stories" if profile.name == "instagram" else title_of(profile)
            post.problem("video", f"channel {ch} ({what}) cannot take images and a video in "
                         f"one post: {refusers} take images or one video, not both (only an "
                         "Instagram feed, Threads or the outbox takes them as one carousel)")
        elif len(post.model.images) <= profile.max_images < items:
            post.problem("images", f"{ch} takes at most {profile.max_images} items in a "
                         f"carousel; the post has {items - 1} image(s) and a video")


def _named(exc: MediaError, path: Path | None, rel: Any) -> str:
    """The media layer names files by their own name; a post names them under assets/."""
    text = str(exc)
    if path is not None and text.startswith(path.name + " "):
        return f"assets/{rel}{text[len(path.name):]}"
    return f"assets/{rel}: {text}"


def _check_captions(post: LoadedPost, ctx: RuleContext, video: dict[str, Any],
                    info: Any) -> None:
    from scheduler.media.video.captions import check_cues

    rel = video.get("captions")
    if rel is None:
        if video.get("speech", True) is not False:
            post.problem("video.captions", "missing: a video with speech needs a caption "
                         "file (.srt or .vtt); for a video without speech say speech: false")
        return
    real = asset_path(post, ctx, "video.captions", rel, "caption file")
    if real is None:
        return
    cues = read_cues(real)
    if isinstance(cues, MediaError):
        post.problem("video.captions", _named(cues, real, rel))
        return
    for cue in cues:
        hit = ctx.deny_hit(cue.text)
        if hit:
            post.problem("video.captions", f"assets/{rel}: caption {cue.index} contains the "
                         f"deny-listed term '{hit}'")
    if info is not None:
        for msg in check_cues(cues, info.duration, f"assets/{rel}"):
            post.problem("video.captions", msg)


def _check_cover(post: LoadedPost, ctx: RuleContext, video: dict[str, Any],
                 info: Any) -> None:
    cover = video.get("cover")
    if cover is None:
        return
    at = cover_seconds(cover)
    if at is not None:
        if info is not None and not 0 <= at < info.duration:
            post.problem("video.cover", f"{at:g} s is outside the video (0 to "
                         f"{info.duration:g} s)")
        return
    real = asset_path(post, ctx, "video.cover", cover, "image")
    if real is not None:
        probed = ctx.probe(real)
        if isinstance(probed, MediaError):
            post.problem("video.cover", str(probed))


def _check_channels(post: LoadedPost, ctx: RuleContext, ref: Any, info: Any) -> None:
    from scheduler.media.video.plan import problems

    for ch in post.model.channels if post.model else []:
        profile = ctx.profiles.get(ch)
        if profile is None:
            continue
        vp = channel_video_profile(ctx.settings, ch, profile)
        if vp is None:
            post.problem("video", f"{ch} ({profile.name}) does not take video")
            continue
        for msg in problems(info, vp, ref.trim, ref.focus, ref.fit):
            trim = msg.startswith("trim")
            post.problem("video.trim" if trim else "video.path",
                         f"assets/{ref.path}{': ' if msg.startswith('trim ') else ' is '}"
                         f"{msg} (channel {ch})")


def _render_job(ref: Any, channel: str, profile: Any, settings: Any) -> tuple[Any, ...]:
    """The cache key and render job for one channel, with the cues and whether they burn."""
    from scheduler.media.video.captions import read_captions, shift_cues
    from scheduler.media.video.parallel import RenderJob

    vp = channel_video_profile(settings, channel, profile)
    if vp is None:  # validation refuses this first; kept as a guard
        raise MediaError(f"{profile.name} does not take video")
    source = settings.assets_dir / ref.path
    cues = read_captions(settings.assets_dir / ref.captions) if ref.captions else []
    if ref.trim is not None and cues:
        cues = shift_cues(cues, ref.trim[0], ref.trim[1])
    burn = bool(cues) and (ref.burn or not vp.captions_sidecar)
    font = settings.resolve(settings.brand.font) if settings.brand.font else None
    key = ("video", str(source), vp, ref.focus, ref.fit, ref.trim, burn, ref.captions)
    job = RenderJob(source, vp, ref.focus, ref.trim, cues if burn else None, font, ref.fit,
                    vp.title)
    return key, job, cues, burn, vp


def render_channels(ref: Any, channels: list[str], profiles: dict[str, Any], settings: Any,
                    cache: dict[tuple[Any, ...], Any]) -> None:
    """Every distinct render the channels need, made side by side and kept in ``cache``
    (channels whose platforms need the same frame share one render)."""
    from scheduler.media.video.parallel import render_many

    todo: dict[Any, Any] = {}
    for ch in channels:
        profile = profiles.get(ch)
        if profile is None or channel_video_profile(settings, ch, profile) is None:
            continue
        key, job = _render_job(ref, ch, profile, settings)[:2]
        if key not in cache:
            todo.setdefault(key, job)
    if todo:
        batch = render_many(list(todo.values()), settings.data_dir / "renders",
                            head=f"rendering assets/{ref.path}")
        cache.update(zip(todo, batch.videos, strict=True))


def snapshot_video(ref: Any, channel: str, profile: Any, settings: Any, overlay: Any,
                   brand: Any, cache: dict[tuple[Any, ...], Any]) -> Any:
    """Render ``ref`` for one channel's platform: the video, its captions and its cover."""
    from scheduler.content.snapshot import ImageSnapshot, VideoSnapshot
    from scheduler.media.video.captions import to_webvtt
    from scheduler.media.video.render import render_cover

    key, _job, cues, burn, vp = _render_job(ref, channel, profile, settings)
    if key not in cache:
        render_channels(ref, [channel], {channel: profile}, settings, cache)
    rendered = cache[key]
    cover_key = ("cover", rendered.sha256, str(ref.cover), overlay, profile.name)
    if cover_key not in cache:
        at = cover_seconds(ref.cover) if ref.cover is not None else 0.0
        image = settings.assets_dir / ref.cover if at is None else None
        cache[cover_key] = render_cover(rendered, at, image, profile, overlay=overlay,
                                        brand=brand)
    cover = cache[cover_key]
    cover_snap = ImageSnapshot(cover.data, cover.mime, ref.alt, cover.width, cover.height,
                               str(ref.cover if ref.cover is not None else ref.path), None)
    return VideoSnapshot(
        path=str(rendered.path), sha256=rendered.sha256, size=rendered.size, alt=ref.alt,
        width=rendered.width, height=rendered.height, duration=rendered.duration,
        fps=rendered.fps, source=ref.path, action=rendered.plan.action,
        why=rendered.plan.why, captions_vtt=None if burn or not cues else to_webvtt(cues),
        burned=burn, cover=cover_snap, checks=profile_checks(vp, rendered),
    )


def profile_checks(vp: VideoProfile, rendered: Any) -> str:
    """What the render was checked against, as the preview card says it."""
    from scheduler.media.video.plan import say_range, say_seconds

    return (f"{vp.title}: {say_range(vp.min_seconds, vp.max_seconds)} "
            f"(this: {say_seconds(round(rendered.duration, 1))}), "
            f"{vp.fps_min:g} to {vp.fps_max:g} fps (this: {rendered.fps:g}), "
            f"up to {vp.max_bytes / 1e6:,.0f} MB (this: {rendered.size / 1e6:.1f} MB)")
