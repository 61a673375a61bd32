"""``queue add`` and ``preview`` render a frame once per distinct output.

Rendering a 24-megapixel photo is the slow part of queueing. Two channels whose profiles
differ only in rules that do not change the picture (the aspect limits, when both choose
the same crop and size) must share one render; a profile that crops differently must not.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PIL import Image

from scheduler.content.pipeline import _render
from scheduler.media import BrandStyle, Overlay
from scheduler.platforms import PROFILES


def photo(tmp_path: Path) -> Path:
    path = tmp_path / "desk.jpg"
    # Light to dark from left to right: a crop further left is a different picture.
    Image.linear_gradient("L").rotate(90).resize((3000, 2000)).convert("RGB").save(path, "JPEG")
    return path


def test_profiles_with_other_aspect_limits_but_the_same_crop_share_one_render(
        tmp_path: Path) -> None:
    src = photo(tmp_path)
    instagram = PROFILES["instagram"]
    # Wider aspect limits, same render size: the same 4:5 crop is chosen.
    lenient = replace(instagram, name="lenient", aspect_min=0.5, aspect_max=2.5)
    square = replace(instagram, name="square", render_size=(1080, 1080))
    cache: dict = {}
    overlay, brand = Overlay("Hiring now"), BrandStyle()
    first = _render(cache, src, instagram, overlay, brand, (0.5, 0.4), "crop")
    again = _render(cache, src, lenient, overlay, brand, (0.5, 0.4), "crop")
    other = _render(cache, src, square, overlay, brand, (0.5, 0.4), "crop")
    assert again is first
    assert (first.width, first.height) == (1080, 1350)
    assert other is not first and (other.width, other.height) == (1080, 1080)
    # Another focal point is another crop: rendered again.
    moved = _render(cache, src, instagram, overlay, brand, (0.1, 0.4), "crop")
    assert moved is not first and moved.data != first.data
    assert sum(len(v) for v in cache.values()) == 3
