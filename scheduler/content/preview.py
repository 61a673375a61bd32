"""``postq preview``: render every image for every channel and one HTML page of cards.

The page shows each post once per channel exactly as it would be published: the rendered
image, the caption with its count against the platform's limit, the alt text, the local
publish time and any warnings. Rendering runs in worker processes, one post per task, so
a folder of fifty posts keeps both cores busy. Nothing touches the queue or the network.
"""

from __future__ import annotations

import html
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from scheduler.config import Settings, load_settings
from scheduler.content.snapshot import PostSnapshot, ReminderSnapshot
from scheduler.content.validate import CheckedPost, collect_paths, validate_files
from scheduler.errors import PostqError, Problem


@dataclass
class PreviewResult:
    page: Path
    out_dir: Path
    snapshots: list[PostSnapshot] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


_worker_state: dict[str, Any] = {}


def _one_core_each() -> None:
    """Workers are one per core already: libvips in each keeps to one thread, or two
    workers' resizes would fight over the same cores (unless the user set it)."""
    os.environ.setdefault("VIPS_CONCURRENCY", "1")


def _render_in_worker(config: str, path: str) -> PostSnapshot:
    """One post in a worker process: settings and registry are loaded once per process."""
    from scheduler.adapters import AdapterRegistry
    from scheduler.content.pipeline import snapshot_post

    if _worker_state.get("config") != config:
        _worker_state["config"] = config
        _worker_state["settings"] = load_settings(Path(config))
        _worker_state["registry"] = AdapterRegistry.from_entry_points()
    settings = _worker_state["settings"]
    report = validate_files(settings, [Path(path)], registry=_worker_state["registry"])
    return snapshot_post(report.posts[0], settings, _worker_state["registry"])


