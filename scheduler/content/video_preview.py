"""The preview's video card: cover, a ``<video>`` playing the render with its captions
track, and what the render did (duration, size, frame, and why it was re-encoded)."""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _names(post_id: str, ch: Any) -> tuple[str, str, str]:
    base = f"{post_id}@{ch.channel}"
    return f"{base}.mp4", f"{base}.vtt", f"{base}-cover{ch.video.cover.extension}" \
        if ch.video.cover else ""


def write_video_files(out_dir: Path, post_id: str, ch: Any) -> list[Path]:
    """Copy the render (streamed, never read whole), its captions and its cover."""
    video = ch.video
    mp4, vtt, cover = _names(post_id, ch)
    written = [out_dir / mp4]
    shutil.copyfile(video.path, out_dir / mp4)
    if video.captions_vtt is not None:
        (out_dir / vtt).write_text(video.captions_vtt, encoding="utf-8")
        written.append(out_dir / vtt)
    if video.cover is not None:
        (out_dir / cover).write_bytes(video.cover.data)
        written.append(out_dir / cover)
    return written


def video_figure(post_id: str, ch: Any) -> str:
    video = ch.video
    mp4, vtt, cover = _names(post_id, ch)
    track = (f'<track kind="captions" src="{_esc(vtt)}" srclang="en" label="Captions" '
             "default>" if video.captions_vtt is not None else "")
    done = {"pass": "the source as it is", "remux": "remuxed", "transcode": "re-encoded"}
    why = "; ".join(video.why)
    captions = ("captions burned in" if video.burned else
                "captions as a file" if video.captions_vtt is not None else "no speech")
    return (
        f'<figure class="video"><video controls preload="metadata" playsinline '
        f'width="{video.width}" height="{video.height}"'
        + (f' poster="{_esc(cover)}"' if cover else "")
        + f' aria-label="{_esc(video.alt)}"><source src="{_esc(mp4)}" type="video/mp4">'
        f"{track}</video><figcaption><b>Alt text:</b> {_esc(video.alt)} "
        f'<span class="dim">({video.width}×{video.height}, {video.duration:.1f} s, '
        f"{video.fps:g} fps, {video.size:,} bytes; {done.get(video.action, video.action)}"
        + (f": {_esc(why)}" if why else "")
        + f"; {captions})</span>"
        + (f'<br><span class="checks">Checked: {_esc(video.checks)}</span>' if video.checks
           else "")
        + "</figcaption></figure>"
    )
