"""Captions drawn into the picture, for platforms that take no caption file.

The text is set in the shipped font (or the brand font) on a dark panel, as the image
overlay does: white on a panel 65 % black stays above WCAG's 4.5:1 contrast over any
picture (a white picture behind the panel comes out at 35 % grey, relative luminance 0.10:
a contrast of 7:1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANEL_ALPHA = 166  # 65 % of 255


def caption_overlay(text: str, size: tuple[int, int], font_path: Path | None) -> tuple[Any, tuple[int, int]]:
    """An RGBA image of ``text`` on its panel, and where it goes (bottom centre, in the
    lower safe area platforms leave free of their own buttons)."""
    from PIL import Image, ImageDraw

    from scheduler.media.fonts import default_font_path, load_font
    from scheduler.media.overlay import wrap

    w, h = size
    px = max(10, round(min(w, h) * 0.055))
    font = load_font(Path(font_path or default_font_path()), px)
    margin = max(4, w // 20)
    lines = wrap(text, font, w - 4 * margin)[:3]
    line_h = round(px * 1.25)
    text_w = max((font.getlength(line) for line in lines), default=0)
    box_w = int(text_w) + 2 * margin
    box_h = line_h * len(lines) + margin
    panel = Image.new("RGBA", (box_w, box_h), (0, 0, 0, PANEL_ALPHA))
    draw = ImageDraw.Draw(panel)
    for i, line in enumerate(lines):
        lw = font.getlength(line)
        draw.text(((box_w - lw) / 2, margin / 2 + i * line_h), line, font=font,
                  fill=(255, 255, 255, 255))
    where = ((w - box_w) // 2, h - box_h - max(margin, h // 8))
    return panel, where
