"""Queue benchmark: reading a large queue, and queueing one heavy post.

    python bench/queue_list.py [--sizes 10000,100000,1000000] [--runs 5]

1. For each size, a queue of that many deliveries (and as many events) is made with bulk
   SQL (:mod:`tests.bulk_queue`: queueing a million through the store would take hours),
   then, each in fresh processes, median (min–max) of ``--runs``:
   ``queue list --limit 50``, ``status`` and ``calendar`` within 3x of ``postq --help``;
   plain ``queue list`` and ``log --csv`` (every row, output thrown away) within 3x of
   the ``sqlite3`` command line running the same query at a million rows (smaller sizes
   print the ratio only), with peak memory (VmHWM) under 100 MiB at every size. The
   same reads are also timed in process (store calls alone, no start-up),
   printed apart.
2. ``postq queue add`` of one post on three channels with a 12-megapixel photo, renders
   included, should take under 1.5 s (skipped when the content pipeline is missing).

Exit status 1 if a target is missed. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bulk_queue import measured  # noqa: E402 - needs the repository on sys.path

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


def spread(values: list[float]) -> str:
    """``median (min–max)`` in milliseconds."""
    return (f"{statistics.median(values) * 1000:8.0f} ms ({min(values) * 1000:.0f}–"
            f"{max(values) * 1000:.0f})")


def whole(root: Path, args: list[str], runs: int) -> tuple[list[float], int]:
    """Wall times of ``postq ARGS`` in fresh processes, and the largest peak (KiB)."""
    times, peaks = [], []
    for _ in range(runs):
        took, kib, _err = measured(root, args)
        times.append(took)
        peaks.append(kib)
    return times, max(peaks)


def cli(args: list[str], runs: int) -> list[float]:
    """Wall times of a command (the ``sqlite3`` shell), output thrown away."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - began)
    return times


def in_process(db: Path, runs: int) -> dict[str, list[float]]:
    """The same reads as store calls in this process: the query and its rows only."""
    from scheduler.store import Store
    from scheduler.store.calendar import window
    from scheduler.store.fastread import SqliteReader

    reader = SqliteReader(db)
    store = Store(f"sqlite:///{db}", db.parent / "media")
    today = datetime.now(UTC).date()
    _monday, start, end = window(today, 4, UTC)
    calls = {
        "queue list --limit 50": lambda: list(reader.stream_listing(limit=50)),
        "status (counts, next due)": lambda: (reader.counts(), reader.next_due(5)),
        "calendar (4 weeks)": lambda: (sum(1 for _ in reader.grid_posts(start, end)),
                                        store.milestones(start, end)),
        "queue list (all rows)": lambda: sum(1 for _ in reader.stream_listing()),
        "log --csv (all events)": lambda: sum(map(len, reader.event_csv())),
    }
    out: dict[str, list[float]] = {}
    for name, call in calls.items():
        out[name] = []
        for _ in range(runs):
            began = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - began)
    store.close()
    return out


def window_rows(db: Path) -> int:
    """How many deliveries ``postq calendar`` (four weeks from this Monday) draws."""
    from zoneinfo import ZoneInfo

    from scheduler.store.calendar import window
    from scheduler.store.fastread import SqliteReader

    zone = ZoneInfo("Europe/London")
    _monday, start, end = window(datetime.now(zone).date(), 4, zone)
    return sum(1 for _ in SqliteReader(db).grid(start, end))


def bench_reading(root: Path, n: int, runs: int, ahead: float = 0.05) -> bool:
    from tests.bulk_queue import fill, template

    root.mkdir(parents=True)
    (root / "postq.toml").write_text(CONFIG, encoding="utf-8")
    db = root / ".postq" / "queue.sqlite3"
    t0 = time.perf_counter()
    template(root / ".postq", f"sqlite:///{db}")
    fill(db, n, ahead=ahead)
    print(f"\n{n:,} deliveries and events (made in {time.perf_counter() - t0:.1f} s, "
          f"{db.stat().st_size / 1e6:.0f} MB); {runs} runs, median (min–max)")
    cfg = ["--config", str(root / "postq.toml")]
    full_runs = runs if n < 1_000_000 else min(runs, 3)
    base, _ = whole(root, ["--help"], runs)
    ok = True
    print("  whole process, against postq --help:")
    print(f"    postq --help             {spread(base)}")
    for name, args in (("queue list --limit 50", ["queue", "list", "--limit", "50"]),
                       ("status", ["status"]), ("calendar", ["calendar"])):
        t, _peak = whole(root, [*cfg, *args], runs)
        ratio = statistics.median(t) / statistics.median(base)
        ok &= ratio <= 3
        print(f"    {name:<24} {spread(t)}  ratio {ratio:4.2f}  "
              f"{'ok' if ratio <= 3 else 'OVER 3x'}")
    print(f"    (the calendar's four weeks hold {window_rows(db):,} deliveries: its cost "
          "follows them, not the history)")
    print("  whole process, every row, against the sqlite3 command line:")
    from scheduler.store.fastread import _SELECT

    queries = {
        "queue list": (["queue", "list"], f"{_SELECT} WHERE (d.state IN ('published', "
                       "'retracting', 'retracted', 'retract_failed', 'retract_manual') OR "
                       "EXISTS (SELECT 1 FROM posts p WHERE p.id = d.post_row AND "
                       "p.current = 1)) ORDER BY d.due_at, d.post_id, d.channel"),
        "log --csv": (["log", "--csv"], "SELECT id, at, who, action, post_id, delivery_id, "
                      "channel, state_before, state_after, reason FROM events ORDER BY id"),
    }
    for name, (args, sql) in queries.items():
        t, peak = whole(root, [*cfg, *args], full_runs)
        ref = cli(["sqlite3", "-csv", "-header", str(db), sql], full_runs)
        ratio = statistics.median(t) / statistics.median(ref)
        mib = peak / 1024
        # The 3x target is set at a million rows: below that Python's start (about
        # 50 ms) alone outweighs what the sqlite3 shell takes, so the ratio is printed
        # for information; the memory target holds at every size.
        good = (ratio <= 3 or n < 1_000_000) and mib < 100
        ok &= good
        verdict = ("ok" if ratio <= 3 and mib < 100 else "MISSED (3x, 100 MiB)" if not good
                   else "(3x target at 1M rows)")
        print(f"    postq {name:<18} {spread(t)}  peak {mib:5.1f} MiB")
        print(f"    sqlite3, same query      {spread(ref)}  ratio {ratio:4.2f}  {verdict}")
    print("  in process (store calls alone):")
    for name, t in in_process(db, runs).items():
        print(f"    {name:<26} {spread(t)}")
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
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="comma-separated queue sizes (deliveries)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--skip-add", action="store_true", help="only the reading part")
    ap.add_argument("--ahead", type=float, default=0.05,
                    help="share of the deliveries scheduled ahead (the rest is history); "
                         "the calendar's window fills from it")
    args = ap.parse_args()
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 command line is needed (apt-get install sqlite3)")
    ok = True
    with tempfile.TemporaryDirectory(prefix="postq-bench-") as tmp:
        root = Path(tmp)
        for n in (int(x) for x in args.sizes.split(",")):
            ok &= bench_reading(root / f"q{n}", n, args.runs, args.ahead)
        if not args.skip_add:
            add_root = root / "add"
            add_root.mkdir()
            (add_root / "postq.toml").write_text(CONFIG, encoding="utf-8")
            ok &= bench_add(add_root, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
