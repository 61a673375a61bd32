"""What a video file is, read with PyAV without decoding more than one frame.

Everything a user may drop into ``assets/`` is treated as hostile: a file that is not a
video, a truncated upload, absurd dimensions, a "video" of a hundred thousand tiny frames.
Each fails here with one sentence naming the file, before any transcode starts, and the
checks read the container's index (packet headers), never whole frames, so memory stays
flat whatever the length.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from scheduler.errors import MediaError

#: Larger than any platform takes (8K); anything bigger is refused before decoding.
MAX_SIDE = 8192
#: X's documented minimum (32×32), the smallest any platform takes; smaller "videos" are
#: usually an attack on frame count.
MIN_SIDE = 32
MAX_FPS = 240.0
#: One hour at 60 frames a second.
MAX_FRAMES = 216_000
#: Container tags that say nothing about the people or devices involved.
HARMLESS_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands"})


@dataclass(frozen=True)
class VideoInfo:
    """A source video as a viewer would see it (width and height after rotation)."""

    path: Path
    container: str
    codec: str
    profile: str | None
    pix_fmt: str | None
    width: int
    height: int
    rotation: int
    fps: float
    variable_rate: bool
    duration: float
    frames: int
    bit_rate: int
    size: int
    audio_codec: str | None
    audio_channels: int
    audio_rate: int
    tags: tuple[str, ...]
    moov_first: bool

    @property
    def aspect(self) -> float:
        return self.width / self.height

    @property
    def is_mp4(self) -> bool:
        return "mp4" in self.container.split(",") and self.path.suffix.lower() in (".mp4",
                                                                                 ".m4v")


def _open(path: Path) -> Any:
    import av

    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(f"{path.name} is not a video postq can read ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.split(": '")[0].strip().rstrip(".").lower()


def moov_first(path: Path) -> bool:
    """Whether an MP4's index (``moov``) comes before its media (``mdat``): a player can
    start at once, and Meta refuses files where it does not ("moov atom at the front")."""
    try:
        with path.open("rb") as fh:
            while True:
                head = fh.read(8)
                if len(head) < 8:
                    return False
                size, kind = struct.unpack(">I4s", head)
                if kind == b"moov":
                    return True
                if kind == b"mdat":
                    return False
                if size == 1:
                    size = struct.unpack(">Q", fh.read(8))[0] - 8
                elif size == 0:
                    return False
                fh.seek(size - 8, os.SEEK_CUR)
    except (OSError, struct.error):
        return False


def probe_video(path: Path) -> VideoInfo:
    """Read the container and the first frame; refuse what no platform could take."""
    import av

    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MediaError(f"{name} cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise MediaError(f"{name} is empty (0 bytes)")
    container = _open(path)
    try:
        if not container.streams.video:
            raise MediaError(f"{name} has no video stream")
        vs = container.streams.video[0]
        cc = vs.codec_context
        w, h = int(cc.width or 0), int(cc.height or 0)
        if w > MAX_SIDE or h > MAX_SIDE:
            raise MediaError(f"{name} is {w}×{h} pixels; postq takes videos up to "
                             f"{MAX_SIDE} pixels on a side")
        if w < MIN_SIDE or h < MIN_SIDE:
            raise MediaError(f"{name} is {w}×{h} pixels; a video needs at least "
                             f"{MIN_SIDE} pixels on a side")
        fps = float(vs.average_rate or vs.guessed_rate or 0)
        duration = _duration(container, vs)
        frames = int(vs.frames or 0) or round(duration * fps)
        if fps > MAX_FPS:
            raise MediaError(f"{name} runs at {fps:g} frames a second; postq takes up to "
                             f"{MAX_FPS:g}")
        if frames > MAX_FRAMES:
            raise MediaError(f"{name} has {frames:,} frames; postq takes up to "
                             f"{MAX_FRAMES:,} (an hour at 60 frames a second)")
        if duration <= 0:
            raise MediaError(f"{name} has no duration: the file may be cut short")
        rotation = _first_frame_rotation(container, vs, name)
        base = float(vs.base_rate or 0)
        audio = container.streams.audio[0] if container.streams.audio else None
        tags = tuple(sorted(k for k in container.metadata if k not in HARMLESS_TAGS)) + \
            tuple(sorted(f"stream:{k}" for s in container.streams for k in s.metadata
                         if k not in ("language", "handler_name", "vendor_id")))
        turned = rotation % 180 != 0
        info = VideoInfo(
            path=path, container=container.format.name, codec=cc.name,
            profile=cc.profile, pix_fmt=cc.format.name if cc.format else None,
            width=h if turned else w, height=w if turned else h, rotation=rotation % 360,
            fps=fps, variable_rate=bool(base and fps and abs(base - fps) > 0.01 * fps),
            duration=duration, frames=frames, bit_rate=int(container.bit_rate or 0),
            size=size, audio_codec=audio.codec_context.name if audio else None,
            audio_channels=int(audio.codec_context.channels or 0) if audio else 0,
            audio_rate=int(audio.codec_context.sample_rate or 0) if audio else 0,
            tags=tags, moov_first=moov_first(path),
        )
    except av.FFmpegError as exc:
        raise MediaError(f"{name} cannot be decoded ({_why(exc)})") from None
    finally:
        container.close()
    end = packet_end(path)
    if end < duration - max(0.5, 2 / (fps or 1)):
        raise MediaError(f"{name} is cut short: its pictures stop at {end:.1f} s of "
                         f"{duration:.1f} s (copy the file again)")
    return info


def _duration(container: Any, vs: Any) -> float:
    if vs.duration is not None and vs.time_base is not None:
        return float(vs.duration * vs.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _first_frame_rotation(container: Any, vs: Any, name: str) -> int:
    """Decode one frame: the file must decode, and its display rotation is on the frame."""
    for frame in container.decode(vs):
        # PyAV gives the display matrix's angle counter-clockwise; turn it into the
        # clockwise turn a viewer applies.
        return int(round(-(frame.rotation or 0))) % 360
    raise MediaError(f"{name} has no picture that decodes")


def packet_end(path: Path) -> float:
    """Demux every packet (no decoding) and return where the last one ends, in seconds.

    A file cut short keeps its index but loses packets at the end; reading the packet
    headers finds that in a fraction of a decode's time and without holding any frame.
    """
    import av

    container = _open(path)
    try:
        vs = container.streams.video[0]
        end = Fraction(0)
        for packet in container.demux(vs):
            if packet.pts is None or packet.size == 0:
                continue
            end = max(end, (packet.pts + (packet.duration or 0)) * packet.time_base)
        return float(end)
    except av.FFmpegError as exc:
        raise MediaError(f"{path.name} cannot be read to the end ({_why(exc)})") from None
    finally:
        container.close()
