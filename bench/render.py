"""Benchmark: a 24-megapixel photo to a captioned 1080x1350 Instagram render.

Compared, in the same run, with the floor: the JPEG draft decode alone, at the very
scale the render asks the decoder for (what no render of this file can go under), timed
in the same process as the render; target: the render within 1.3x of it. Also with
``vipsthumbnail`` (libvips, Debian's ``libvips-tools``) and pyvips's ``thumbnail`` when
they are installed; vipsthumbnail decodes this crop at full size, so alone it flatters
us. Whole-process and in-process figures are printed apart: each side runs several
times in fresh processes, with the median and the min–max of the runs. The render's peak
memory is the child's VmHWM (its own high-water mark; ``ru_maxrss`` would include the
parent's pages at fork time).

Run: ``python bench/render.py [--runs N]``. Not a test; prints figures only.
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
from scheduler.platforms import PROFILES
t1 = time.perf_counter()
r = render_image(Path(sys.argv[1]), PROFILES["instagram"],
                 overlay=Overlay("We're hiring: Intelligence Officers", "Apply by 14 December"),
                 brand=BrandStyle())
t2 = time.perf_counter()
# The floor: the draft decode alone, at the scale the render's plan asks for.
from PIL import Image
from scheduler.media.decode import probe_image
from scheduler.media.frame import plan_frame
info = probe_image(Path(sys.argv[1]))
plan = plan_frame(info.width, info.height, PROFILES["instagram"])
t3 = time.perf_counter()
with Image.open(sys.argv[1]) as img:
    img.draft("RGB", (int(img.size[0] * plan.scale) + 1, int(img.size[1] * plan.scale) + 1))
    img.load()
    drafted = img.size
t4 = time.perf_counter()
vips_s = None
try:
    import pyvips
    t5 = time.perf_counter()
    pyvips.Image.thumbnail(sys.argv[1], 1080, height=1350, crop="centre").write_to_buffer(
        ".jpg[Q=85]")
    vips_s = time.perf_counter() - t5
except ImportError:
    pass
Path(sys.argv[2]).write_bytes(r.data)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"import_s": t1 - t0, "render_s": t2 - t1, "size": [r.width, r.height],
                  "floor_s": t4 - t3, "drafted": drafted, "pyvips_s": vips_s,
                  "bytes": len(r.data),
                  "peak_mib": int(status["VmHWM"].split()[0]) / 1024}))
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
    parser.add_argument("--runs", type=int, default=7)
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
        render_wall, render_call, floor, pyvips, peaks, vips_wall = [], [], [], [], [], []
        for _ in range(args.runs):
            wall, out = _timed([sys.executable, "-c", _CHILD, str(src), str(work / "out.jpg")])
            stats = json.loads(out)
            render_wall.append(wall)
            render_call.append(stats["render_s"])
            floor.append(stats["floor_s"])
            if stats["pyvips_s"] is not None:
                pyvips.append(stats["pyvips_s"])
            peaks.append(stats["peak_mib"])
            if vips:
                wall, _ = _timed([vips, str(src), "--size", "1080x1350", "--smartcrop",
                                  "centre", "-o", f"{work / 'vips.jpg'}[Q=85]"])
                vips_wall.append(wall)

        med = statistics.median
        print(f"postq render: {stats['size'][0]}x{stats['size'][1]}, {stats['bytes']:,} bytes; "
              f"{args.runs} runs, median (min–max)")
        print("in process:")
        print(f"  render call              {spread(render_call)}")
        print(f"  floor: JPEG draft decode {spread(floor)} (decoded at "
              f"{stats['drafted'][0]}x{stats['drafted'][1]}, the render's draft scale)")
        ratio = med(render_call) / med(floor)
        print(f"  ratio render / floor     {ratio:.2f}   target <= 1.3: "
              f"{'ok' if ratio <= 1.3 else 'MISSED'}")
        if pyvips:
            print(f"  pyvips thumbnail         {spread(pyvips)}   ratio render / pyvips "
                  f"{med(render_call) / med(pyvips):.2f}")
        else:
            print("  pyvips: not installed (pip install pyvips, with libvips): no comparison")
        print("whole process (Python start-up and imports included):")
        print(f"  postq render             {spread(render_wall)}")
        print(f"  peak memory              {max(peaks):7.1f} MiB (VmHWM; target <= 150)")
        if vips_wall:
            print(f"  vipsthumbnail            {spread(vips_wall)}   ratio "
                  f"{med(render_wall) / med(vips_wall):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
