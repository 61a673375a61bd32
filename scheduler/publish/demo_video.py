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
    """Encode a small H.264/AAC MP4 (index first) with a moving picture and a tone.

    Built with Pillow and the standard library only: the quick start installs postq
    without its test extras, so nothing here may need numpy."""
    import array
    import math

    import av
    from PIL import Image, ImageChops

    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    out = av.open(str(path), "w", options={"movflags": "+faststart"})
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = w, h, "yuv420p"
    video.options = {"preset": "ultrafast"}
    video.codec_context.time_base = Fraction(1, fps)
    audio = out.add_stream("aac", rate=48000)
    audio.layout = "mono"
    # A texture the encoder has to work on, panned a little each frame.
    texture = bytes(int((math.sin(x / 9.0) * math.cos(y / 13.0) + 1) * 50 + 40)
                    for y in range(h) for x in range(w))
    plane = Image.frombytes("L", (w, h), texture)
    base = Image.merge("RGB", (plane, ImageChops.offset(plane, 11, 0),
                               ImageChops.offset(plane, 0, 23).point(lambda v: v // 2 + 60)))
    for i in range(int(seconds * fps)):
        frame = av.VideoFrame.from_image(ImageChops.offset(base, i * 3, i * 2))
        frame.pts = i
        out.mux(video.encode(frame))
    out.mux(video.encode())
    step = 1024
    samples = int(seconds * 48000) // step * step
    for start in range(0, samples, step):
        tone = array.array("f", (0.1 * math.sin(2 * math.pi * 330 * n / 48000)
                                 for n in range(start, start + step)))
        frame = av.AudioFrame(format="flt", layout="mono", samples=step)
        frame.planes[0].update(tone.tobytes())
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
