"""Overlay text and logo: wrapped, shrunk to fit, inside safe margins, always legible.

Platforms crop previews and draw their own buttons over the edges of an image, so
everything we draw stays inside a safe area (6% in from each side). Text sits on a panel
in the brand background colour; the panel starts semi-opaque so the photo shows through,
and turns solid when the photo underneath would bring the text below WCAG's 4.5:1.
The layout is computed separately from the drawing (:func:`layout_overlay`), so the
checks can be made on numbers rather than on pixels.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from scheduler.media.base import BrandStyle, Overlay, parse_color
from scheduler.media.colour import relative_luminance, to_srgb
from scheduler.media.fonts import font_paths, load_font
from scheduler.media.resample import resize

MARGIN = 0.06  # of each side
MIN_CONTRAST = 4.5  # WCAG 2.x AA, normal text
_PANEL_OPACITIES = (0.82, 0.9, 1.0)
_MAX_TEXT_SHARE = 0.45  # the panel may cover at most this much of the safe height
_LINE = 1.2  # line height in em
_SUB_RATIO = 0.6  # subline size relative to the headline
_SHRINK = 0.92
_ELLIPSIS = "…"
_WHITE, _BLACK = (255, 255, 255), (0, 0, 0)

Box = tuple[int, int, int, int]
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class TextLine:
    text: str
    x: int
    y: int  # top of the line box (the font's ascender line)
    headline: bool


@dataclass(frozen=True)
class OverlayLayout:
    """Where everything goes; every box lies inside ``safe``."""

    safe: Box
    panel: Box | None
    stripe: Box | None
    logo: Box | None
    headline_size: int
    subline_size: int
    lines: tuple[TextLine, ...]
    truncated: bool
    note: str | None = None  # why text was cut or left out, for the render's warnings


def safe_area(size: tuple[int, int]) -> Box:
    """The part of a ``size`` image that text and logo may use."""
    w, h = size
    mx, my = round(w * MARGIN), round(h * MARGIN)
    return (mx, my, w - mx, h - my)


def _clean(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "").strip()


def _break_word(word: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Split one word wider than the text box into pieces that fit."""
    pieces, current = [], ""
    for ch in word:
        if current and font.getlength(current + ch) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    return [*pieces, current] if current else pieces


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap by measured width; explicit line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            trial = f"{current} {word}" if current else word
            if font.getlength(trial) <= width:
                current = trial
                continue
            if current:
                lines.append(current)
            pieces = _break_word(word, font, width) if font.getlength(word) > width else [word]
            lines.extend(pieces[:-1])
            current = pieces[-1]
        lines.append(current)
    return lines


