"""The values the render pipeline takes and returns.

They are frozen so a render can be cached and compared by value: the content layer keys
its render cache on them, and a snapshot must not change after approval.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import MediaError


@dataclass(frozen=True)
class Overlay:
    """Text drawn on the image: a headline and an optional smaller second line."""

    headline: str
    subline: str | None = None


@dataclass(frozen=True)
class BrandStyle:
    """The organisation's colours, font and logo (``[brand]`` in ``postq.toml``)."""

    background: str = "#0b0c0c"
    text: str = "#ffffff"
    accent: str = "#ffdd00"
    font_path: Path | None = None  # None: the font shipped in the package
    logo_path: Path | None = None


@dataclass(frozen=True)
class ImageInfo:
    """What a header read tells about a source image, as a viewer would show it.

    ``width`` and ``height`` already account for the EXIF orientation, because that is the
    shape the render will have to crop.
    """

    width: int
    height: int
    format: str
    frames: int


@dataclass(frozen=True)
class Rendered:
    """One finished image, ready to store and publish byte for byte."""

    data: bytes
    mime: str
    width: int
    height: int
    warnings: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def parse_color(value: str, what: str = "colour") -> tuple[int, int, int]:
    """``#rgb`` or ``#rrggbb`` to an RGB triple; brand colours come from a config file."""
    text = value.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    try:
        if len(text) != 6:
            raise ValueError(text)
        return (int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16))
    except ValueError:
        raise MediaError(f"brand {what} {value!r} is not a colour like #0b0c0c") from None
