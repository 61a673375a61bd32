"""Transcoding a 60 s 1080p H.264 clip for Instagram Reels: postq (PyAV) against ffmpeg.

    python bench/video.py [--seconds 60] [--ffmpeg /usr/bin/ffmpeg] [--renders 3]

Makes the clip with PyAV, then renders it with postq's own pipeline (crop to 9:16 around
the centre, scale, constant 30 fps, x264 with the same preset, CRF and rate ceiling, AAC
stereo 48 kHz, index first, no metadata) and with the ``ffmpeg`` command line doing the
same crop/scale/encode with the same settings, each in its own process, in the same run.
Prints wall time, the ratio (goal: within 1.2x) and each process's peak memory (goal:
under 400 MiB). ``--seconds 15`` beside 60 shows whether memory stays flat with length.

Then ``--renders`` different renders of the clip (Instagram Reels framed, X scaled,
Instagram Reels padded), as a post for several channels needs, one after another and side
by side (:mod:`scheduler.media.video.parallel`), each way in a fresh process in the same
run: wall time, the speed-up, and the peak memory of the whole process tree (sampled every
50 ms), which must stay bounded and flat with length too.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OURS = """
import json, sys, time
from pathlib import Path
from scheduler.media.video.render import render_video
from scheduler.platforms import VIDEO_PROFILES
start = time.monotonic()
r = render_video(Path(sys.argv[1]), VIDEO_PROFILES["instagram"], Path(sys.argv[2]),
                 focus=None, trim=None, burn=None)
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would count this
# process's parent (which made the clip) too.
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM"))
print(json.dumps({"seconds": time.monotonic() - start, "size": r.size,
                  "frame": [r.width, r.height], "crop": r.plan.crop, "peak_mib": peak / 1024}))
"""

MANY = """
import json, os, sys, threading, time
from pathlib import Path
from scheduler.media.video.parallel import RenderJob, render_many
from scheduler.platforms import VIDEO_PROFILES
src, out, workers, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4])
IG, X = VIDEO_PROFILES["instagram"], VIDEO_PROFILES["x"]
jobs = [RenderJob(src, IG, None, None, None, None, "crop", "Reels"),
        RenderJob(src, X, None, None, None, None, "crop", "X"),
        RenderJob(src, IG, None, None, None, None, "pad", "Reels padded")]

def rss_kib(pid):
    # This process and every process under it (the render workers), resident now.
    try:
        with open(f"/proc/{pid}/status") as fh:
            total = next(int(x.split()[1]) for x in fh if x.startswith("VmRSS"))
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = fh.read().split()
    except (OSError, StopIteration):
        return 0
    return total + sum(rss_kib(int(k)) for k in kids)

peak, stop = [0], threading.Event()
def sample():
    while not stop.wait(0.05):
        peak[0] = max(peak[0], rss_kib(os.getpid()))
threading.Thread(target=sample, daemon=True).start()
start = time.monotonic()
batch = render_many(jobs[:count], out, workers=workers or None)
seconds = time.monotonic() - start
stop.set()
print(json.dumps({"seconds": seconds, "peak_mib": peak[0] / 1024, "workers": batch.workers,
                  "sha256": [v.sha256 for v in batch.videos],
                  "render_peaks_mib": batch.peaks_mib}))
"""

THEIRS = """
import json, resource, subprocess, sys, time
start = time.monotonic()
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(json.dumps({"seconds": time.monotonic() - start,
                  "peak_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def make_clip(path: Path, seconds: int) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.video_samples import make_video

    make_video(path, size=(1920, 1080), seconds=seconds, fps=30, square_at=(0.5, 0.5),
               moving=True)


def ffmpeg_command(ffmpeg: str, src: Path, out: Path, crop: list[int], frame: list[int]) -> \
        list[str]:
    from scheduler.media.video.transcode import CRF, PRESET

    x, y, w, h = crop
    return [ffmpeg, "-nostdin", "-y", "-i", str(src),
            "-vf", f"crop={w}:{h}:{x}:{y},scale={frame[0]}:{frame[1]}:flags=bicubic,setsar=1,"
                   "fps=30,format=yuv420p",
            "-c:v", "libx264", "-preset", PRESET, "-crf", CRF, "-profile:v", "high",
            "-maxrate", "12000000", "-bufsize", "24000000", "-g", "60", "-keyint_min", "60",
            "-sc_threshold", "0", "-flags", "+cgop+bitexact",
            "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
            "-movflags", "+faststart", "-fflags", "+bitexact", "-map_metadata", "-1",
            str(out)]


def run_json(args: list[str]) -> dict[str, object]:
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--ffmpeg", default=shutil.which("ffmpeg"))
    parser.add_argument("--renders", type=int, default=3, choices=(0, 2, 3),
                        help="different renders made one after another, then side by side")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postq-bench-video-") as tmp:
        work = Path(tmp)
        src = work / "clip.mp4"
        t = time.monotonic()
        make_clip(src, args.seconds)
        print(f"made a {args.seconds} s 1920x1080 H.264 clip in "
              f"{time.monotonic() - t:.1f} s ({src.stat().st_size / 1e6:.1f} MB)")
        ours = run_json([sys.executable, "-c", OURS, str(src), str(work / "renders")])
        print(f"postq:  {ours['seconds']:.1f} s, peak {ours['peak_mib']:.0f} MiB, "
              f"{ours['frame'][0]}x{ours['frame'][1]}, {ours['size'] / 1e6:.1f} MB")
        if args.renders:
            many(src, work, args.renders)
        if not args.ffmpeg:
            print("ffmpeg: not installed (apt-get install ffmpeg); no ratio")
            return
        cmd = ffmpeg_command(args.ffmpeg, src, work / "ffmpeg.mp4", ours["crop"],
                             ours["frame"])
        theirs = run_json([sys.executable, "-c", THEIRS, *cmd])
        size = (work / "ffmpeg.mp4").stat().st_size
        print(f"ffmpeg: {theirs['seconds']:.1f} s, peak {theirs['peak_mib']:.0f} MiB, "
              f"{size / 1e6:.1f} MB")
        print(f"ratio postq/ffmpeg: {ours['seconds'] / theirs['seconds']:.2f} (goal <= 1.2); "
              f"postq peak {ours['peak_mib']:.0f} MiB (goal < 400)")


def many(src: Path, work: Path, count: int) -> None:
    """``count`` renders one after another, then side by side, each way in a fresh process."""
    one = run_json([sys.executable, "-c", MANY, str(src), str(work / "seq"), "1", str(count)])
    side = run_json([sys.executable, "-c", MANY, str(src), str(work / "par"), "0", str(count)])
    same = "same bytes" if one["sha256"] == side["sha256"] else "DIFFERENT BYTES"
    print(f"{count} renders one after another: {one['seconds']:.1f} s, "
          f"peak {one['peak_mib']:.0f} MiB")
    print(f"{count} renders side by side ({side['workers']} workers): {side['seconds']:.1f} s,"
          f" peak {side['peak_mib']:.0f} MiB for all processes (each worker at most "
          f"{max(side['render_peaks_mib'] or [0]):.0f} MiB)")
    print(f"speed-up: {one['seconds'] / side['seconds']:.2f}x; memory "
          f"{side['peak_mib'] / one['peak_mib']:.2f}x of one after another; {same}")


if __name__ == "__main__":
    main()
