"""Benchmark: a 24-megapixel photo to a captioned 1080x1350 Instagram render.

Compared, in the same run, with ``vipsthumbnail`` (libvips, Debian's ``libvips-tools``)
doing a plain 1080x1350 crop-resize of the same file: libvips is the usual yardstick for
fast, low-memory thumbnails. Each side runs several times in fresh processes and the
medians are compared. The render's peak memory is the child's VmHWM (its own high-water
mark; ``ru_maxrss`` would include the parent's pages at fork time).

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
Path(sys.argv[2]).write_bytes(r.data)
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
print(json.dumps({"import_s": t1 - t0, "render_s": t2 - t1, "size": [r.width, r.height],
                  "bytes": len(r.data),
                  "peak_mib": int(status["VmHWM"].split()[0]) / 1024}))
"""


def _timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, proc.stdout


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
        render_wall, render_call, peaks, vips_wall = [], [], [], []
        for _ in range(args.runs):
            wall, out = _timed([sys.executable, "-c", _CHILD, str(src), str(work / "out.jpg")])
            stats = json.loads(out)
            render_wall.append(wall)
            render_call.append(stats["render_s"])
            peaks.append(stats["peak_mib"])
            if vips:
                wall, _ = _timed([vips, str(src), "--size", "1080x1350", "--smartcrop",
                                  "centre", "-o", f"{work / 'vips.jpg'}[Q=85]"])
                vips_wall.append(wall)

        med = statistics.median
        print(f"postq render: {stats['size'][0]}x{stats['size'][1]}, {stats['bytes']:,} bytes")
        print(f"  render call   median {med(render_call) * 1000:7.1f} ms")
        print(f"  whole process median {med(render_wall) * 1000:7.1f} ms "
              f"(Python start-up and imports included)")
        print(f"  peak memory   {max(peaks):7.1f} MiB (whole process, VmHWM; target <= 150)")
        if vips_wall:
            print(f"vipsthumbnail: median {med(vips_wall) * 1000:7.1f} ms (whole process)")
            print(f"ratio render call / vipsthumbnail:    {med(render_call) / med(vips_wall):.2f}"
                  " (target <= 1.0)")
            print(f"ratio whole process / vipsthumbnail: {med(render_wall) / med(vips_wall):.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
