"""The render pipeline: source file + platform profile -> publishable bytes.

Order matters for memory and speed: the frame is planned from the header, the decoder
reduces the image as far as the plan allows, the crop and resize happen in the source's
own colour mode, and only the small result is colour-converted, flattened, captioned and
encoded. The same inputs always give the same bytes, because approval is given to a hash.
"""

from __future__ import annotations

from pathlib import Path

from scheduler.errors import MediaError
from scheduler.media.base import BrandStyle, ImageInfo, Overlay, Rendered, parse_color
from scheduler.media.colour import flatten, to_srgb
from scheduler.media.decode import load_source, probe_image
from scheduler.media.encode import encode_image
from scheduler.media.frame import FITS, apply_frame, place, plan_frame, usable_width
from scheduler.media.overlay import draw_overlay
from scheduler.platforms import PlatformProfile


def check_source_size(
    info: ImageInfo, profile: PlatformProfile, fit: str = "crop",
) -> str | None:
    """Why the source is too small for ``profile`` (we never upscale), or None if it is not."""
    width = usable_width(info.width, info.height, profile, fit)
    if width >= profile.min_width:
        return None
    rw, rh = profile.render_size
    shaped = "cropped" if fit == "crop" else "padded"
    return (f"image is {info.width}x{info.height} pixels; {shaped} to the {rw}:{rh} frame it "
            f"would be {width} pixels wide, below {profile.name}'s minimum of "
            f"{profile.min_width} (images are never enlarged)")


def render_image(
    source: Path, profile: PlatformProfile, *, overlay: Overlay | None, brand: BrandStyle,
    focus: tuple[float, float] | None = None, fit: str = "crop",
) -> Rendered:
    """Render ``source`` for ``profile``: framed, captioned, stripped and under the limit."""
    if fit not in FITS:
        raise MediaError(f"{source}: fit must be 'crop' or 'pad', not {fit!r}")
    if focus is not None and not all(0 <= v <= 1 for v in focus):
        raise MediaError(f"{source}: focus {tuple(focus)} is outside 0..1")
    background = parse_color(brand.background, "background")
    info = probe_image(source)
    problem = check_source_size(info, profile, fit)
    if problem:
        raise MediaError(f"{source}: {problem}")
    plan = plan_frame(info.width, info.height, profile, focus, fit)

    src = load_source(source, scale=plan.scale)
    notes = src.warnings
    picture = apply_frame(src.image, plan, src.full_size)
    del src.image  # the decoded source is no longer needed; free it before drawing
    picture = flatten(to_srgb(picture, src.icc_profile, notes), background)
    frame = place(picture, plan, background)
    rw, rh = profile.render_size
    if frame.size[0] < rw:
        notes.append(f"rendered at {frame.size[0]}x{frame.size[1]}, smaller than the usual "
                     f"{rw}x{rh}, because the source is only {info.width}x{info.height}")
    frame = draw_overlay(frame, overlay, brand, notes)
    data, mime, size = encode_image(frame, profile, notes, label=str(source))
    return Rendered(data, mime, size[0], size[1], tuple(notes))
