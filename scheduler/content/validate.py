"""Validate a set of post files: every rule, every file, duplicate ids across files."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.config import Settings
from scheduler.content.loader import LoadedPost, read_post
from scheduler.content.rules import RuleContext, run_rules
from scheduler.errors import Problem, UsageError


@dataclass
class CheckedPost:
    loaded: LoadedPost
    times: dict[str, datetime] = field(default_factory=dict)
    #: Things to know that do not stop the post (a publish_at already past).
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.loaded.problems


@dataclass
class Report:
    posts: list[CheckedPost]
    #: ``{post id: partner's post id}`` of each Welsh/English pair (both directions).
    pairs: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[Problem]:
        return [p for c in self.posts for p in c.loaded.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def warnings(self) -> list[Problem]:
        return [w for c in self.posts for w in c.warnings]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": len(self.posts),
            "problems": len(self.problems),
            "posts": [
                {
                    "path": c.loaded.display,
                    "id": c.loaded.post_id,
                    "kind": c.loaded.raw.get("kind"),
                    "ok": c.ok,
                    "publish_at": c.times["publish_at"].isoformat() if "publish_at" in c.times
                    else None,
                    "problems": [p.as_dict() for p in c.loaded.problems + c.warnings],
                }
                for c in self.posts
            ],
        }


def collect_paths(paths: Iterable[str | os.PathLike[str]], settings: Settings) -> list[Path]:
    """Expand folders to their ``*.md`` files (sorted); default is the posts folder."""
    given = list(paths) or [settings.posts_dir]
    out: list[Path] = []
    for item in given:
        p = Path(item)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*.md") if q.is_file()))
        elif p.exists():
            out.append(p)
        else:
            raise UsageError(f"{p}: no such file or folder")
    return out


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def validate_files(
    settings: Settings,
    files: list[Path],
    *,
    registry: AdapterRegistry | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> Report:
    """Run every rule over every file and return the full report (never raises on content).

    A ``publish_at`` at or before ``now`` is a warning, not an error: the post can still
    be queued with ``--at`` or ``--next-slot``.
    """
    now = now or datetime.now(UTC)
    ctx = RuleContext.create(settings, registry)
    from scheduler.blackouts import configured

    periods = configured(settings)
    from scheduler.content.pairs import check_pairs, partner_files

    checked: list[CheckedPost] = []
    seen: dict[str, LoadedPost] = {}
    read = [read_post(path, _display(path)) for path in files]
    # A pair is checked and queued together: a partner not named is read as well.
    read += partner_files(read, settings, _display)
    for loaded in read:
        times = run_rules(loaded, ctx)
        if loaded.raw:
            pid = loaded.post_id
            if pid in seen:
                first = seen[pid]
                loaded.problem("id", f"'{pid}' is already used by {first.display}")
            else:
                seen[pid] = loaded
        notes = _past_warnings(loaded, times, now, settings.zone)
        notes += _accessibility(loaded, ctx)
        notes += _blackout_notes(loaded, times, periods, settings.zone)
        checked.append(CheckedPost(loaded, times, notes))
        if progress:
            progress(1)
    pairs = check_pairs([c.loaded for c in checked],
                        {c.loaded.post_id: c.times for c in checked}, ctx)
    for c in checked:
        c.loaded.problems.sort(key=lambda p: (p.line or 0, p.field))
    return Report(checked, pairs)


def _accessibility(loaded: LoadedPost, ctx: RuleContext) -> list[Problem]:
    """Accessible-writing findings: warnings, or problems under ``accessibility = "error"``."""
    model = loaded.model
    if model is None:
        return []
    from scheduler.content.accessibility import findings
    from scheduler.content.compose import compose_caption

    policy = ctx.settings.policy
    captions = {ch: compose_caption(model, loaded.body, ch, ctx.profiles[ch], ctx.settings).text
                for ch in model.channels if ch in ctx.profiles}
    found = [(f, m, loaded.body_line if f == "caption" else loaded.line_of(f))
             for f, m in findings(model, captions, policy.max_emoji)]
    if policy.accessibility == "error":
        for field_name, message, line in found:
            loaded.problem(field_name, message, line)
        return []
    return [Problem(loaded.display, line, f, m, severity="warning") for f, m, line in found]


def _blackout_notes(loaded: LoadedPost, times: dict[str, datetime], periods: list[Any],
                    zone: Any) -> list[Problem]:
    """A warning naming the blackout period ``publish_at`` falls in, per period."""
    at, model = times.get("publish_at"), loaded.model
    if at is None or model is None or not periods:
        return []
    from scheduler.blackouts import covering

    held: dict[str, list[str]] = {}
    by_name = {}
    for ch in model.channels:
        b = covering(periods, at, ch, model.kind)
        if b is not None:
            held.setdefault(b.name, []).append(ch)
            by_name[b.name] = b
    return [Problem(loaded.display, loaded.line_of("publish_at"), "publish_at",
                    f"{at.astimezone(zone):%Y-%m-%d %H:%M} falls in the blackout '{name}' "
                    f"({by_name[name].span(zone)}) on {', '.join(chs)}; nothing is published "
                    "inside it: change publish_at, or queue it with --at or --next-slot",
                    severity="warning")
            for name, chs in held.items()]


def _past_warnings(loaded: LoadedPost, times: dict[str, datetime], now: datetime,
                   zone: Any) -> list[Problem]:
    at = times.get("publish_at")
    if at is None or at > now:
        return []
    return [Problem(loaded.display, loaded.line_of("publish_at"), "publish_at",
                    f"{at.astimezone(zone):%Y-%m-%d %H:%M %Z} is in the past; queue it "
                    "with --at or --next-slot, or change publish_at", severity="warning")]
