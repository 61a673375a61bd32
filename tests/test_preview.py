"""``postq preview``: renders, the HTML page, and the page loaded in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tests.project import Project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Cards(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cards: list[tuple[str | None, str | None]] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "article":
            self.cards.append((a.get("data-post"), a.get("data-channel")))
        if tag == "img" and a.get("src"):
            self.images.append(a["src"] or "")


def _two_posts(project: Project) -> None:
    project.careers(**{"channels: [outbox]": "channels: [outbox, x, bluesky]"})
    project.careers("b.md", "io-two", **{"Join us.": "Rydym yn recriwtio — ŵ ŷ £ €.",
                                         "channels: [outbox]": "channels: [outbox, x, bluesky]"})


def test_preview_writes_renders_and_a_page(project: Project) -> None:
    _two_posts(project)
    out = project.root / "pv"
    result = project.run("preview", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "2 post(s), 6 card(s), 6 image(s) rendered.", f"Preview: {(out / 'index.html').resolve()}"]
    parser = Cards()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(parser.cards) == sorted(
        (p, c) for p in ("io", "io-two") for c in ("outbox", "x", "bluesky"))
    for src in parser.images:
        with Image.open(out / src) as im:
            assert im.format == "JPEG"
    with Image.open(out / "io@x-1.jpg") as im:
        assert im.size == (1200, 675)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Rydym yn recriwtio — ŵ ŷ £ €." in page
    assert not (project.root / ".postq" / "queue.sqlite3").exists()


def test_preview_of_one_channel_and_of_a_bad_post(project: Project) -> None:
    _two_posts(project)
    project.careers("bad.md", "bad", **{"closing_date:": "closing_dat:"})
    out = project.root / "pv"
    result = project.run("preview", "--out", str(out), "--channel", "x")
    assert result.exit_code == 1
    assert "posts/bad.md:7: closing_dat: unknown key; did you mean 'closing_date'?" in result.stderr
    parser = Cards()
    parser.feed((out / "index.html").read_text(encoding="utf-8"))
    assert sorted(parser.cards) == [("bad", None), ("io", "x"), ("io-two", "x")]


def test_unknown_channel_is_one_sentence(project: Project) -> None:
    project.careers()
    result = project.run("preview", "--channel", "nope")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {project.config}: channels.nope: no channel 'nope' is "
                             "configured\n")


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("POSTQ_REQUIRE_BROWSER") != "1",
                    reason="Debian chromium is not installed")
def test_page_loads_in_headless_chromium(project: Project, tmp_path: Path) -> None:
    assert CHROMIUM, "POSTQ_REQUIRE_BROWSER=1 but chromium is not installed"
    _two_posts(project)
    out = project.root / "pv"
    assert project.run("preview", "--out", str(out)).exit_code == 0
    profile = tmp_path / "chrome-profile"
    url = (out / "index.html").resolve().as_uri()
    dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
                         capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = Cards()
    parser.feed(dom.stdout)
    assert sorted(parser.cards) == sorted(
        (p, c) for p in ("io", "io-two") for c in ("outbox", "x", "bluesky"))
    shot = tmp_path / "preview.png"
    subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                    "--window-size=1280,1600", url], capture_output=True, timeout=90, check=True)
    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 50  # rendered cards, not a blank page


_AFTER_A_RENDER = """
import sys
from pathlib import Path
from PIL import Image
from scheduler.config import load_settings
from scheduler.content.preview import build_preview
from scheduler.media.resample import resize

# A process that has already resized (libvips's threads running) then previews with two
# workers: a forked worker would inherit locks those threads hold, and wait for ever.
for _ in range(3):
    resize(Image.new("RGB", (3000, 2000), (90, 60, 30)), (1080, 1350), (700, 0, 2300, 2000))
root = Path(sys.argv[1])
result = build_preview(load_settings(root / "postq.toml"), [], root / "pv", jobs=2)
print(len(result.snapshots))
"""


def test_preview_workers_start_safely_after_the_process_has_rendered(project: Project) -> None:
    import sys

    _two_posts(project)
    done = subprocess.run([sys.executable, "-c", _AFTER_A_RENDER, str(project.root)],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert (done.returncode, done.stdout.strip()) == (0, "2"), done.stderr
