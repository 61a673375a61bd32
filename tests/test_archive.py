"""``postq archive``: BagIt bags that validate, added incrementally, with an index page a
records officer can open offline (loaded in headless Chromium)."""

from __future__ import annotations

import hashlib
import json
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import bagit
import pytest

from tests.test_preview import CHROMIUM, FLAGS
from tests.test_queue_cli_add import careers
from tests.test_retract import _no_approval, _publish


class Articles(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.deliveries: list[str | None] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article":
            self.deliveries.append(a.get("data-delivery"))
        if tag == "img":
            self.images.append(a.get("src") or "")


def _archive(project: object, out: Path, *extra: str) -> object:
    return project.run("archive", "--out", str(out), *extra)  # type: ignore[attr-defined]


def test_archive_writes_valid_bags_incrementally(project: object, tmp_path: Path) -> None:
    run = project.run  # type: ignore[attr-defined]
    _no_approval(project)
    _publish(project, careers(project, post_id="a"), careers(project, post_id="b"))
    out = tmp_path / "records"
    r = _archive(project, out)
    assert r.exit_code == 0, r.stderr
    assert r.stdout == (f"archived 2 new deliveries to {out} (0 already there)\n"
                        f"Archive: {(out / 'index.html').resolve()}\n")
    bags = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert bags == ["a@outbox-r1--published", "b@outbox-r1--published"]
    shown = json.loads(run("queue", "show", "a", "--json").stdout)
    sent = shown["deliveries"][0]
    for name in bags:
        bag = bagit.Bag(str(out / name))
        bag.validate()  # raises on any missing or changed file
        assert sorted(bag.payload_files()) == [
            "data/caption.txt", "data/media/1.jpg", "data/record.json"]
    bag = out / "a@outbox-r1--published"
    assert (bag / "data" / "caption.txt").read_text() == sent["caption"]
    image = bag / "data" / "media" / "1.jpg"
    assert hashlib.sha256(image.read_bytes()).hexdigest() == sent["media"][0]["sha256"]
    record = json.loads((bag / "data" / "record.json").read_text())
    assert record["media"][0]["alt"] == "A desk with case notes."
    assert record["platform_answer"]["url"] == sent["remote_url"]
    assert record["post"]["queued_by"] == shown["queued_by"]
    assert [e["action"] for e in record["events"]] == [
        e["action"] for e in shown["events"]]
    caption_sum = hashlib.sha256(sent["caption"].encode()).hexdigest()
    assert f"{caption_sum}  data/caption.txt" in (bag / "manifest-sha256.txt").read_text()

    # Twice into the same folder: nothing new. A retraction since: one new bag beside.
    again = _archive(project, out)
    assert again.stdout.splitlines()[0] == (
        f"archived 0 new deliveries to {out} (2 already there)")
    assert run("retract", "a", "--reason", "wrong date").exit_code == 0
    third = _archive(project, out)
    assert third.stdout.splitlines()[0] == (
        f"archived 1 new deliveries to {out} (1 already there)")
    retracted = bagit.Bag(str(out / "a@outbox-r1--retracted"))
    retracted.validate()
    events = json.loads((out / "a@outbox-r1--retracted" / "data" / "record.json")
                        .read_text())["events"]
    assert events[-1]["action"] == "retracted"
    # Tampering is caught by the checksums.
    (out / "b@outbox-r1--published" / "data" / "caption.txt").write_text("changed")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(out / "b@outbox-r1--published")).validate()

    page = Articles()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(page.deliveries) == ["a@outbox#r1", "a@outbox#r1", "b@outbox#r1"]
    for src in page.images:
        assert (out / src).is_file()


def test_archive_dates_are_checked(project: object, tmp_path: Path) -> None:
    r = _archive(project, tmp_path / "records", "--since", "last week")
    assert (r.exit_code, r.stderr) == (
        1, "error: --since: 'last week' is not a date; write YYYY-MM-DD\n")
    r = _archive(project, tmp_path / "records", "--since", "2020-01-01", "--until",
                 "2020-01-31")
    assert r.stdout.splitlines()[0].startswith("archived 0 new deliveries")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed")
def test_archive_index_loads_in_headless_chromium(project: object, tmp_path: Path) -> None:
    _no_approval(project)
    _publish(project, careers(project, post_id="a"))
    out = tmp_path / "records"
    assert _archive(project, out).exit_code == 0
    url = (out / "index.html").resolve().as_uri()
    profile = tmp_path / "chrome-profile"
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-delivery="a@outbox#r1"' in dom.stdout
    assert "<h1>postq records archive</h1>" in dom.stdout
    assert "A desk with case notes." in dom.stdout
