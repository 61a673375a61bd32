"""A real postq project in a temporary folder: config, assets, posts and a CLI runner."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from PIL import Image, ImageDraw

BASE_CONFIG = """
[postq]
timezone = "Europe/London"
data_dir = ".postq"

[policy]
link_hosts = ["www.example.gov.uk", "example.gov.uk"]
deny_terms_file = "policy/deny-terms.txt"

[slots]
mon-fri = ["09:00", "12:30", "17:00"]
min_gap = "2h"

[channels.outbox]
adapter = "outbox"
path = ".postq/outbox"

[channels.instagram]
adapter = "instagram"

[channels.x]
adapter = "x"

[channels.bluesky]
adapter = "bluesky"

[channels.mastodon]
adapter = "mastodon"

[channels.threads]
adapter = "threads"
"""

CAREERS = """\
---
kind: careers_promo
id: {id}
publish_at: 2026-12-01 09:00
channels: [outbox]
role: Intelligence Officer
closing_date: 2026-12-14
apply_url: https://www.example.gov.uk/careers/io
images:
  - path: photo.jpg
    alt: A desk with case notes.
hashtags: [careers]
---
Join us.
"""


def make_photo(path: Path, size: tuple[int, int] = (1600, 1200), color: str = "#336699") -> Path:
    """A small synthetic photograph (shapes, no people)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, color)
    d = ImageDraw.Draw(img)
    d.rectangle([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill="#ffcc00")
    img.save(path, "JPEG", quality=85)
    return path


@dataclass
class Project:
    root: Path
    runner: CliRunner

    @property
    def config(self) -> Path:
        return self.root / "postq.toml"

    def write_config(self, extra: str = "", base: str = BASE_CONFIG) -> None:
        self.config.write_text(textwrap.dedent(base) + "\n" + textwrap.dedent(extra),
                               encoding="utf-8")

    def post(self, name: str, text: str) -> Path:
        p = self.root / "posts" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    def careers(self, name: str = "io.md", post_id: str = "io", **replace: str) -> Path:
        text = CAREERS.format(id=post_id)
        for old, new in replace.items():
            text = text.replace(old, new)
        return self.post(name, text)

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        cwd = os.getcwd()
        os.chdir(self.root)
        try:
            return self.runner.invoke(
                __import__("scheduler.cli", fromlist=["cli"]).cli,
                ["--config", str(self.config), *args],
                env=env,
                catch_exceptions=False,
            )
        finally:
            os.chdir(cwd)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "proj"
    (root / "posts").mkdir(parents=True)
    (root / "policy").mkdir()
    (root / "policy" / "deny-terms.txt").write_text("# comment\nCodeword\nTOP SECRET\n",
                                                    encoding="utf-8")
    make_photo(root / "assets" / "photo.jpg")
    proj = Project(root, CliRunner())
    proj.write_config()
    return proj
