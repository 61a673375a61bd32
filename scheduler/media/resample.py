"""Shrinking pixels: every resize the renderer makes goes through libvips's Lanczos-3.

Why libvips and not Pillow's own ``resize``: the Lanczos resize was most of what a render
adds to the JPEG decode. Pillow's resampler is scalar C, one core; libvips's ``reduce``
is vectorised and splits the work over the cores. For the crop of a 24-megapixel photo
(1600x2000 after the reduced decode) to 1080x1350, Pillow took 51 ms, libvips 10.5 ms
including the copies in and out (15.5 ms on one core), and the two results are 53.8 dB
apart: the same filter, rounded a little differently. Decoding, drawing and encoding
stay with Pillow; only the pixels of the resize cross over, as one copy of bytes each
way (about 2 ms for that crop).

The result depends only on the pixels and the sizes: libvips computes each output pixel
from the same inputs whether one thread or several do the work, and with or without its
vector paths (``tests/test_media_resample.py`` holds both), so a render is the same
bytes wherever it is made, as approval by hash needs.

Boxes are cut at whole pixels of the image at hand; a plan's fractional edges move by at
most half a pixel of the (already reduced) decode, a third of an output pixel or less.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from PIL import Image

from scheduler.errors import MediaError

# Pillow's premultiplied twins of the alpha modes: colour is resized already weighted by
# alpha, so transparent pixels do not bleed their (arbitrary) colour into the edges.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
_BANDS = {"L": 1, "La": 2, "RGB": 3, "RGBa": 4, "CMYK": 4}
# Above this reduction libvips first shrinks by a whole factor with a box filter, then
# finishes with Lanczos; at 3x and more the result looks the same as Lanczos throughout.
_GAP = 3.0
_BAND_ROWS = 128


@cache
def _vips() -> Any:
    """libvips, loaded on the first resize (it costs about 15 ms) and told to keep no
    operation cache: a long-running process must not hold images it has finished with."""
    try:
        import pyvips
    except (ImportError, OSError) as exc:  # pyvips raises OSError when libvips is missing
        raise MediaError(f"images cannot be resized: libvips did not load ({exc}); "
                         "reinstall postq's dependencies (pyvips-binary)") from None

    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    return pyvips


def _whole_box(box: tuple[float, float, float, float],
               size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``box`` rounded to whole pixels, inside the image and at least one pixel big."""
    width, height = size
    left = min(max(0, round(box[0])), width - 1)
    top = min(max(0, round(box[1])), height - 1)
    right = min(max(left + 1, round(box[2])), width)
    bottom = min(max(top + 1, round(box[3])), height)
    return left, top, right, bottom


def _box_bytes(image: Image.Image, box: tuple[int, int, int, int], mode: str) -> bytearray:
    """The box's pixels in ``mode`` as packed bytes, copied a band of rows at a time.

    ``Image.tobytes`` gathers pieces and joins them, holding the pixels twice at its peak;
    a 12-megapixel render would grow by twice its decode. Bands keep the extra to a band,
    and convert (premultiply) only the box, not the whole picture.
    """
    left, top, right, bottom = box
    row = (right - left) * _BANDS[mode]
    out = bytearray(row * (bottom - top))
    for y in range(top, bottom, _BAND_ROWS):
        end = min(y + _BAND_ROWS, bottom)
        band = image.crop((left, y, right, end))
        out[(y - top) * row:(end - top) * row] = (
            band if band.mode == mode else band.convert(mode)).tobytes()
    return out


def resize(image: Image.Image, size: tuple[int, int],
           box: tuple[float, float, float, float] | None = None) -> Image.Image:
    """``image`` (or its ``box``) resized to ``size`` with Lanczos-3, in the same mode.

    Modes are those the decoder hands on: L, LA, RGB, RGBA and CMYK.
    """
    mode = image.mode
    work = _PREMULTIPLIED.get(mode, mode)
    if work not in _BANDS:
        raise ValueError(f"cannot resize a {mode} image")
    vips = _vips()
    left, top, right, bottom = (0, 0, *image.size) if box is None else _whole_box(box, image.size)
    try:
        pixels = vips.Image.new_from_memory(_box_bytes(image, (left, top, right, bottom), work),
                                            right - left, bottom - top, _BANDS[work], "uchar")
        width, height = right - left, bottom - top
        # libvips rounds width x scale to the output size, so the exact ratio lands on
        # ``size`` itself (held for every mode and many sizes by the property test).
        scaled = pixels if (width, height) == size else pixels.resize(
            size[0] / width, vscale=size[1] / height, kernel="lanczos3", gap=_GAP)
        data = scaled.write_to_memory()
    except vips.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "libvips failed"
        raise MediaError(f"could not resize the image to {size[0]}x{size[1]}: {reason}") from None
    out = Image.frombytes(work, size, data)
    return out.convert(mode) if out.mode != mode else out
