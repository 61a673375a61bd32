"""Queue benchmark: reading a large queue, and queueing one heavy post.

    python bench/queue_list.py [--deliveries 10000] [--runs 5]

1. With N deliveries queued, ``postq queue list --limit 50`` and ``postq status`` should
   answer within 3x of ``postq --help`` (wall time of a fresh process, median of runs).
2. ``postq queue add`` of one post on three channels with a 12-megapixel photo, renders
   included, should take under 1.5 s (skipped when the content pipeline is missing).

Exit status 1 if a target is missed. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIG = """
[postq]
timezone = "Europe/London"
data_dir = ".postq"

[policy]
link_hosts = ["www.example.gov.uk"]

[slots]
mon-fri = ["09:00", "12:30", "17:00"]
min_gap = "2h"

[channels.outbox]
adapter = "outbox"
path = ".postq/outbox"

[channels.instagram-rehearsal]
adapter = "outbox"
profile = "instagram"
path = ".postq/outbox"

[channels.bluesky-rehearsal]
adapter = "outbox"
profile = "bluesky"
path = ".postq/outbox"
"""

POST = """\
---
kind: careers_promo
id: heavy
publish_at: {publish_at}
channels: [outbox, instagram-rehearsal, bluesky-rehearsal]
role: Intelligence Officer
closing_date: {closing}
apply_url: https://www.example.gov.uk/careers/io
images:
  - path: big.jpg
    alt: A large photograph of a desk with case notes.
hashtags: [careers]
---
Curious, careful and good with people? Join us.
"""


def timed(args: list[str], cwd: Path, runs: int) -> float:
    """Median wall time of ``python -m scheduler ARGS`` in a fresh process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "scheduler", *args], cwd=cwd,
                              capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"postq {' '.join(args)} failed: {done.stderr.strip()}")
    return statistics.median(times)


def seed(root: Path, n: int) -> None:
    from scheduler.config import load_settings
    from scheduler.store import Store
    from tests.test_store_support import image, snap

    store = Store.open(load_settings(root / "postq.toml"))
    now = datetime.now(UTC)
    img = image()
    per_post = 4
    items = []
    for i in range(n // per_post):
        due = now + timedelta(days=1, minutes=17 * i)
        items.append((snap(f"post-{i:05d}", ("outbox", "x", "bluesky", "mastodon"),
                           images=(img,)), due))
    for start in range(0, len(items), 500):
        store.add_many(items[start:start + 500], require_approval=True)
    store.pause("x", "benchmark")
    store.heartbeat("bench@host", {"pid": os.getpid()})
    print(f"seeded {store.counts()['awaiting_approval']} deliveries")


def bench_reading(root: Path, n: int, runs: int) -> bool:
    t0 = time.perf_counter()
    seed(root, n)
    print(f"  (seeding took {time.perf_counter() - t0:.1f} s)")
    cfg = ["--config", str(root / "postq.toml")]
    base = timed(["--help"], root, runs)
    listing = timed([*cfg, "queue", "list", "--limit", "50"], root, runs)
    status = timed([*cfg, "status"], root, runs)
    ok = True
    print(f"postq --help                 {base * 1000:7.0f} ms")
    for name, t in (("queue list --limit 50", listing), ("status", status)):
        ratio = t / base
        ok &= ratio <= 3
        print(f"postq {name:<22} {t * 1000:7.0f} ms  ratio {ratio:4.2f}  "
              f"{'ok' if ratio <= 3 else 'OVER 3x'}")
    return ok


def bench_add(root: Path, runs: int) -> bool:
    if importlib.util.find_spec("scheduler.content.pipeline") is None:
        print("queue add: skipped (scheduler.content.pipeline is not available)")
        return True
    from PIL import Image, ImageDraw

    assets = root / "assets"
    assets.mkdir(exist_ok=True)
    photo = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    d = ImageDraw.Draw(photo)
    for k in range(40):
        d.rectangle([k * 90, k * 60, k * 90 + 600, k * 60 + 400],
                    outline=(k * 6, 120, 255 - k * 6), width=9)
    photo.save(assets / "big.jpg", "JPEG", quality=90)
    print(f"photo: {photo.width}x{photo.height} "
          f"({photo.width * photo.height / 1e6:.0f} MP), "
          f"{(assets / 'big.jpg').stat().st_size / 1e6:.1f} MB")
    local = datetime.now(UTC) + timedelta(days=3)
    post = root / "posts" / "heavy.md"
    post.parent.mkdir(exist_ok=True)
    post.write_text(POST.format(publish_at=f"{local:%Y-%m-%d} 09:00",
                                closing=f"{local + timedelta(days=10):%Y-%m-%d}"),
                    encoding="utf-8")
    cfg = ["--config", str(root / "postq.toml")]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "scheduler", *cfg, "queue", "add",
                               str(post), "--replace"], cwd=root, capture_output=True,
                              text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(f"queue add failed: {done.stderr.strip()}")
            return False
    t = statistics.median(times)
    print(f"postq queue add (3 channels, 12 MP) {t * 1000:7.0f} ms  "
          f"{'ok' if t < 1.5 else 'OVER 1.5 s'}")
    return t < 1.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deliveries", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="postq-bench-") as tmp:
        root = Path(tmp)
        (root / "postq.toml").write_text(CONFIG, encoding="utf-8")
        ok = bench_reading(root, args.deliveries, args.runs)
        ok &= bench_add(root, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
