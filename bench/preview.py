"""``postq preview`` of 50 posts: does it use both cores?

    python bench/preview.py [--posts 50]

Runs the same preview with one worker and with one per core, in the same run, and prints
the wall-time ratio and the CPU time per wall second of the parallel run (about 2.0 when
both cores are busy).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from scheduler.config import load_settings
from scheduler.content.preview import build_preview

CONFIG = """
[postq]
timezone = "Europe/London"
[policy]
link_hosts = ["www.example.gov.uk"]
[channels.outbox]
adapter = "outbox"
[channels.instagram]
adapter = "instagram"
[channels.bluesky]
adapter = "bluesky"
"""

POST = """---
kind: careers_promo
id: post-{n}
publish_at: 2026-12-01 09:00
channels: [outbox, instagram, bluesky]
role: Officer {n}
closing_date: 2026-12-14
apply_url: https://www.example.gov.uk/careers/{n}
images:
  - path: photo-{m}.jpg
    alt: A desk with case notes.
---
Join us, number {n}.
"""


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "posts").mkdir()
        (root / "assets").mkdir()
        (root / "postq.toml").write_text(CONFIG, encoding="utf-8")
        for m in range(10):
            img = Image.new("RGB", (3000, 2000), (30 + m * 20, 60, 90))
            ImageDraw.Draw(img).ellipse([500, 400, 2500, 1600], fill=(200, 180, 40 + m * 10))
            img.save(root / "assets" / f"photo-{m}.jpg", quality=90)
        for n in range(args.posts):
            (root / "posts" / f"p{n:03d}.md").write_text(POST.format(n=n, m=n % 10), encoding="utf-8")
        settings = load_settings(root / "postq.toml")
        results = {}
        for jobs in (1, os.cpu_count() or 2):
            c0, t0 = cpu(), time.perf_counter()
            build_preview(settings, [], root / f"out-{jobs}", jobs=jobs)
            results[jobs] = (time.perf_counter() - t0, cpu() - c0)
        (w1, _c1), (wn, cn) = results[1], results[max(results)]
        print(f"preview of {args.posts} posts x 3 channels: 1 worker {w1:.2f} s; "
              f"{max(results)} workers {wn:.2f} s (speed-up {w1 / wn:.2f}x)")
        print(f"CPU seconds per wall second with {max(results)} workers: {cn / wn:.2f} "
              "(target: well above 1, i.e. both cores busy)")


if __name__ == "__main__":
    main()
