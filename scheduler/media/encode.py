"""Encode the finished frame under the platform's byte limit, with no metadata at all.

Nothing from the source survives: the frame is a new image, and the encoder is given no
EXIF, XMP, comment or ICC data (the pixels are already sRGB, the web's default). Quality
steps down in fixed steps, then the frame shrinks a little, so the same frame always
gives the same bytes; baseline (not progressive) JPEG keeps the output plain.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator

from PIL import Image

from scheduler.errors import MediaError
from scheduler.media.frame import output_height
from scheduler.media.resample import resize
from scheduler.platforms import PlatformProfile

QUALITIES = (90, 85, 80, 75, 70, 65, 60, 55, 50)
_SHRINK = 0.9
_MIMES = {"jpeg": "image/jpeg", "png": "image/png"}


def output_format(profile: PlatformProfile) -> str:
    """JPEG wherever accepted (photos), PNG only for a platform that takes no JPEG."""
    for fmt in ("jpeg", "png"):
        if fmt in profile.formats:
            return fmt
    raise MediaError(f"{profile.name} accepts none of the formats postq writes (JPEG, PNG)")


def _save(image: Image.Image, fmt: str, quality: int, optimize: bool) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        image.save(buf, "JPEG", quality=quality, optimize=optimize, progressive=False)
    else:
        image.save(buf, "PNG", compress_level=6)
    return buf.getvalue()


def _attempts(qualities: tuple[int, ...], fmt: str) -> Iterator[tuple[int, bool]]:
    """Each quality plain, then with optimised Huffman tables if plain is too big.

    Optimised tables make a JPEG about 8% smaller with the very same pixels, but cost a
    second pass over the picture: as long as the encoder's own (standard) tables fit the
    limit that pass buys nothing, since platforms re-encode every upload. Near the limit it
    is tried before any quality is given up, so the quality chosen is the one optimised
    tables alone would give.
    """
    for quality in qualities:
        yield quality, False
        if fmt == "jpeg":
            yield quality, True


def encode_image(
    image: Image.Image, profile: PlatformProfile, notes: list[str], label: str = "image",
) -> tuple[bytes, str, tuple[int, int]]:
    """Return ``(data, mime, size)`` with ``len(data) <= profile.image_max_bytes``."""
    fmt = output_format(profile)
    frame = Image.new("RGB", image.size)
    frame.paste(image)  # a fresh image: no info dict, so nothing rides along by accident
    limit = profile.image_max_bytes
    qualities = QUALITIES if fmt == "jpeg" else (0,)
    while True:
        for quality, optimize in _attempts(qualities, fmt):
            data = _save(frame, fmt, quality, optimize)
            if len(data) <= limit:
                if frame.size != image.size:
                    notes.append(f"scaled down to {frame.size[0]}x{frame.size[1]} to stay "
                                 f"under {limit:,} bytes")
                elif quality != QUALITIES[0] and fmt == "jpeg":
                    notes.append(f"JPEG quality lowered to {quality} to stay under "
                                 f"{limit:,} bytes")
                return data, _MIMES[fmt], frame.size
        # Bytes grow roughly with the pixel count, so aim straight at the limit (a little
        # under it) instead of creeping down by 10% at a time.
        shrink = min(_SHRINK, math.sqrt(limit / len(data)) * 0.95)
        width = math.floor(frame.size[0] * shrink)
        if width < profile.min_width:
            raise MediaError(f"{label}: cannot encode the image under {limit:,} bytes for "
                             f"{profile.name} without going below {profile.min_width} "
                             "pixels wide")
        frame = resize(frame, (width, output_height(width, profile)))
        qualities = QUALITIES[-4:] if fmt == "jpeg" else qualities
