"""Fit a source into the platform's frame: crop around the focal point, or pad.

All geometry is planned first from sizes alone (:func:`plan_frame`), so the decoder can
be told how far it may shrink the image before anything is decoded, and so the size
rules (aspect limits, no upscaling, minimum width) can be checked without pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from scheduler.errors import MediaError
from scheduler.media.resample import resize
from scheduler.platforms import PlatformProfile

FITS = ("crop", "pad")


@dataclass(frozen=True)
class FramePlan:
    """Where the source goes in the output, in source pixel coordinates."""

    size: tuple[int, int]  # output size
    box: tuple[float, float, float, float]  # part of the source that is used
    paste: tuple[int, int, int, int]  # where the resized box lands in the output
    scale: float  # output pixels per source pixel (<= 1: never upscale)


def usable_width(width: int, height: int, profile: PlatformProfile, fit: str = "crop") -> int:
    """The widest output the source can give at the profile's aspect without upscaling."""
    aspect = profile.render_aspect
    if fit == "pad":
        return math.floor(max(width, height * aspect))
    return math.floor(min(width, height * aspect))


def output_height(width: int, profile: PlatformProfile) -> int:
    """Height for ``width`` at the render aspect, nudged to stay inside the platform limits.

    Instagram's preferred 4:5 is also its narrowest allowed shape, so plain rounding can
    fall just outside the limit; the nudge keeps the rounded result inside.
    """
    height = max(1, round(width / profile.render_aspect))
    if width / height < profile.aspect_min:
        height = max(1, math.floor(width / profile.aspect_min))
    if width / height > profile.aspect_max:
        height = math.ceil(width / profile.aspect_max)
    return height


def plan_frame(
    width: int, height: int, profile: PlatformProfile,
    focus: tuple[float, float] | None = None, fit: str = "crop",
) -> FramePlan:
    """Plan the render of an upright ``width`` x ``height`` source."""
    if fit not in FITS:
        raise MediaError(f"fit must be 'crop' or 'pad', not {fit!r}")
    fx, fy = focus if focus is not None else (0.5, 0.5)
    if not (0 <= fx <= 1 and 0 <= fy <= 1):
        raise MediaError(f"focus {focus} is outside 0..1")
    out_w = min(profile.render_size[0], usable_width(width, height, profile, fit))
    out_w = max(1, out_w)
    out_h = output_height(out_w, profile)
    aspect = out_w / out_h
    if fit == "crop":
        box_w = min(width, height * aspect)
        # Float rounding can make box_h a hair taller than the source; Pillow refuses a
        # box that starts above the image, so clamp both ways.
        box_h = min(box_w / aspect, float(height))
        left = max(0.0, min(fx * width - box_w / 2, width - box_w))
        top = max(0.0, min(fy * height - box_h / 2, height - box_h))
        scale = out_w / box_w
        return FramePlan((out_w, out_h), (left, top, left + box_w, top + box_h),
                         (0, 0, out_w, out_h), min(scale, 1.0))
    scale = min(out_w / width, out_h / height, 1.0)
    pw, ph = max(1, round(width * scale)), max(1, round(height * scale))
    pw, ph = min(pw, out_w), min(ph, out_h)
    x, y = (out_w - pw) // 2, (out_h - ph) // 2
    return FramePlan((out_w, out_h), (0.0, 0.0, float(width), float(height)),
                     (x, y, x + pw, y + ph), scale)


def apply_frame(image: Image.Image, plan: FramePlan, full_size: tuple[int, int]) -> Image.Image:
    """Cut the planned box out of ``image`` and resize it to its place in the output.

    ``image`` may be smaller than the source the plan was made for (the decoder reduced
    it), so the box is rescaled to the pixels actually at hand.
    """
    kx, ky = image.size[0] / full_size[0], image.size[1] / full_size[1]
    left, top, right, bottom = plan.box
    box = (left * kx, top * ky, right * kx, bottom * ky)
    x0, y0, x1, y1 = plan.paste
    target = (x1 - x0, y1 - y0)
    if target == image.size and box == (0.0, 0.0, float(image.size[0]), float(image.size[1])):
        return image
    return resize(image, target, box)


def place(image: Image.Image, plan: FramePlan, background: tuple[int, int, int]) -> Image.Image:
    """Put the resized RGB picture on its canvas; padding takes the brand background."""
    if plan.paste == (0, 0, *plan.size):
        return image
    canvas = Image.new("RGB", plan.size, background)
    canvas.paste(image, plan.paste[:2])
    return canvas
