"""What one platform needs done to one source: nothing, a remux, or a transcode.

Validation and rendering read the same plan, so ``validate`` refuses exactly what no
render could fix (a clip too long, a source too small to frame without enlarging) and
the render does exactly what the plan says. Transcoding is avoided when the source
already fits: every encode loses a little quality and costs minutes of CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.media.video.probe import VideoInfo
from scheduler.platforms import VideoProfile

ASPECT_TOLERANCE = 0.01


def say_range(lo: float, hi: float) -> str:
    """``3 to 90 s`` or ``3 s to 15 min``."""
    if hi < 60 or (hi < 600 and not hi % 1):
        return f"{say_seconds(lo)[:-2]} to {hi:g} s"
    return f"{say_seconds(lo)} to {say_seconds(hi)}"


def _takes(vp: VideoProfile) -> str:
    return f"{vp.title} take" if vp.title.endswith("Reels") else f"{vp.title} takes"


def _owner(vp: VideoProfile) -> str:
    return f"{vp.title}'" if vp.title.endswith("s") else f"{vp.title}'s"


def say_seconds(value: float) -> str:
    """``42 s``, ``2.5 s``, ``15 min``, ``1 min 30 s``: durations as people say them."""
    if value < 600 and (value < 60 or value % 1 or value % 60):
        return f"{value:.1f} s".replace(".0 s", " s")
    m, s = divmod(int(value), 60)
    return f"{m} min" + (f" {s} s" if s else "")


@dataclass(frozen=True)
class Plan:
    """``action`` is ``pass`` (the source's bytes as they are), ``remux`` (same streams in
    a clean MP4) or ``transcode``; ``why`` lists what made it necessary."""

    action: str
    crop: tuple[int, int, int, int]  # x, y, width, height in the upright picture
    size: tuple[int, int]
    fps: float
    start: float
    end: float
    burn: bool
    why: tuple[str, ...]
    #: ``fit: pad``: the picture's size inside the ``size`` canvas (bars fill the rest).
    inner: tuple[int, int] | None = None


def span(info: VideoInfo, trim: tuple[float, float] | None) -> tuple[float, float]:
    if trim is None:
        return 0.0, info.duration
    return min(trim[0], info.duration), min(trim[1], info.duration)


def _target(info: VideoInfo, vp: VideoProfile) -> float | None:
    """The shape to frame to, or None when the picture's own shape is fine."""
    aspect = info.aspect
    target = vp.frame_aspect
    if target is None:
        if aspect < vp.aspect_min:
            target = vp.aspect_min
        elif aspect > vp.aspect_max:
            target = vp.aspect_max
    if target is None or abs(aspect - target) <= ASPECT_TOLERANCE * target:
        return None
    return target


def _canvas(info: VideoInfo, vp: VideoProfile) -> tuple[int, int]:
    """``fit: pad``: the smallest canvas of the target shape holding the whole picture."""
    w, h = info.width, info.height
    target = _target(info, vp)
    if target is None:
        return w, h
    if info.aspect > target:
        return w, int(w / target) // 2 * 2
    return int(h * target) // 2 * 2, h


def _frame(info: VideoInfo, vp: VideoProfile,
           focus: tuple[float, float] | None) -> tuple[int, int, int, int]:
    """The largest window of the target shape, centred on the focus, inside the picture."""
    w, h = info.width, info.height
    aspect = info.aspect
    target = _target(info, vp)
    if target is None:
        return 0, 0, w, h
    fx, fy = focus or (0.5, 0.5)
    if aspect > target:  # too wide: keep the full height
        cw, ch = int(h * target) // 2 * 2, h
    else:
        cw, ch = w, int(w / target) // 2 * 2
    x = min(max(int(fx * w - cw / 2), 0), w - cw)
    y = min(max(int(fy * h - ch / 2), 0), h - ch)
    return x, y, cw, ch


