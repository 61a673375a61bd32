"""Benchmark: a 24-megapixel photo to a captioned 1080x1350 Instagram render.

Compared, in the same process, with the floor: the JPEG draft decode alone, at the very
scale the render asks the decoder for (what no render of this file can go under); target:
the render within 1.3x of it. Both are timed warm and in turn (after one untimed render,
render and floor alternate, each going first in every other pair), so neither gets the
other's warmed-up allocator or page cache. The Lanczos resize of the crop alone is timed
on the floor's decode, since it is most of what the render adds to the decode, and so is
Pillow's own Lanczos of the same crop, the resampler renders used before libvips's. The first
render of a fresh process (what one CLI command sees) is printed apart, as are whole
processes that render once, with their imports and peak memory (the child's VmHWM, its own
high-water mark; ``ru_maxrss`` would include the parent's pages at fork time).

Also compared with pyvips's ``thumbnail`` (warm, in the same process) and ``vipsthumbnail``
(libvips, Debian's ``libvips-tools``) when they are installed; vipsthumbnail decodes this
crop at full size, so alone it flatters us.

Run: ``python bench/render.py [--runs N] [--pairs N]``. Not a test; prints figures only.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZE = (6000, 4000)

_MAKE_SOURCE = """
import random, sys
from PIL import Image, ImageFilter
w, h = int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(24)
# Gradients for large smooth areas, blurred noise for texture, fine noise for grain:
# roughly what a phone photo costs a JPEG codec (about 10 MB at quality 92).
texture = Image.frombytes("RGB", (w // 8, h // 8), rng.randbytes(w // 8 * h // 8 * 3))
texture = texture.filter(ImageFilter.GaussianBlur(2)).resize((w, h), Image.Resampling.BICUBIC)
grad = Image.merge("RGB", (Image.linear_gradient("L").resize((w, h)),
                           Image.radial_gradient("L").resize((w, h)),
                           Image.linear_gradient("L").rotate(90).resize((w, h))))
img = Image.blend(grad, texture, 0.45)
grain = Image.frombytes("RGB", (w, h), rng.randbytes(w * h * 3))
img = Image.blend(img, grain, 0.1)
img.save(sys.argv[1], "JPEG", quality=92)
"""

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from scheduler.media import BrandStyle, Overlay, render_image
from scheduler.media.decode import probe_image
from scheduler.media.frame import apply_frame, plan_frame
from scheduler.platforms import PROFILES
from PIL import Image
t1 = time.perf_counter()
src, pairs = Path(sys.argv[1]), int(sys.argv[3])
profile = PROFILES["instagram"]
overlay = Overlay("We're hiring: Intelligence Officers", "Apply by 14 December")


def render():
    return render_image(src, profile, overlay=overlay, brand=BrandStyle())


info = probe_image(src)
plan = plan_frame(info.width, info.height, profile)


def floor():
    # The draft decode alone, at the scale the render's plan asks the decoder for.
    # Pillow closes the file once a single-frame image is loaded; the pixels stay.
    img = Image.open(src)
    img.draft("RGB", (int(img.size[0] * plan.scale) + 1, int(img.size[1] * plan.scale) + 1))
    img.load()
    return img


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


first_s, r = timed(render)  # the first call in a fresh process, as a CLI command sees it
# The render's own high-water mark, before the floor's decodes below add theirs.
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
peak_mib = int(status["VmHWM"].split()[0]) / 1024
renders, floors, resizes, pillow_resizes, drafted = [], [], [], [], None
for i in range(pairs):  # then render and floor alternately, each going first in turn
    for job in ((render, floor) if i % 2 else (floor, render)):
        seconds, out = timed(job)
        (renders if job is render else floors).append(seconds)
        if job is floor:
            resizes.append(timed(lambda: apply_frame(out, plan, (info.width, info.height)))[0])
            k = out.size[0] / info.width
            box = tuple(edge * k for edge in plan.box)
            pillow_resizes.append(timed(lambda: out.resize(plan.size, Image.Resampling.LANCZOS,
                                                           box=box))[0])
            drafted = out.size
vips_s = []
try:
    if not pairs:
        raise ImportError  # a process that stands for one CLI command renders once only
    import pyvips
    def vips():
        pyvips.Image.thumbnail(str(src), 1080, height=1350, crop="centre").write_to_buffer(
            ".jpg[Q=85]")
    vips()  # the library's own start-up (thread pool, loaders) is not the thumbnail
    vips_s = [timed(vips)[0] for _ in range(pairs)]
except ImportError:
    pass
Path(sys.argv[2]).write_bytes(r.data)
print(json.dumps({"import_s": t1 - t0, "first_s": first_s, "render_s": renders,
                  "floor_s": floors, "resize_s": resizes,
                  "pillow_resize_s": pillow_resizes, "drafted": drafted,
                  "pyvips_s": vips_s, "size": [r.width, r.height], "bytes": len(r.data),
                  "peak_mib": peak_mib}))
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, proc.stdout


def spread(values: list[float]) -> str:
    """``median (min–max)`` in milliseconds."""
    return (f"{statistics.median(values) * 1000:7.1f} ms ({min(values) * 1000:.1f}–"
            f"{max(values) * 1000:.1f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes")
    parser.add_argument("--pairs", type=int, default=4,
                        help="render/floor pairs timed in each process")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="postq-bench-"))
    try:
        src = work / "photo-24mp.jpg"
        subprocess.run([sys.executable, "-c", _MAKE_SOURCE, str(src), *map(str, SIZE)],
                       check=True)
        print(f"source: {SIZE[0]}x{SIZE[1]} JPEG, {src.stat().st_size / 1e6:.1f} MB")

        vips = shutil.which("vipsthumbnail")
        if vips is None:
            print("vipsthumbnail not found (apt-get install libvips-tools): no comparison")
        keys = ("import_s", "first_s", "render_s", "floor_s", "resize_s", "pillow_resize_s",
                "pyvips_s")
        got: dict[str, list[float]] = {key: [] for key in keys}
        render_wall, peaks, vips_wall = [], [], []
        for _ in range(args.runs):
            # A process that renders once (as one CLI command), then one that times pairs.
            wall, out = _timed([sys.executable, "-c", _CHILD, str(src), str(work / "out.jpg"),
                                "0"])
            render_wall.append(wall)
            peaks.append(json.loads(out)["peak_mib"])
            _, out = _timed([sys.executable, "-c", _CHILD, str(src), str(work / "out.jpg"),
                             str(args.pairs)])
            stats = json.loads(out)
            for key in keys:
                value = stats[key]
                got[key].extend(value if isinstance(value, list) else [value])
            if vips:
                wall, _ = _timed([vips, str(src), "--size", "1080x1350", "--smartcrop",
                                  "centre", "-o", f"{work / 'vips.jpg'}[Q=85]"])
                vips_wall.append(wall)

        med = statistics.median
        renders, floors = got["render_s"], got["floor_s"]
        print(f"postq render: {stats['size'][0]}x{stats['size'][1]}, {stats['bytes']:,} bytes; "
              f"{args.runs} processes x {args.pairs} render/floor pairs, median (min–max)")
        print("in process (after one untimed render; render and floor alternate, each first "
              "in turn):")
        print(f"  render call              {spread(renders)}")
        print(f"  floor: JPEG draft decode {spread(floors)} (decoded at "
              f"{stats['drafted'][0]}x{stats['drafted'][1]}, the render's draft scale)")
        ratio = med(renders) / med(floors)
        print(f"  ratio render / floor     {ratio:.2f}   target <= 1.3: "
              f"{'ok' if ratio <= 1.3 else 'MISSED'}")
        print(f"  of which Lanczos resize  {spread(got['resize_s'])} (the crop of the floor's "
              f"decode to {stats['size'][0]}x{stats['size'][1]}, alone: libvips)")
        print(f"  Pillow's Lanczos instead {spread(got['pillow_resize_s'])} (the same crop; "
              "for comparison)")
        if got["pyvips_s"]:
            print(f"  pyvips thumbnail         {spread(got['pyvips_s'])}   ratio render / pyvips "
                  f"{med(renders) / med(got['pyvips_s']):.2f}")
        else:
            print("  pyvips: not installed (pip install pyvips pyvips-binary): no comparison")
        print(f"  first render of a process{spread(got['first_s'])}   ratio / floor "
              f"{med(got['first_s']) / med(floors):.2f} (what one CLI command sees)")
        print("whole process (Python start-up and imports included):")
        print(f"  imports (postq media)    {spread(got['import_s'])}")
        print(f"  postq render             {spread(render_wall)} (a process that renders once)")
        print(f"  peak memory              {max(peaks):7.1f} MiB (VmHWM after the first render; "
              "target <= 150)")
        if vips_wall:
            print(f"  vipsthumbnail            {spread(vips_wall)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