def _fit_last(line: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """Cut ``line`` so it ends in an ellipsis and still fits."""
    text = line
    while text and font.getlength(text.rstrip() + _ELLIPSIS) > width:
        text = text[:-1]
    return text.rstrip() + _ELLIPSIS


def _line_height(size: int) -> int:
    return max(1, round(size * _LINE))


def layout_overlay(
    size: tuple[int, int], overlay: Overlay, brand: BrandStyle, *, logo: tuple[int, int] | None = None,
) -> OverlayLayout:
    """Lay out ``overlay`` on an image of ``size``; ``logo`` is the logo's own size."""
    w, h = size
    safe = safe_area(size)
    sl, st, sr, sb = safe
    pad = max(2, round(min(w, h) * 0.03))
    stripe_w = max(1, round(pad * 0.35))
    text_left, text_w = sl + stripe_w + pad, (sr - pad) - (sl + stripe_w + pad)
    max_text_h = int((sb - st) * _MAX_TEXT_SHARE) - 2 * pad
    head_path, sub_path = font_paths(brand.font_path)
    headline, subline = _clean(overlay.headline), _clean(overlay.subline)

    logo_box = _logo_box(logo, safe) if logo else None
    if not (headline or subline):
        return OverlayLayout(safe, None, None, logo_box, 0, 0, (), False)
    min_size = max(8, round(w * 0.028))
    if text_w < 2 * min_size or max_text_h < _line_height(min_size):
        return OverlayLayout(safe, None, None, logo_box, 0, 0, (), True,
                             "the image is too small for the overlay text; it was left out")

    head_size = max(min_size, round(w * 0.075))
    while True:
        head_font = load_font(Path(head_path), head_size)
        sub_size = max(min_size, round(head_size * _SUB_RATIO))
        sub_font = load_font(Path(sub_path), sub_size)
        head_lines = wrap(headline, head_font, text_w) if headline else []
        sub_lines = wrap(subline, sub_font, text_w) if subline else []
        gap = round(head_size * 0.35) if head_lines and sub_lines else 0
        height = (len(head_lines) * _line_height(head_size) + gap
                  + len(sub_lines) * _line_height(sub_size))
        if height <= max_text_h or head_size <= min_size:
            break
        head_size = max(min_size, int(head_size * _SHRINK))

    truncated = height > max_text_h
    if truncated:
        head_lines, sub_lines, gap = _truncate(head_lines, sub_lines, head_font, sub_font,
                                               head_size, sub_size, gap, text_w, max_text_h)
        height = (len(head_lines) * _line_height(head_size) + gap
                  + len(sub_lines) * _line_height(sub_size))

    panel = (sl, sb - height - 2 * pad, sr, sb)
    y = panel[1] + pad
    placed = []
    for line in head_lines:
        placed.append(TextLine(line, text_left, y, True))
        y += _line_height(head_size)
    y += gap
    for line in sub_lines:
        placed.append(TextLine(line, text_left, y, False))
        y += _line_height(sub_size)
    stripe = (sl, panel[1], sl + stripe_w, sb)
    note = "the overlay text is too long for the image and was cut short" if truncated else None
    return OverlayLayout(safe, panel, stripe, logo_box, head_size, sub_size, tuple(placed),
                         truncated, note)


def _truncate(
    head: list[str], sub: list[str], head_font: ImageFont.FreeTypeFont,
    sub_font: ImageFont.FreeTypeFont, head_size: int, sub_size: int, gap: int, width: int,
    max_h: int,
) -> tuple[list[str], list[str], int]:
    """Keep as many lines as fit, headline first, ending in an ellipsis."""
    room = max_h
    keep_head = min(len(head), max(1, room // _line_height(head_size)))
    room -= keep_head * _line_height(head_size)
    keep_sub = 0
    if sub and room - gap >= _line_height(sub_size):
        keep_sub = min(len(sub), (room - gap) // _line_height(sub_size))
    new_head = head[:keep_head]
    new_sub = sub[:keep_sub]
    if keep_sub < len(sub) and new_sub:
        new_sub[-1] = _fit_last(new_sub[-1], sub_font, width)
    elif keep_head < len(head) or (sub and not new_sub):
        new_head[-1] = _fit_last(new_head[-1], head_font, width)
    return new_head, new_sub, gap if new_sub else 0


def _logo_box(logo_size: tuple[int, int], safe: Box) -> Box:
    """The logo in the top right corner of the safe area, at most a quarter of its width."""
    sl, st, sr, sb = safe
    max_w, max_h = max(1, round((sr - sl) * 0.25)), max(1, round((sb - st) * 0.12))
    lw, lh = logo_size
    k = min(max_w / lw, max_h / lh)
    w, h = max(1, round(lw * k)), max(1, round(lh * k))
    return (sr - w, st, sr, st + h)


def _worst_contrast(text: Colour, lo: Colour, hi: Colour) -> float:
    """Lowest contrast of ``text`` against any colour between ``lo`` and ``hi`` per channel.

    Luminance grows with every channel, so the darkest and lightest possible backgrounds
    are the per-channel minimum and maximum: a safe bound without looking at each pixel.
    """
    lt = relative_luminance(text)
    l_lo, l_hi = relative_luminance(lo), relative_luminance(hi)
    if lt >= l_hi:
        return (lt + 0.05) / (l_hi + 0.05)
    if lt <= l_lo:
        return (l_lo + 0.05) / (lt + 0.05)
    return 1.0


def _panel_and_colours(
    region: Image.Image, brand: BrandStyle,
) -> tuple[Image.Image, Colour, Colour]:
    """The composited panel and headline/subline colours meeting the contrast minimum."""
    bg = parse_color(brand.background, "background")
    solid = Image.new("RGB", region.size, bg)
    preferred = [parse_color(brand.text, "text"), _WHITE, _BLACK]
    accent = parse_color(brand.accent, "accent")
    for text in preferred:
        for opacity in _PANEL_OPACITIES:
            panel = solid if opacity >= 1 else Image.blend(region, solid, opacity)
            extrema = panel.getextrema()
            lo = (extrema[0][0], extrema[1][0], extrema[2][0])
            hi = (extrema[0][1], extrema[1][1], extrema[2][1])
            if _worst_contrast(text, lo, hi) >= MIN_CONTRAST:
                sub = accent if _worst_contrast(accent, lo, hi) >= MIN_CONTRAST else text
                return panel, text, sub
    # Unreachable: any solid colour has 4.5:1 with white or with black.
    raise AssertionError("no legible text colour")


def load_logo(path: Path) -> Image.Image:
    """The brand logo as RGBA in sRGB; its transparency is kept for compositing."""
    from scheduler.media.decode import load_source

    src = load_source(path)
    logo = to_srgb(src.image, src.icc_profile, [])
    return logo if logo.mode == "RGBA" else logo.convert("RGBA")


def draw_overlay(
    image: Image.Image, overlay: Overlay | None, brand: BrandStyle, notes: list[str],
) -> Image.Image:
    """Draw the panel, text and logo on the RGB ``image`` (in place) and return it."""
    logo = load_logo(brand.logo_path) if brand.logo_path else None
    if overlay is None and logo is None:
        return image
    layout = layout_overlay(image.size, overlay or Overlay(""), brand,
                            logo=logo.size if logo else None)
    if layout.panel:
        region = image.crop(layout.panel)
        panel, head_colour, sub_colour = _panel_and_colours(region, brand)
        image.paste(panel, layout.panel[:2])
        draw = ImageDraw.Draw(image)
        draw.rectangle(_inclusive(layout.stripe), fill=parse_color(brand.accent, "accent"))
        head_path, sub_path = font_paths(brand.font_path)
        for line in layout.lines:
            if line.headline:
                font, colour = load_font(Path(head_path), layout.headline_size), head_colour
            else:
                font, colour = load_font(Path(sub_path), layout.subline_size), sub_colour
            draw.text((line.x, line.y), line.text, font=font, fill=colour, anchor="la")
    if layout.note:
        notes.append(layout.note)
    if logo is not None and layout.logo:
        x0, y0, x1, y1 = layout.logo
        scaled = resize(logo, (x1 - x0, y1 - y0))
        image.paste(scaled.convert("RGB"), (x0, y0), mask=scaled.getchannel("A"))
    return image


def _inclusive(box: Box | None) -> tuple[int, int, int, int]:
    """ImageDraw rectangles include their far edge; our boxes, like crop boxes, do not."""
    assert box is not None
    return (box[0], box[1], box[2] - 1, box[3] - 1)
