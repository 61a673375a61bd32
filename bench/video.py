"""Transcoding a 60 s 1080p H.264 clip for Instagram Reels: postq (PyAV) against ffmpeg.

    python bench/video.py [--seconds 60] [--ffmpeg /usr/bin/ffmpeg]

Makes the clip with PyAV, then renders it with postq's own pipeline (crop to 9:16 around
the centre, scale, constant 30 fps, x264 with the same preset, CRF and rate ceiling, AAC
stereo 48 kHz, index first, no metadata) and with the ``ffmpeg`` command line doing the
same crop/scale/encode with the same settings, each in its own process, in the same run.
Prints wall time, the ratio (goal: within 1.2x) and each process's peak memory (goal:
under 400 MiB). ``--seconds 15`` beside 60 shows whether memory stays flat with length.
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


if __name__ == "__main__":
    main()
