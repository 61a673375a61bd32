"""Colour: embedded profiles to sRGB, alpha onto the brand colour, WCAG contrast.

Platforms assume sRGB and drop or ignore embedded profiles, so a photo from a camera set
to Adobe RGB or a CMYK print file would come out dull or wrong. We convert once, on the
small rendered frame, and then embed no profile at all. Contrast follows WCAG 2.x
(relative luminance, 4.5:1 for normal text) because overlay text is read on phones.
"""

from __future__ import annotations

import io

from PIL import Image, ImageCms

_SRGB = ImageCms.createProfile("sRGB")
_ICC_ERRORS = (ImageCms.PyCMSError, OSError, ValueError, TypeError)


def to_srgb(image: Image.Image, icc_profile: bytes | None, notes: list[str]) -> Image.Image:
    """Convert ``image`` (L, LA, RGB, RGBA or CMYK) to RGB or RGBA in sRGB.

    A profile that cannot be applied (damaged, or made for another colour space) is
    ignored with a note: the picture is still usable, only its colours may be off.
    """
    alpha = image.getchannel("A") if image.mode in ("LA", "RGBA") else None
    colour = image.convert("L") if image.mode == "LA" else image
    if colour.mode == "RGBA":
        colour = colour.convert("RGB")
    converted = None
    if icc_profile:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                colour, src, _SRGB, renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except _ICC_ERRORS:
            notes.append("the embedded colour profile could not be applied; colours are "
                         "taken as sRGB")
    if converted is None:
        converted = colour if colour.mode == "RGB" else colour.convert("RGB")
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def flatten(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """Composite any transparency onto the brand background; JPEG has no alpha."""
    if image.mode != "RGBA":
        return image if image.mode == "RGB" else image.convert("RGB")
    base = Image.new("RGB", image.size, background)
    base.paste(image, mask=image.getchannel("A"))
    return base


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG contrast ratio, from 1 (same) to 21 (black on white)."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
