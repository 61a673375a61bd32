"""The outbox adapter: folder format, atomic writes, never overwriting, check()."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.adapters import outbox as outbox_module
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.errors import TransientPublishError
from scheduler.timeutil import FixedClock

T0 = datetime(2026, 12, 1, 9, 0, 5, tzinfo=UTC)


def outbox(tmp_path: Path, path: str | None = None, clock=None) -> OutboxAdapter:
    raw = {"adapter": "outbox"} if path is None else {"adapter": "outbox", "path": path}
    settings = OutboxAdapter.parse_settings("outbox", raw)
    return OutboxAdapter("outbox", settings, clock=clock or FixedClock(T0),
                         data_dir=tmp_path / ".postq")


def test_folder_format(tmp_path, make_post, make_image):
    images = (make_image(alt="First picture."), make_image(80, 60, alt="Second picture."))
    post = make_post("Caption with café and 🚀\nsecond line", images, delivery_id="d-1",
                     channel="outbox")
    published = outbox(tmp_path).publish(post)

    root = tmp_path / ".postq" / "outbox"
    folder = root / "20261201T090005Z_io-winter-2026@outbox"
    assert [p.name for p in root.iterdir()] == [folder.name]
    assert published.remote_id == folder.name
    assert published.url == folder.resolve().as_uri()
    assert sorted(p.name for p in folder.iterdir()) == ["1.jpg", "2.jpg", "caption.txt",
                                                       "meta.json"]
    assert (folder / "caption.txt").read_text(encoding="utf-8") == post.caption
    assert (folder / "1.jpg").read_bytes() == images[0].read_bytes()
    assert (folder / "2.jpg").read_bytes() == images[1].read_bytes()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["post_id"] == "io-winter-2026"
    assert meta["channel"] == "outbox"
    assert meta["delivery_id"] == "d-1"
    assert meta["content_hash"] == post.content_hash
    assert meta["due_at"] == "2026-12-01T09:00:00+00:00"
    assert meta["published_at"] == "2026-12-01T09:00:05+00:00"
    for key in ("due_at", "published_at"):
        assert datetime.fromisoformat(meta[key]).utcoffset() is not None
    assert [i["alt"] for i in meta["images"]] == ["First picture.", "Second picture."]


def test_paths_absolute_relative_and_default(tmp_path, make_post):
    post = make_post(delivery_id="d-2")
    absolute = tmp_path / "elsewhere"
    assert outbox(tmp_path, str(absolute)).root == absolute
    assert outbox(tmp_path, "out/box").root == tmp_path / "out" / "box"
    assert outbox(tmp_path).root == tmp_path / ".postq" / "outbox"
    outbox(tmp_path, str(absolute)).publish(post)
    assert len(list(absolute.iterdir())) == 1


def test_never_overwrites_and_check_finds_the_first(tmp_path, make_post):
    post = make_post(delivery_id="d-3")
    adapter = outbox(tmp_path)
    assert adapter.check(post) is None
    first = adapter.publish(post)
    second = adapter.publish(post)  # same second, same post: a second, visible folder
    assert first.remote_id != second.remote_id
    assert second.remote_id == first.remote_id + "~2"
    assert len(list(adapter.root.iterdir())) == 2
    found = adapter.check(post)
    assert found == first
    assert adapter.check(make_post(delivery_id="other")) is None


def test_existing_folder_is_not_replaced(tmp_path, make_post):
    adapter = outbox(tmp_path)
    post = make_post(delivery_id="d-4")
    squatter = adapter.root / "20261201T090005Z_io-winter-2026@test"
    squatter.mkdir(parents=True)
    (squatter / "keep.txt").write_text("mine")
    published = adapter.publish(post)
    assert published.remote_id.endswith("~2")
    assert (squatter / "keep.txt").read_text() == "mine"


def test_no_partial_folder_visible_and_no_temp_left(tmp_path, make_post, make_image):
    """Watch the outbox while big publications are written: only whole folders appear."""
    images = tuple(make_image(600, 600, alt=f"Image {n}.") for n in range(6))
    adapter = outbox(tmp_path, clock=FixedClock(T0))
    adapter.root.mkdir(parents=True)
    seen_partial: list[str] = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            for entry in os.scandir(adapter.root):
                if entry.name.startswith("."):
                    continue
                names = set(os.listdir(entry.path))
                if names != {"caption.txt", "meta.json", *(f"{n}.jpg" for n in range(1, 7))}:
                    seen_partial.append(f"{entry.name}: {sorted(names)}")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for n in range(20):
            adapter.clock.advance(timedelta(seconds=1))
            adapter.publish(make_post("caption", images, delivery_id=f"d-{n}"))
    finally:
        stop.set()
        watcher.join()
    assert seen_partial == []
    entries = os.listdir(adapter.root)
    assert len(entries) == 20
    assert not [e for e in entries if e.startswith(".")]


def test_failed_write_leaves_nothing(tmp_path, make_post, make_image):
    image = make_image()
    post = make_post("caption", (image,), delivery_id="d-5")
    image.path.unlink()  # the image vanishes mid-publication
    adapter = outbox(tmp_path)
    with pytest.raises(TransientPublishError):
        adapter.publish(post)
    assert os.listdir(adapter.root) == []


def test_plan_describes_the_folder(tmp_path, make_post, make_image):
    post = make_post("caption", (make_image(),), delivery_id="d-6")
    [planned] = outbox(tmp_path).plan(post)
    assert planned.method == "WRITE"
    expected = tmp_path / ".postq" / "outbox" / "20261201T090005Z_io-winter-2026@test"
    assert planned.url == expected.resolve().as_uri()
    assert planned.body["1.jpg"].startswith("<")
    assert not (tmp_path / ".postq" / "outbox").exists()  # a plan writes nothing


def _leftover(root: Path, name: str, age_s: float) -> Path:
    """A temporary folder as a crash mid-write leaves it, last changed ``age_s`` ago."""
    folder = root / f".postq-tmp-{name}"
    folder.mkdir(parents=True)
    (folder / "caption.txt").write_text("half", encoding="utf-8")
    old = time.time() - age_s
    os.utime(folder, (old, old))
    return folder


def test_stale_temp_folders_go_at_first_publish_then_on_a_timer(tmp_path, make_post):
    adapter = outbox(tmp_path)
    root = adapter.root
    crashed = _leftover(root, "crashed", 2 * 3600)
    writing = _leftover(root, "writing", 60)  # another publisher's write in progress
    adapter.publish(make_post(delivery_id="d-1"))
    assert not crashed.exists() and writing.exists()
    # Left after the first sweep: the next publishes do not list the folder again ...
    later = _leftover(root, "later", 2 * 3600)
    adapter.publish(make_post(delivery_id="d-2"))
    assert later.exists()
    # ... until the timer comes round.
    assert adapter.swept_at is not None
    adapter.swept_at -= outbox_module.SWEEP_EVERY_SECONDS
    adapter.publish(make_post(delivery_id="d-3"))
    assert not later.exists() and writing.exists()
    assert len([p for p in root.iterdir() if not p.name.startswith(".")]) == 3
