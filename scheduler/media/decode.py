"""Open source images safely: header reads, guarded decodes, one clear error per file.

Post files name images that anyone on the team may have dropped into ``assets/``: phone
photos, scans, exports from design tools, or a file with the wrong extension. Everything
here turns Pillow's many failure modes into a :class:`MediaError` that names the file, keeps
Pillow's decompression-bomb guard on (its warning is treated as an error, not a note), and
decodes no more pixels than the render needs (JPEG draft mode scales down inside the
decoder, so a 24-megapixel photo never exists at full size in memory).
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from PIL import (
    Image,
    MpoImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from scheduler.errors import MediaError
from scheduler.media.base import ImageInfo

# Only formats a photo or a design export plausibly comes in. Restricting Image.open keeps
# plug-ins with risky loaders (EPS runs Ghostscript) and exotic parsers out of the path.
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "GIF")  # MPO comes via JPEG
_FORMAT_NAMES = {"MPO": "jpeg"}
# Their plug-ins are imported with this module, for two reasons: Image.open(formats=...)
# imports every plug-in Pillow has (45 modules, about 30 ms) as soon as one named format is
# not registered yet, which a PNG source would trigger; and the first render in a process
# should not pay for module imports inside the call. Pillow's preinit brings JPEG, PNG and
# GIF (with BMP and PPM, which saving would import anyway).
Image.preinit()
_PLUGINS = (MpoImagePlugin, TiffImagePlugin, WebPImagePlugin)

# EXIF orientation tag -> the transpose that makes the image upright (as Pillow's
# ImageOps.exif_transpose, which would copy the image even when nothing needs turning).
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# What decoders raise on bad data: OSError for truncation and codec errors, SyntaxError and
# struct.error from header parsers, the rest from plug-ins reading nonsense lengths.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError,
                  zlib.error)


@dataclass
class Source:
    """A decoded source image, upright, possibly reduced by the decoder.

    ``image`` is in one of the modes resampling handles directly (L, LA, RGB, RGBA, CMYK);
    colour management happens later, on the much smaller rendered frame.
    """

    image: Image.Image
    icc_profile: bytes | None
    full_size: tuple[int, int]
    warnings: list[str] = field(default_factory=list)


# Pillow's own default; kept here so the guard holds even if something in the process
# turns Pillow's off (``Image.MAX_IMAGE_PIXELS = None`` is a common copy-paste "fix").
PIXEL_LIMIT = 89_478_485


def _pixel_limit() -> int:
    return min(Image.MAX_IMAGE_PIXELS or PIXEL_LIMIT, PIXEL_LIMIT)


def _bomb_message(source: Path) -> str:
    return (f"{source}: image is too large to decode safely (more than "
            f"{_pixel_limit():,} pixels; possibly a decompression bomb)")


def _unsupported_format(source: Path) -> str | None:
    """Name the format of a file Pillow knows but we refuse, for a more useful message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(source) as img:
                return img.format
    except Exception:  # noqa: BLE001 - only used to improve an error message
        return None


@contextmanager
def opened(source: Path) -> Iterator[Image.ImageFile.ImageFile]:
    """Open ``source`` lazily (header only); every failure becomes one MediaError."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(source, formats=ALLOWED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaError(_bomb_message(source)) from None
        except FileNotFoundError:
            raise MediaError(f"{source}: file not found") from None
        except IsADirectoryError:
            raise MediaError(f"{source}: is a folder, not an image") from None
        except PermissionError:
            raise MediaError(f"{source}: permission denied") from None
        except UnidentifiedImageError:
            fmt = _unsupported_format(source)
            if fmt:
                raise MediaError(f"{source}: {fmt} images are not supported "
                                 "(use JPEG, PNG, WebP, TIFF or GIF)") from None
            raise MediaError(f"{source}: not an image (cannot identify the format)") from None
        except _DECODE_ERRORS:
            raise MediaError(f"{source}: not a readable image (the header is corrupt)") from None
        with img:
            if img.size[0] * img.size[1] > _pixel_limit():
                raise MediaError(_bomb_message(source))
            yield img


def _orientation(img: Image.Image, header_only: bool = False) -> int:
    # Pillow's PNG getexif() decodes the whole image to look for an eXIf chunk after the
    # pixel data; a header probe reads only an eXIf chunk that comes before them.
    if header_only and img.format == "PNG" and "exif" not in img.info:
        return 1
    try:
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except _DECODE_ERRORS:
        return 1  # a broken EXIF block must not make an otherwise good photo unusable
    return value if isinstance(value, int) and value in _TRANSPOSE else 1


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation >= 5 else size


def probe_image(source: Path) -> ImageInfo:
    """Size, format and frame count from the header alone, without decoding pixels."""
    with opened(source) as img:
        try:
            frames = int(getattr(img, "n_frames", 1))
        except _DECODE_ERRORS:
            raise MediaError(f"{source}: not a readable image (the frames are corrupt)") from None
        width, height = _upright_size(img.size, _orientation(img, header_only=True))
        fmt = (img.format or "unknown").upper()
        return ImageInfo(width, height, _FORMAT_NAMES.get(fmt, fmt.lower()), frames)


def _eight_bit(img: Image.Image) -> Image.Image:
    """Bring any mode to one the resampler handles (L, LA, RGB, RGBA or CMYK)."""
    mode = img.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return img
    if mode == "P":
        has_alpha = "transparency" in img.info or img.palette.mode == "RGBA"
        return img.convert("RGBA" if has_alpha else "RGB")
    if mode == "PA":
        return img.convert("RGBA")
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale: convert("L") would clip at 255 instead of scaling.
        wide = img if mode == "I" else img.convert("I")
        return wide.point(lambda v: v * (1 / 257)).convert("L")
    if mode == "F":
        return img.point(lambda v: v * 255).convert("L")
    if mode in ("La", "RGBa"):
        return img.convert(mode.upper())
    return img.convert("RGB")  # YCbCr, LAB, HSV, RGBX: no alpha to keep


def load_source(source: Path, scale: float | None = None) -> Source:
    """Decode ``source``, upright and in a resample-friendly mode.

    ``scale`` is how much the render will shrink the upright image; for JPEG the decoder
    is then asked for the smallest power-of-two reduction that still covers it.
    """
    with opened(source) as img:
        notes: list[str] = []
        fmt = img.format or ""
        # An MPO's extra frames are a phone's depth map or preview, not an animation.
        if fmt != "MPO" and getattr(img, "is_animated", False):
            notes.append(f"{fmt.lower() or 'image'} has several frames: only the first is used")
        orientation = _orientation(img)
        full_size = _upright_size(img.size, orientation)
        if scale is not None and scale < 1 and fmt in ("JPEG", "MPO"):
            want = (max(1, math.ceil(img.size[0] * scale)), max(1, math.ceil(img.size[1] * scale)))
            img.draft("RGB", want)
        icc = img.info.get("icc_profile") or None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img.load()
                image = _eight_bit(img)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaError(_bomb_message(source)) from None
        except MemoryError:
            raise MediaError(f"{source}: not enough memory to decode the image") from None
        except _DECODE_ERRORS:
            raise MediaError(f"{source}: the image data is truncated or corrupt") from None
    if orientation in _TRANSPOSE:
        image = image.transpose(_TRANSPOSE[orientation])
    return Source(image, icc, full_size, notes)