def _scaled(cw: int, ch: int, vp: VideoProfile) -> tuple[int, int]:
    """Scale down to the render size and the platform's maximum; never up."""
    rw, rh = vp.render_size
    long_side, short_side = max(rw, rh), min(rw, rh)
    box = (short_side, long_side) if ch >= cw else (long_side, short_side)
    f = min(1.0, box[0] / cw, box[1] / ch, vp.max_width / cw, vp.max_height / ch)
    if vp.max_pixels is not None and cw * ch * f * f > vp.max_pixels:
        f = (vp.max_pixels / (cw * ch)) ** 0.5
    return max(2, int(cw * f) // 2 * 2), max(2, int(ch * f) // 2 * 2)


def problems(info: VideoInfo, vp: VideoProfile, trim: tuple[float, float] | None,
             focus: tuple[float, float] | None = None, fit: str = "crop") -> list[str]:
    """What no render can fix, one sentence each in words."""
    out = []
    start, end = span(info, trim)
    if trim is not None and trim[0] >= info.duration:
        out.append(f"trim starts at {say_seconds(trim[0])}, but the video is only "
                   f"{say_seconds(info.duration)} long")
        return out
    length = end - start
    if not vp.min_seconds <= length <= vp.max_seconds:
        what = "trimmed to " if trim is not None else ""
        out.append(f"{what}{say_seconds(round(length, 1))} long; {_takes(vp)} "
                   f"{say_range(vp.min_seconds, vp.max_seconds)}")
    x, y, cw, ch = _frame(info, vp, focus) if fit == "crop" else (0, 0, *_canvas(info, vp))
    w, _h = _scaled(cw, ch, vp)
    if w < vp.min_width:
        shaped = f" framed to {_ratio(cw / ch)}" if (cw, ch) != (info.width, info.height) \
            else ""
        out.append(f"{info.width}×{info.height} pixels;{shaped} it would be {w} pixels wide, "
                   f"below {_owner(vp)} minimum of {vp.min_width} (videos are never enlarged)")
    return out


def _ratio(aspect: float) -> str:
    for a, b in ((9, 16), (16, 9), (1, 1), (4, 5), (3, 1), (1, 3)):
        if abs(aspect - a / b) < 0.02:
            return f"{a}:{b}"
    return f"{aspect:.2f}:1"


def plan_render(info: VideoInfo, vp: VideoProfile, *, focus: tuple[float, float] | None,
                trim: tuple[float, float] | None, burn: bool, fit: str = "crop") -> Plan:
    inner = None
    if fit == "pad" and _target(info, vp) is not None:
        crop = (0, 0, info.width, info.height)
        canvas = _canvas(info, vp)
        size = _scaled(*canvas, vp)
        f = size[0] / canvas[0]
        inner = (max(2, int(info.width * f) // 2 * 2), max(2, int(info.height * f) // 2 * 2))
    else:
        crop = _frame(info, vp, focus)
        size = _scaled(crop[2], crop[3], vp)
    start, end = span(info, trim)
    fps = info.fps
    if info.variable_rate or not vp.fps_min <= fps <= vp.fps_max:
        fps = float(min(max(round(fps) or 30, vp.fps_min), vp.fps_max))
    why = []
    if trim is not None:
        why.append("trimmed")
    if burn:
        why.append("captions burned in")
    if inner is not None:
        why.append(f"padded to {_ratio(size[0] / size[1])}")
    if crop != (0, 0, info.width, info.height):
        why.append(f"framed to {_ratio(crop[2] / crop[3])}")
    if size != (crop[2], crop[3]) and inner is None:
        why.append(f"scaled to {size[0]}×{size[1]}")
    if info.rotation:
        why.append(f"turned {info.rotation}°")
    if info.variable_rate:
        why.append("variable frame rate made constant")
    elif fps != info.fps:
        why.append(f"{info.fps:g} fps changed to {fps:g}")
    if info.codec not in vp.video_codecs or info.pix_fmt != "yuv420p":
        why.append(f"{info.codec} ({info.pix_fmt}) re-encoded as H.264")
    if info.bit_rate > vp.max_video_bitrate:
        why.append(f"{info.bit_rate / 1e6:.1f} Mbit/s over {vp.max_video_bitrate / 1e6:g}")
    if info.size > vp.max_bytes:
        why.append(f"{info.size / 1e6:.0f} MB over {vp.max_bytes / 1e6:.0f}")
    if info.audio_codec is not None and (info.audio_codec != "aac" or info.audio_channels != 2
                                         or info.audio_rate != 48000):
        why.append(f"audio ({info.audio_codec}, {info.audio_channels} channel(s), "
                   f"{info.audio_rate} Hz) made stereo AAC at 48 kHz")
    if why:
        return Plan("transcode", crop, size, fps, start, end, burn, tuple(why), inner)
    remux = []
    if not info.is_mp4:
        remux.append(f"{info.path.suffix or 'no extension'} file put in MP4")
    if not info.moov_first:
        remux.append("index moved to the front")
    if info.tags:
        remux.append("metadata removed (" + ", ".join(info.tags) + ")")
    if remux:
        return Plan("remux", crop, size, fps, start, end, burn, tuple(remux))
    return Plan("pass", crop, size, fps, start, end, burn, ())
