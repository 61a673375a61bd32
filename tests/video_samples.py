"""Small test videos made with PyAV itself: a few seconds at a small size, so tests stay fast.

The picture is a grey field with a bright square whose position is known, so a test can
tell where a crop landed; audio is a tone. Nothing large is ever committed: every file is
made in the test's own temporary folder.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np  # noqa: F401  (PyAV's to_ndarray needs it; imported to fail early)


def make_video(
    path: Path,
    *,
    size: tuple[int, int] = (320, 180),
    seconds: float = 4.0,
    fps: int = 30,
    audio_channels: int | None = 2,
    audio_rate: int = 48000,
    square_at: tuple[float, float] = (0.8, 0.5),
    rotation: int | None = None,
    vfr: bool = False,
    container_format: str | None = None,
    tags: dict[str, str] | None = None,
    bitexact: bool = True,
    faststart: bool = True,
    moving: bool = False,
) -> Path:
    """Write an H.264 (+AAC) video; ``square_at`` is the bright square's centre (0..1).

    ``moving`` pans a textured background under the square, so the encoder has real work
    (a still picture compresses to almost nothing and flatters any benchmark)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {}
    if faststart and (container_format or path.suffix.lstrip(".")) in ("mp4", "mov"):
        options["movflags"] = "+faststart"
    if bitexact:
        options["fflags"] = "+bitexact"
    out = av.open(str(path), "w", format=container_format, options=options)
    for k, v in (tags or {}).items():
        out.metadata[k] = v
    w, h = size
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    vs.options = {"preset": "ultrafast"}
    vs.codec_context.time_base = Fraction(1, fps * 10 if vfr else fps)
    if rotation is not None:
        vs.set_display_rotation(rotation)
    astream = None
    if audio_channels:
        astream = out.add_stream("aac", rate=audio_rate)
        astream.layout = "stereo" if audio_channels == 2 else "mono"
    frame_count = int(seconds * fps)
    side = max(8, min(w, h) // 4)
    cx, cy = int(square_at[0] * w), int(square_at[1] * h)
    base = np.full((h, w, 3), 90, dtype=np.uint8)
    base[max(0, cy - side // 2):cy + side // 2, max(0, cx - side // 2):cx + side // 2] = 250
    if moving:
        yy, xx = np.mgrid[0:h, 0:w]
        texture = ((np.sin(xx / 7.0) * np.cos(yy / 11.0) + 1) * 60 + (xx * 3 + yy) % 50)
        base = np.dstack([texture, np.roll(texture, 17, 1), np.roll(texture, 29, 0)]) \
            .astype(np.uint8)
    pts = 0
    for i in range(frame_count):
        picture = np.roll(base, (i * 3, i * 5), (0, 1)) if moving else base
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        if vfr:
            # Uneven gaps: 1, 2 or 0.5 frame periods, averaging out near ``fps``.
            frame.pts = pts
            pts += (5, 10, 15, 10)[i % 4]
        else:
            frame.pts = i
        for packet in vs.encode(frame):
            out.mux(packet)
    for packet in vs.encode():
        out.mux(packet)
    if astream is not None:
        samples = int(seconds * audio_rate)
        t = np.arange(samples) / audio_rate
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        chunk = 1024
        for start in range(0, samples, chunk):
            part = tone[start:start + chunk]
            data = np.vstack([part] * audio_channels)
            af = av.AudioFrame.from_ndarray(data, format="fltp",
                                            layout=astream.layout.name)
            af.sample_rate = audio_rate
            af.pts = start
            for packet in astream.encode(af):
                out.mux(packet)
        for packet in astream.encode():
            out.mux(packet)
    out.close()
    return path


def frame_at(path: Path, seconds: float = 0.5) -> np.ndarray:
    """The decoded RGB picture nearest ``seconds`` (for checking crops and burned text)."""
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for frame in c.decode(vs):
            if frame.time is not None and frame.time >= seconds:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"{path} has no frame at {seconds} s")


def make_many_frames(path: Path, count: int, *, size: tuple[int, int] = (16, 16),
                     fps: int = 50) -> Path:
    """A "video" of ``count`` tiny frames, made by muxing one encoded picture ``count``
    times (encoding each would take seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = av.open(str(path), "w", options={"fflags": "+bitexact"})
    vs = out.add_stream("libx264", rate=fps)
    vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
    vs.options = {"preset": "ultrafast", "g": "1"}
    vs.codec_context.time_base = Fraction(1, fps)
    frame = av.VideoFrame.from_ndarray(np.zeros((size[1], size[0], 3), np.uint8), "rgb24")
    packets = []
    for pts in (0, 1):  # the second picture carries no encoder banner: a few bytes
        frame.pts = pts
        packets += list(vs.encode(frame))
    packets += list(vs.encode())
    out.mux(packets[0])  # stream headers and the first picture
    data = bytes(packets[-1])
    for i in range(1, count):
        p = av.Packet(data)
        p.stream, p.pts, p.dts, p.time_base = vs, i, i, Fraction(1, fps)
        p.is_keyframe = True
        out.mux(p)
    out.close()
    return path


def probe_fps(path: Path) -> float:
    with av.open(str(path)) as c:
        return float(c.streams.video[0].average_rate)