def build_preview(
    settings: Settings,
    paths: list[str],
    out_dir: Path,
    *,
    channel: str | None = None,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> PreviewResult:
    """Validate, render and write the page; posts with problems get a card of problems."""
    from scheduler.adapters import AdapterRegistry
    from scheduler.content.pipeline import snapshot_post

    if channel is not None:
        settings.channel(channel)  # an unknown channel is an error before any work
    registry = AdapterRegistry.from_entry_points()
    files = collect_paths(paths, settings)
    report = validate_files(settings, files, registry=registry)
    good: list[CheckedPost] = [c for c in report.posts if c.ok]
    result = PreviewResult(out_dir / "index.html", out_dir, problems=report.problems,
                           warnings=report.warnings)
    past = {c.loaded.post_id for c in report.posts if c.warnings}
    # Posts with a video are rendered here, one after another: each one's renders already
    # run side by side (scheduler.media.video.parallel) and show their progress on one
    # line, which workers writing to the same terminal would garble.
    here = [c for c in good if c.loaded.model is not None and c.loaded.model.video]
    elsewhere = [c for c in good if c not in here]
    made: dict[int, PostSnapshot] = {}
    jobs = jobs or min(len(elsewhere), os.cpu_count() or 1)
    cache: dict[tuple[Any, ...], Any] = {}
    if settings.path is not None and jobs > 1:
        # Spawned, not forked: a fork copies locks that the parent's libvips or encoder
        # threads may hold at that instant, and the child would wait on them for ever.
        with ProcessPoolExecutor(max_workers=jobs, initializer=_one_core_each,
                                 mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {id(c): pool.submit(_render_in_worker, str(settings.path),
                                          str(c.loaded.path)) for c in elsewhere}
            for c in here:
                made[id(c)] = snapshot_post(c, settings, registry, cache)
                if progress:
                    progress(1)
            for key, fut in futures.items():
                made[key] = fut.result()
                if progress:
                    progress(1)
    else:
        for c in here + elsewhere:
            made[id(c)] = snapshot_post(c, settings, registry, cache)
            if progress:
                progress(1)
    result.snapshots.extend(made[id(c)] for c in good)
    if report.pairs:
        from scheduler.content.pairs import pair_snapshots

        profiles = {n: registry.channel_profile(c) for n, c in settings.channels.items()}
        result.snapshots = pair_snapshots(result.snapshots,
                                          {c.loaded.post_id: c.loaded for c in good},
                                          report.pairs, settings, profiles)
    out_dir.mkdir(parents=True, exist_ok=True)
    per_channel: dict[tuple[str, str], list[str]] = {}
    for snap in result.snapshots:
        for ch in snap.channels:
            if channel and ch.channel != channel:
                continue
            per_channel[(snap.post_id, ch.channel)] = _channel_cards(
                snap, ch, out_dir, result, settings, snap.post_id in past)
    cards = _side_by_side(result.snapshots, per_channel, report.pairs)
    bad = [c for c in report.posts if not c.ok]
    for c in bad:
        cards.append(_problem_card(c))
    result.page.write_text(_page(cards, len(result.snapshots) - len(past), len(bad),
                                 len(past)), encoding="utf-8")
    return result


def _channel_cards(snap: PostSnapshot, ch: Any, out_dir: Path, result: PreviewResult,
                   settings: Settings, past: bool) -> list[str]:
    """The card of one channel of a post (its files written), then its reminders'."""
    names = []
    for n, img in enumerate(ch.images, 1):
        name = f"{snap.post_id}@{ch.channel}-{n}{img.extension}"
        target = out_dir / name
        target.write_bytes(img.data)
        result.files.append(target)
        names.append(name)
    if ch.video is not None:
        from scheduler.content.video_preview import write_video_files

        result.files.extend(write_video_files(out_dir, snap.post_id, ch))
    cards = [_card(snap, ch, names, settings, past)]
    for rem in snap.reminders:  # the reminders go out with the same renders
        if rem.content.channel == ch.channel:
            cards.append(_card(snap, rem.content, names, settings, reminder=rem))
    return cards


def _side_by_side(snaps: list[PostSnapshot], per_channel: dict[tuple[str, str], list[str]],
                  pairs: dict[str, str]) -> list[str]:
    """Cards in post order; a Welsh/English pair's cards for one channel in one row,
    Welsh on the left, so a reviewer compares the versions as they go out together."""
    out: list[str] = []
    shown: set[str] = set()
    by_id = {s.post_id: s for s in snaps}
    for snap in snaps:
        if snap.post_id in shown:
            continue
        partner = by_id.get(pairs.get(snap.post_id, ""))
        if partner is None:
            out += [c for ch in snap.channels for c in per_channel.get((snap.post_id, ch.channel), [])]
            continue
        shown |= {snap.post_id, partner.post_id}
        left, right = (snap, partner) if snap.language.startswith("cy") else (partner, snap)
        channels = list(dict.fromkeys([c.channel for c in left.channels]
                                      + [c.channel for c in right.channels]))
        for name in channels:
            pair = (per_channel.get((left.post_id, name), [])
                    + per_channel.get((right.post_id, name), []))
            if pair:
                out.append(f'<div class="pair" data-channel="{_esc(name)}">{"".join(pair)}</div>')
    return out


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _card(snap: PostSnapshot, ch: Any, images: list[str], settings: Settings,
          past: bool = False, reminder: ReminderSnapshot | None = None) -> str:
    zone = settings.zone
    due = reminder.due_at if reminder is not None else snap.publish_at
    when = due.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z") \
        if due else "not set (give --at or --next-slot when queueing)"
    if reminder is not None:
        when = f"Reminder {reminder.offset} before the event: {when}"
    mark = ('<strong class="past">In the past: give --at or --next-slot when '
            "queueing</strong> · " if past else "")
    over = ch.count > ch.limit
    imgs = "".join(
        f'<figure><img src="{_esc(name)}" alt="{_esc(img.alt)}" width="{img.width}" '
        f'height="{img.height}"><figcaption><b>Alt text:</b> {_esc(img.alt)} '
        f'<span class="dim">({img.width}×{img.height}, {len(img.data):,} bytes)</span>'
        f'</figcaption></figure>'
        for name, img in zip(images, ch.images, strict=True)
    )
    warnings = "".join(f"<li>{_esc(w)}</li>" for w in ch.warnings)
    return (
        f'<article class="card" data-post="{_esc(snap.post_id)}" data-channel="{_esc(ch.channel)}"'
        + (f' data-reminder="{_esc(reminder.offset)}">' if reminder else ">")
        + f'<header><h2>{_esc(snap.post_id)}</h2><span class="chan">{_esc(ch.channel)} · '
        f'{_esc(ch.adapter)}</span></header>'
        f'<p class="when">{mark}{_esc(when)} · {_esc(snap.kind)} · {_esc(snap.language)}</p>'
        f"{imgs}"
        + (_video_figure(snap.post_id, ch) if getattr(ch, "video", None) else "")
        + f'<pre class="caption" lang="{_esc(snap.language)}">{_esc(ch.caption)}</pre>'
        f'<p class="count{" over" if over else ""}">{ch.count} / {ch.limit}</p>'
        + (f'<ul class="warnings">{warnings}</ul>' if warnings else "")
        + "</article>"
    )


def _video_figure(post_id: str, ch: Any) -> str:
    from scheduler.content.video_preview import video_figure

    return video_figure(post_id, ch)


def _problem_card(c: CheckedPost) -> str:
    items = "".join(f"<li>{_esc(p)}</li>" for p in c.loaded.problems)
    return (f'<article class="card bad" data-post="{_esc(c.loaded.post_id)}">'
            f"<header><h2>{_esc(c.loaded.display)}</h2></header>"
            f'<ul class="problems">{items}</ul></article>')


def _page(cards: list[str], good: int, bad: int, past: int = 0) -> str:
    css = resources.files("scheduler").joinpath("data/preview.css").read_text(encoding="utf-8")
    summary = (f"{good} post(s) ready" + (f", {past} with a time in the past" if past else "")
               + (f", {bad} with problems" if bad else ""))
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>postq preview</title><style>{css}</style></head><body>"
        f"<h1>postq preview</h1><p class=\"summary\">{_esc(summary)}</p>"
        f"<main>{''.join(cards)}</main></body></html>"
    )


def preview_error(exc: PostqError) -> str:
    return str(exc)
