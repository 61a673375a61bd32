"""The demo's video post: a short captioned clip made on the spot with PyAV.

Nothing large is shipped: a 3.5-second 360x640 clip (a drifting pattern, a tone, about
200 KB) is encoded into the demo folder when the demo runs, with a WebVTT caption file
and a post that sends it to the outbox and to the Instagram rehearsal channel (a Reel, so
the rehearsal folder holds the 9:16 render with the captions burned in, exactly as
Instagram would receive it).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

POST_ID = "day-in-the-archive"
CAPTIONS = """WEBVTT

00:00:00.200 --> 00:00:01.600
A day in the archive

00:00:01.800 --> 00:00:03.300
We are hiring archivists
"""


def _post(closing: str) -> str:
    return f"""---
kind: careers_promo
id: {POST_ID}
channels: [outbox, instagram-rehearsal]
language: en
role: Archivist
closing_date: {closing}
apply_url: https://www.example.gov.uk/careers/archivist
video:
  path: demo/archive.mp4
  alt: A slow pan across shelves of boxed files in an archive reading room.
  captions: demo/archive.vtt
  cover: 1.5
hashtags: [careers]
---
Ever wondered what an archivist does all day? Ours look after a century of records.
"""


def make_clip(path: Path, *, size: tuple[int, int] = (360, 640), seconds: float = 3.5,
              fps: int = 30) -> Path:
    """Encode a small H.264/AAC MP4 (index first) with a moving picture and a tone."""
    import av
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    out = av.open(str(path), "w", options={"movflags": "+faststart"})
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = w, h, "yuv420p"
    video.options = {"preset": "ultrafast"}
    video.codec_context.time_base = Fraction(1, fps)
    audio = out.add_stream("aac", rate=48000)
    audio.layout = "mono"
    yy, xx = np.mgrid[0:h, 0:w]
    texture = ((np.sin(xx / 9.0) * np.cos(yy / 13.0) + 1) * 50 + 40).astype(np.uint8)
    base = np.dstack([texture, np.roll(texture, 11, 1), np.roll(texture, 23, 0) // 2 + 60])
    for i in range(int(seconds * fps)):
        frame = av.VideoFrame.from_ndarray(np.roll(base, (i * 2, i * 3), (0, 1)), "rgb24")
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode())
    samples = int(seconds * 48000)
    tone = (0.1 * np.sin(2 * np.pi * 330 * np.arange(samples) / 48000)).astype(np.float32)
    for start in range(0, samples, 1024):
        frame = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts = 48000, start
        out.mux(audio.encode(frame))
    out.mux(audio.encode())
    out.close()
    return path


def add_video_example(root: Path, closing: str) -> None:
    """Write the clip, its captions and its post into the demo project at ``root``."""
    make_clip(root / "assets" / "demo" / "archive.mp4")
    (root / "assets" / "demo" / "archive.vtt").write_text(CAPTIONS, encoding="utf-8")
    (root / "posts" / f"{POST_ID}.md").write_text(_post(closing), encoding="utf-8")
