"""Image rendering: safe decoding, framing for each platform, overlays and encoding.

The command line imports this package lazily (it pulls in Pillow). Modules:
``decode`` (safe open and reduced decode), ``frame`` (crop, pad, resize), ``resample``
(the Lanczos resize, through libvips), ``colour``
(sRGB, alpha, contrast), ``fonts`` (shipped font, glyph coverage), ``overlay`` (text and
logo), ``encode`` (metadata-free output under the byte limit) and ``render`` (the pipeline).
"""

from __future__ import annotations

from scheduler.media.base import BrandStyle, ImageInfo, Overlay, Rendered
from scheduler.media.decode import probe_image
from scheduler.media.fonts import default_font_path, missing_glyphs
from scheduler.media.render import check_source_size, render_image

__all__ = [
    "BrandStyle",
    "ImageInfo",
    "Overlay",
    "Rendered",
    "check_source_size",
    "default_font_path",
    "missing_glyphs",
    "probe_image",
    "render_image",
]
