"""One video, one platform: the render file, its hash and its cover, made once and kept.

Renders are named by everything that decides their bytes (the source file's identity,
the plan, burned captions, encoder settings and library versions) and kept under
``data_dir/renders``, so ``preview`` followed by ``queue add`` encodes once, and two
channels needing the same frame share one file. A source that already fits is not copied
at all: its own bytes are the render.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scheduler.errors import MediaError
from scheduler.media.video.captions import Cue
from scheduler.media.video.plan import Plan, plan_render
from scheduler.media.video.probe import VideoInfo, probe_video
from scheduler.media.video.transcode import Progress, encoder_identity, remux, transcode
from scheduler.platforms import PlatformProfile, VideoProfile


@dataclass(frozen=True)
class RenderedVideo:
    path: Path
    sha256: str
    size: int
    width: int
    height: int
    duration: float
    fps: float
    plan: Plan


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _key(info: VideoInfo, plan: Plan, burn: list[Cue] | None, font: Path | None) -> str:
    st = info.path.stat()
    doc = {"src": os.path.realpath(info.path), "mtime": st.st_mtime_ns, "size": st.st_size,
           "plan": [plan.action, plan.crop, plan.size, plan.inner, plan.fps, plan.start,
                    plan.end],
           "burn": [(c.start, c.end, c.text) for c in burn or []], "font": str(font),
           "encoder": encoder_identity()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def render_video(source: Path, vp: VideoProfile, cache_dir: Path, *,
                 focus: tuple[float, float] | None, trim: tuple[float, float] | None,
                 burn: list[Cue] | None, font: Path | None = None, fit: str = "crop",
                 progress: Progress | None = None) -> RenderedVideo:
    """The render of ``source`` for ``vp`` (made now, or found from an earlier run)."""
    info = probe_video(source)
    plan = plan_render(info, vp, focus=focus, trim=trim, burn=bool(burn), fit=fit)
    if plan.action == "pass":
        path = source
    else:
        path = cache_dir / f"{_key(info, plan, burn, font)}.mp4"
        if not path.is_file():
            cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".mp4", dir=cache_dir)
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                if plan.action == "remux":
                    remux(info, tmp)
                else:
                    transcode(info, plan, vp, tmp, burn=burn, font=font, progress=progress)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    size = path.stat().st_size
    if size > vp.max_bytes:
        raise MediaError(f"{source.name}: the render for {vp.title} is {size / 1e6:.0f} MB; "
                         f"{vp.title} takes up to {vp.max_bytes / 1e6:.0f} MB (trim it)")
    w, h = (info.width, info.height) if plan.action != "transcode" else plan.size
    return RenderedVideo(path, file_sha256(path), size, w, h, plan.end - plan.start,
                         plan.fps, plan)


def grab_frame(video: Path, seconds: float, out: Path) -> Path:
    """The picture at ``seconds`` as a PNG (the cover is taken from the render, so it is
    framed exactly as the video)."""
    import av

    with av.open(str(video)) as c:
        vs = c.streams.video[0]
        if seconds > 0:
            c.seek(int(seconds / vs.time_base), stream=vs, backward=True)
        chosen = None
        for frame in c.decode(vs):
            chosen = frame
            if frame.time is not None and frame.time >= seconds:
                break
        if chosen is None:
            raise MediaError(f"{video.name} has no picture at {seconds:g} s")
        turn = {90: 270, 180: 180, 270: 90}.get(int(-(chosen.rotation or 0)) % 360)
        image = chosen.to_image()
        if turn:
            image = image.rotate(turn, expand=True)
        image.save(out, "PNG")
    return out


def render_cover(rendered: RenderedVideo, cover: Any, image_source: Path | None,
                 profile: PlatformProfile, *, overlay: Any, brand: Any) -> Any:
    """The cover with the image pipeline (overlay included), at the video's own shape."""
    from scheduler.media import render_image

    shape = replace(profile, render_size=(rendered.width, rendered.height),
                    aspect_min=rendered.width / rendered.height,
                    aspect_max=rendered.width / rendered.height,
                    min_width=min(profile.min_width, rendered.width))
    if image_source is not None:
        return render_image(image_source, shape, overlay=overlay, brand=brand)
    with tempfile.TemporaryDirectory(prefix="postq-cover-") as tmp:
        still = grab_frame(rendered.path, float(cover or 0), Path(tmp) / "cover.png")
        return render_image(still, shape, overlay=overlay, brand=brand)
