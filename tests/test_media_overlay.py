"""Overlay text and logo: wrapping, shrinking, safe margins, contrast, glyph coverage."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from scheduler.errors import MediaError
from scheduler.media import BrandStyle, Overlay, default_font_path, missing_glyphs, render_image
from scheduler.media.colour import contrast_ratio
from scheduler.media.overlay import layout_overlay, safe_area
from scheduler.platforms import PROFILES

PNG_PROFILE = replace(PROFILES["mastodon"], formats=("png",))
LONG = ("We’re hiring Intelligence Officers, Analysts, Linguists, Engineers and "
        "Surveillance Specialists across London, Cheltenham, Manchester and Caerdydd – "
        "ŵŷ £40,000–£55,000 plus pension, flexible working and “genuinely interesting” work")


def _uniform(path: Path, colour=(90, 140, 200), size=(1300, 1300)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def _logo(path: Path) -> Path:
    img = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((10, 10, 390, 190), fill=(255, 221, 0, 255))
    img.save(path)
    return path


def _png(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def _inside(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (inner[0] >= outer[0] and inner[1] >= outer[1] and inner[2] <= outer[2]
            and inner[3] <= outer[3])


def test_long_headline_wraps_shrinks_and_stays_inside_the_safe_area(tmp_path):
    src = _uniform(tmp_path / "flat.png")
    brand = BrandStyle(logo_path=_logo(tmp_path / "logo.png"))
    overlay = Overlay(LONG, "Apply by 14 December – closing at midnight")
    plain = _png(render_image(src, PNG_PROFILE, overlay=None, brand=BrandStyle()).data)
    r = render_image(src, PNG_PROFILE, overlay=overlay, brand=brand)
    drawn = _png(r.data)
    assert drawn.size == plain.size == (1200, 1200)

    layout = layout_overlay(drawn.size, overlay, brand, logo=(400, 200))
    heads = [line for line in layout.lines if line.headline]
    assert len(heads) >= 4  # wrapped
    assert layout.headline_size < round(1200 * 0.075)  # shrunk from the starting size
    assert not layout.truncated and r.warnings == ()

    safe = safe_area(drawn.size)
    assert safe == (72, 72, 1128, 1128)
    assert layout.panel and layout.logo
    assert _inside(layout.panel, safe) and _inside(layout.logo, safe)
    diff = ImageChops.difference(plain, drawn)
    assert _inside(diff.getbbox(), safe)
    # Nothing changed outside the panel and the logo: blank those and no difference is left.
    diff.paste((0, 0, 0), layout.panel)
    diff.paste((0, 0, 0), layout.logo)
    assert diff.getbbox() is None


def test_overlong_text_is_cut_with_an_ellipsis_and_a_warning(tmp_path):
    src = _uniform(tmp_path / "flat.png")
    overlay = Overlay(" ".join([LONG] * 6), "Subline")
    r = render_image(src, PNG_PROFILE, overlay=overlay, brand=BrandStyle())
    layout = layout_overlay((r.width, r.height), overlay, BrandStyle())
    assert layout.truncated
    assert layout.lines[-1].text.endswith("…")
    assert r.warnings == ("the overlay text is too long for the image and was cut short",)
    drawn = _png(r.data)
    plain = _png(render_image(src, PNG_PROFILE, overlay=None, brand=BrandStyle()).data)
    assert _inside(ImageChops.difference(plain, drawn).getbbox(), safe_area(drawn.size))


def test_no_room_for_text_leaves_it_out_with_a_warning():
    layout = layout_overlay((200, 30), Overlay("Hiring"), BrandStyle())
    assert layout.panel is None and layout.lines == ()
    assert layout.note == "the image is too small for the overlay text; it was left out"


def test_a_word_wider_than_the_panel_is_broken(tmp_path):
    overlay = Overlay("Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 2)
    layout = layout_overlay((600, 600), overlay, BrandStyle())
    assert len(layout.lines) >= 2 and not layout.truncated


@pytest.mark.parametrize(
    ("background", "text"),
    [("#777777", "#888888"), ("#ffffff", "#ffee00"), ("#0b0c0c", "#ffffff"), ("#3366cc", "#000000")],
)
def test_text_meets_wcag_contrast_against_its_panel(tmp_path, background, text):
    src = _uniform(tmp_path / "flat.png", colour=(250, 250, 250))
    brand = BrandStyle(background=background, text=text, accent=text)
    overlay = Overlay("Contrast matters", "for every reader")
    r = render_image(src, PNG_PROFILE, overlay=overlay, brand=brand)
    img = _png(r.data)
    layout = layout_overlay(img.size, overlay, brand)
    assert layout.panel and layout.stripe
    panel = img.crop((layout.stripe[2], *layout.panel[1:]))
    panel_colour = panel.getpixel((panel.width - 2, 1))
    colours = {c for _n, c in panel.getcolors(1 << 20)}
    text_colour = max(colours, key=lambda c: contrast_ratio(c, panel_colour))
    assert contrast_ratio(text_colour, panel_colour) >= 4.5


def test_panel_turns_more_opaque_until_the_text_is_legible(tmp_path):
    # A mid-grey panel over a white photo: at the first opacity white text would only
    # reach about 3.9:1, so the panel must darken further, yet still let the photo through.
    src = _uniform(tmp_path / "white.png", colour=(255, 255, 255))
    brand = BrandStyle(background="#666666", text="#ffffff", accent="#ffffff")
    overlay = Overlay("Bright photos")
    out = _png(render_image(src, PNG_PROFILE, overlay=overlay, brand=brand).data)
    layout = layout_overlay(out.size, overlay, brand)
    corner = out.getpixel((layout.panel[2] - 2, layout.panel[1] + 1))
    assert corner != (0x66, 0x66, 0x66)  # not solid: the photo shows through
    assert contrast_ratio((255, 255, 255), corner) >= 4.5


def test_missing_glyphs_finds_what_the_font_lacks():
    assert missing_glyphs("Croeso i’r swyddfa: ŵŷ £€‘’“”–— ÂÊÎÔÛŴŶ") == []
    assert missing_glyphs("Join us 你 你好 \n\t") == ["你", "好"]
    assert missing_glyphs("w\u0302") == []  # composed to ŵ before checking, as drawn
    assert missing_glyphs("你", default_font_path()) == ["你"]


def test_default_font_ships_with_its_licence():
    path = default_font_path()
    assert path.is_file() and path.suffix == ".ttf"
    licence = (path.parent / "LICENSE").read_text()
    assert "Bitstream" in licence and "DejaVu" in licence


def test_a_brand_font_is_used_and_a_bad_one_is_refused(tmp_path):
    src = _uniform(tmp_path / "flat.png")
    brand = BrandStyle(font_path=default_font_path())
    r = render_image(src, PNG_PROFILE, overlay=Overlay("Custom font"), brand=brand)
    assert r.width == 1200
    bad = tmp_path / "font.ttf"
    bad.write_text("not a font")
    with pytest.raises(MediaError) as exc:
        render_image(src, PNG_PROFILE, overlay=Overlay("x"), brand=BrandStyle(font_path=bad))
    assert str(exc.value) == f"{bad}: cannot load the font (not a usable font)"
    with pytest.raises(MediaError) as exc:
        missing_glyphs("x", bad)
    assert str(exc.value) == f"{bad}: not a TrueType or OpenType font with a character map"


def test_bad_brand_colour_and_logo_are_clear_errors(tmp_path):
    src = _uniform(tmp_path / "flat.png")
    with pytest.raises(MediaError) as exc:
        render_image(src, PNG_PROFILE, overlay=None, brand=BrandStyle(background="navy"))
    assert str(exc.value) == "brand background 'navy' is not a colour like #0b0c0c"
    logo = tmp_path / "logo.png"
    logo.write_text("svg? no")
    with pytest.raises(MediaError) as exc:
        render_image(src, PNG_PROFILE, overlay=None, brand=BrandStyle(logo_path=logo))
    assert str(exc.value) == f"{logo}: not an image (cannot identify the format)"
