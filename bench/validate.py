"""Validation speed and start-up time; prints ratios against references from the same run.

    python bench/validate.py [--big 10000]

- 1,000 post files validated (target: under 1 s), and 10,000 (target: linear growth,
  i.e. the per-file time stays within 1.5x of the 1,000-file run);
- ``postq --help`` wall time against ``python -c pass`` (target: within 5x).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from scheduler.adapters import AdapterRegistry
from scheduler.config import load_settings
from scheduler.content.validate import collect_paths, validate_files

CONFIG = """
[postq]
timezone = "Europe/London"
[policy]
link_hosts = ["www.example.gov.uk"]
deny_terms = ["codeword", "top secret", "operation nightjar"]
[channels.outbox]
adapter = "outbox"
[channels.x]
adapter = "x"
[channels.bluesky]
adapter = "bluesky"
[channels.instagram]
adapter = "instagram"
"""

POST = """---
kind: careers_promo
id: post-{n}
publish_at: 2026-12-01 09:00
channels: [outbox, x, bluesky, instagram]
role: Intelligence Officer
closing_date: 2026-12-14
apply_url: https://www.example.gov.uk/careers/io-{n}
images:
  - path: photo.jpg
    alt: A desk with case notes and a mug of tea.
hashtags: [careers, jobs]
---
Curious, careful and good with people? Our officers turn information into decisions.
Post number {n} — ŵ ŷ £ € “quotes”.
"""


def make_project(root: Path, count: int) -> Path:
    (root / "posts").mkdir(parents=True)
    (root / "assets").mkdir()
    Image.new("RGB", (1600, 1200), "#336699").save(root / "assets" / "photo.jpg")
    (root / "postq.toml").write_text(CONFIG, encoding="utf-8")
    for n in range(count):
        (root / "posts" / f"post-{n:05d}.md").write_text(POST.format(n=n), encoding="utf-8")
    return root / "postq.toml"


def time_validate(count: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_project(Path(tmp), count)
        settings = load_settings(cfg)
        registry = AdapterRegistry.from_entry_points()
        files = collect_paths([], settings)
        started = time.perf_counter()
        report = validate_files(settings, files, registry=registry)
        elapsed = time.perf_counter() - started
        assert report.ok, report.problems[:3]
        return elapsed


def wall(cmd: list[str], runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    small = time_validate(1000)
    big = time_validate(args.big)
    growth = (big / args.big) / (small / 1000)
    print(f"validate 1,000 files: {small:.3f} s (target < 1 s)")
    print(f"validate {args.big:,} files: {big:.3f} s; per-file ratio to the 1,000 run: "
          f"{growth:.2f}x (target <= 1.5x: linear)")
    base = wall([sys.executable, "-c", "pass"])
    helps = wall([sys.executable, "-m", "scheduler", "--help"])
    print(f"python -c pass: {base * 1000:.1f} ms; postq --help: {helps * 1000:.1f} ms; "
          f"ratio {helps / base:.2f}x (target <= 5x)")


if __name__ == "__main__":
    main()
