"""X's chunked video upload through the adapter, against one plain POST of the same bytes.

    python bench/video_upload.py [--mib 64] [--chunk-mib 4]

A file of ``--mib`` MiB (random bytes: the stand-in does not decode it) is published as a
video through :class:`~scheduler.adapters.x.XAdapter` to the X stand-in on a local
server: initialize, one append per piece (each re-hashed as read and recorded in the
progress), finalize, the status poll, the post. The reference, in the same run and to the
same server, is the same calls made with plain ``requests`` (the same pieces, without
re-hashing the file or recording progress). Each runs in its own process; prints wall
time, the ratio (goal: within 1.2x) and each process's peak memory (VmHWM), which shows
that the adapter streams the file rather than holding it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SERVER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.peers import LocalServer
from tests.fakes import FakeX
server = LocalServer()
fake = FakeX(server, "bench-token")
fake.video.polls_before_done = 0
print(server.base_url, flush=True)
sys.stdin.read()
"""

OURS = """
import hashlib, json, sys, time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from scheduler.adapters.outgoing import OutgoingPost, OutgoingVideo
from scheduler.adapters.x import XAdapter
url, path, chunk = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
digest, size = hashlib.sha256(), 0
with path.open("rb") as fh:
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
video = OutgoingVideo(path=path, sha256=digest.hexdigest(), size=size, mime="video/mp4",
                      alt="bench", width=1280, height=720)
post = OutgoingPost(delivery_id="bench-1", post_id="bench", channel="x", caption="bench",
                    images=(), language="en", content_hash="0" * 64,
                    due_at=datetime.now(UTC), video=video)
adapter = XAdapter("x", XAdapter.parse_settings("x", {"adapter": "x", "base_url": url,
                   "token_env": "T"}), env={"T": "bench-token"}, sleep=lambda s: None)
adapter.video.chunk = chunk
start = time.monotonic()
adapter.publish(post)
seconds = time.monotonic() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024}))
"""

THEIRS = """
import json, sys, time
from pathlib import Path
import requests
url, path, chunk = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
auth = {"Authorization": "Bearer bench-token"}
start = time.monotonic()
s = requests.Session()
size = path.stat().st_size
media = s.post(url + "/2/media/upload/initialize", headers=auth, json={
    "media_type": "video/mp4", "total_bytes": size, "media_category": "tweet_video"},
    timeout=60).json()["data"]["id"]
with path.open("rb") as fh:
    for n, piece in enumerate(iter(lambda: fh.read(chunk), b"")):
        s.post(f"{url}/2/media/upload/{media}/append", headers=auth, timeout=60,
               files={"media": ("blob", piece, "application/octet-stream")},
               data={"segment_index": str(n)}).raise_for_status()
s.post(f"{url}/2/media/upload/{media}/finalize", headers=auth, timeout=60).raise_for_status()
s.get(url + "/2/media/upload", headers=auth, params={"command": "STATUS", "media_id": media},
      timeout=60).raise_for_status()
s.post(url + "/2/tweets", headers=auth, json={"text": "bench 2", "media": {
    "media_ids": [media]}}, timeout=60).raise_for_status()
seconds = time.monotonic() - start
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"seconds": seconds, "peak_mib": peak / 1024}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=True, cwd=REPO)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--chunk-mib", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        with path.open("wb") as fh:
            for _ in range(args.mib):
                fh.write(os.urandom(1 << 20))
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(REPO)], cwd=REPO,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            time.sleep(0.2)
            theirs = run(THEIRS, url, str(path), str(args.chunk_mib << 20))
            ours = run(OURS, url, str(path), str(args.chunk_mib << 20))
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"{args.mib} MiB video, {args.chunk_mib} MiB pieces, to a local X stand-in")
    print(f"  plain requests, same calls: {theirs['seconds']:.2f} s, peak "
          f"{theirs['peak_mib']:.0f} MiB")
    print(f"  postq's chunked upload:     {ours['seconds']:.2f} s, peak "
          f"{ours['peak_mib']:.0f} MiB")
    print(f"  ratio (postq / plain): {ours['seconds'] / theirs['seconds']:.2f}x time, "
          f"{ours['peak_mib'] / theirs['peak_mib']:.2f}x memory")


if __name__ == "__main__":
    main()
