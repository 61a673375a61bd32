"""``postq demo``: the whole pipeline on the bundled examples, in a throw-away folder.

The examples are copied into a temporary project whose dates are moved relative to now
(closing dates and events a few weeks ahead), so the demo behaves the same on any day.
Each post is validated, rendered, snapshotted, approved by a second person, and published
a few seconds apart by the real publisher service into the outbox. A short captioned video
post, made on the spot (:mod:`scheduler.publish.demo_video`), goes to the outbox and the
Instagram rehearsal channel.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from scheduler.config import Settings, find_config, load_settings
from scheduler.errors import ConfigError, UsageError

TERMINAL = {"published", "failed", "needs_check", "cancelled", "missed"}


@dataclass
class DemoResult:
    root: Path
    outbox: Path
    rows: list[Any]
    seconds: float
    settings: Settings


def example_root() -> Path:
    """The folder holding the examples: the discovered project, else the source tree."""
    try:
        cfg = find_config()
        if (cfg.parent / "posts").is_dir():
            return cfg.parent
    except ConfigError:
        pass
    here = Path(__file__).resolve().parents[2]
    if (here / "postq.toml").is_file() and (here / "posts").is_dir():
        return here
    raise UsageError("cannot find the example posts: run postq demo inside a postq project "
                     "(a folder with postq.toml and posts/)")


def _shift_dates(text: str, today: Any) -> str:
    # Keep every example valid whatever day the demo runs on. Reminders (hours before an
    # event a week away) would not fall within the demo's minute, so they are left out.
    text = re.sub(r"(?m)^reminders: .*\n", "", text)
    text = re.sub(r"(?m)^closing_date: .*$", f"closing_date: {today + timedelta(days=30)}", text)
    text = re.sub(r"(?m)^event_at: .*$", f"event_at: {today + timedelta(days=7)} 18:00", text)
    return re.sub(r"(?m)^publish_at: .*\n", "", text)


def prepare(source: Path, target: Path, today: Any) -> Path:
    """Copy the example project into ``target`` with its data kept inside it."""
    for name in ("posts", "assets", "policy"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
    for post in (target / "posts").glob("*.md"):
        post.write_text(_shift_dates(post.read_text(encoding="utf-8"), today), encoding="utf-8")
    from scheduler.publish.demo_video import add_video_example

    add_video_example(target, str(today + timedelta(days=30)))
    cfg = (source / "postq.toml").read_text(encoding="utf-8")
    cfg = re.sub(r'(?m)^data_dir = .*$', 'data_dir = ".postq"', cfg)
    cfg = re.sub(r'(?m)^database = .*$', 'database = ""', cfg)
    (target / "postq.toml").write_text(cfg, encoding="utf-8")
    return target / "postq.toml"


def run_demo(
    *, spacing: float = 2.0, timeout: float = 55.0, keep: Path | None = None,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Queue every example a few seconds apart and publish them all with the service."""
    from scheduler.adapters import AdapterRegistry
    from scheduler.content.pipeline import build_snapshots
    from scheduler.publish.service import serve
    from scheduler.publish.worker import Publisher
    from scheduler.store import Store
    from scheduler.timeutil import Clock

    started = time.monotonic()
    source = example_root()
    root = keep or Path(tempfile.mkdtemp(prefix="postq-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    today = clock.now().astimezone(load_settings(source / "postq.toml").zone).date()
    settings = load_settings(prepare(source, root, today))
    say(f"Demo project: {root}")
    registry = AdapterRegistry.from_entry_points()
    snaps = build_snapshots(settings, [settings.posts_dir], registry=registry)
    videos = sum(1 for s in snaps for c in s.channels if c.video is not None)
    say(f"Validated and rendered {len(snaps)} posts "
        f"({sum(len(c.images) for s in snaps for c in s.channels)} images, {videos} videos).")
    author = Store(settings.database_url, settings.data_dir / "media", clock=clock,
                   user="demo-author", zone=settings.zone)
    reviewer = Store(settings.database_url, settings.data_dir / "media", clock=clock,
                     user="demo-reviewer", zone=settings.zone)
    first = clock.now() + timedelta(seconds=3)
    for i, snap in enumerate(snaps):
        author.add(snap, due_at=first + timedelta(seconds=spacing * i),
                   require_approval=settings.postq.require_approval)
        if settings.postq.require_approval:
            reviewer.approve(snap.post_id)
    total = len(author.list_deliveries())
    say(f"Queued {total} deliveries over {spacing * (len(snaps) - 1) + 3:.0f} s; approved by a "
        "second person; publishing...")
    stop = threading.Event()
    publisher = Publisher(settings, Store.open(settings), registry=registry, clock=clock,
                          worker="demo-publisher")
    thread = threading.Thread(target=serve, args=(publisher,),
                              kwargs={"stop": stop, "install_signals": False}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            rows = author.list_deliveries()
            if rows and all(r.state in TERMINAL for r in rows):
                break
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(timeout=30)
    rows = author.list_deliveries()
    author.close()
    reviewer.close()
    outbox = settings.resolve(str(settings.channels["outbox"].extras().get("path", ".postq/outbox")))
    return DemoResult(root, outbox, rows, time.monotonic() - started, settings)


def retract_and_archive(result: DemoResult) -> tuple[Any | None, Path]:
    """The end of the demo: take one published post down again, as one would after a
    mistake, then archive everything that went out. Returns the retracted delivery (or
    None when nothing was published) and the archive's index page."""
    from scheduler.publish.retract import retract_now
    from scheduler.records.archive import write_archive
    from scheduler.store import Store

    store = Store.open(result.settings)
    try:
        out = [r for r in result.rows if r.state == "published"]
        row = None
        if out:
            asked = store.request_retract(
                out[0].ref, "demo: a mistake found after publishing is taken down",
                cancel_open=False)
            retract_now(result.settings, store, [r.id for r in asked],
                        worker="demo-publisher")
            row = store.retraction_rows([asked[0].id])[0]
        archived = write_archive(store, result.root / "archive")
        return row, archived.index
    finally:
        store.close()
