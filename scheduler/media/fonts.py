"""The overlay font: the shipped default, loading, and which characters it can draw.

A character the font lacks is drawn as an empty box, which on a public account looks like
a mistake. Validation therefore asks :func:`missing_glyphs` before anything is queued; it
reads the font's own character map (the ``cmap`` table) rather than rendering and
guessing. DejaVu Sans ships with the package (Bitstream Vera licence, see
``scheduler/data/fonts/LICENSE``) because it covers Welsh, the currency signs and
typographic punctuation the organisation writes.
"""

from __future__ import annotations

import struct
import unicodedata
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from PIL import ImageFont

from scheduler.errors import MediaError

_REGULAR = "DejaVuSans.ttf"
_BOLD = "DejaVuSans-Bold.ttf"


@lru_cache(maxsize=8)
def _packaged(name: str) -> Path:
    return Path(str(files("scheduler").joinpath("data", "fonts", name)))


def default_font_path() -> Path:
    """The regular weight of the font shipped inside the package."""
    return _packaged(_REGULAR)


def font_paths(font_path: Path | None) -> tuple[Path, Path]:
    """``(headline, subline)`` fonts: the packaged bold and regular, or the brand font twice."""
    if font_path is None:
        return _packaged(_BOLD), _packaged(_REGULAR)
    return Path(font_path), Path(font_path)


@lru_cache(maxsize=64)
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font at ``size`` pixels with the basic layout engine.

    Basic layout (no Raqm) keeps the same text drawing the same pixels on every machine,
    which the byte-for-byte render promise depends on.
    """
    try:
        return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)
    except OSError as exc:
        what = "file not found" if not Path(path).exists() else "not a usable font"
        raise MediaError(f"{path}: cannot load the font ({what})") from exc


def _cmap_ranges(data: bytes, base: int) -> set[int]:
    """Code points mapped by the Unicode subtables of the cmap table at ``base``."""
    _version, count = struct.unpack_from(">HH", data, base)
    points: set[int] = set()
    for i in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, base + 4 + 8 * i)
        unicode_table = platform == 0 or (platform == 3 and encoding in (1, 10))
        if not unicode_table:
            continue
        sub = base + offset
        fmt = struct.unpack_from(">H", data, sub)[0]
        if fmt == 4:
            points |= _format4(data, sub)
        elif fmt == 12:
            (groups,) = struct.unpack_from(">I", data, sub + 12)
            for g in range(groups):
                start, end, glyph = struct.unpack_from(">III", data, sub + 16 + 12 * g)
                if glyph:
                    points.update(range(start, end + 1))
                else:
                    points.update(range(start + 1, end + 1))
    return points


def _format4(data: bytes, sub: int) -> set[int]:
    seg_x2 = struct.unpack_from(">H", data, sub + 6)[0]
    n = seg_x2 // 2
    ends = struct.unpack_from(f">{n}H", data, sub + 14)
    starts = struct.unpack_from(f">{n}H", data, sub + 16 + seg_x2)
    deltas = struct.unpack_from(f">{n}h", data, sub + 16 + 2 * seg_x2)
    range_pos = sub + 16 + 3 * seg_x2
    offsets = struct.unpack_from(f">{n}H", data, range_pos)
    points: set[int] = set()
    for i in range(n):
        for cp in range(starts[i], ends[i] + 1):
            if cp == 0xFFFF:
                continue
            if offsets[i] == 0:
                glyph = (cp + deltas[i]) & 0xFFFF
            else:
                at = range_pos + 2 * i + offsets[i] + 2 * (cp - starts[i])
                glyph = struct.unpack_from(">H", data, at)[0]
                glyph = (glyph + deltas[i]) & 0xFFFF if glyph else 0
            if glyph:
                points.add(cp)
    return points


@lru_cache(maxsize=8)
def font_coverage(path: Path) -> frozenset[int]:
    """Every code point the font at ``path`` maps to a real glyph (not .notdef)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MediaError(f"{path}: cannot read the font ({exc.strerror or exc})") from None
    try:
        offset = 0
        if data[:4] == b"ttcf":  # a collection: the first face is the one Pillow loads
            (offset,) = struct.unpack_from(">I", data, 12)
        (tables,) = struct.unpack_from(">H", data, offset + 4)
        for i in range(tables):
            tag, _sum, where, _len = struct.unpack_from(">4sIII", data, offset + 12 + 16 * i)
            if tag == b"cmap":
                return frozenset(_cmap_ranges(data, where))
    except struct.error:
        pass
    raise MediaError(f"{path}: not a TrueType or OpenType font with a character map")


def missing_glyphs(text: str, font_path: Path | None = None) -> list[str]:
    """Characters of ``text`` (NFC, as drawn) that the overlay font cannot draw.

    White space is ignored; each missing character is listed once, in order of first use.
    With no ``font_path`` both packaged weights are checked, since the headline is bold.
    """
    paths = set(font_paths(font_path))
    covered = [font_coverage(p) for p in sorted(paths)]
    missing: list[str] = []
    for ch in dict.fromkeys(unicodedata.normalize("NFC", text)):  # unique, in order
        if not ch.isspace() and any(ord(ch) not in cov for cov in covered):
            missing.append(ch)
    return missing
