"""Draw the example images in assets/ from shapes alone (no photographs, no people).

Run once to regenerate: python tools/draw_example_assets.py. The output is deterministic.
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1] / "assets"


def _sky(w: int, h: int, top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(img)
    for y in range(h):
        t = y / (h - 1)
        d.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return img


def _grain(img: Image.Image, seed: int) -> Image.Image:
    rnd = random.Random(seed)
    noise = Image.new("L", img.size)
    noise.putdata([rnd.randint(0, 40) for _ in range(img.size[0] * img.size[1])])
    noise = noise.filter(ImageFilter.GaussianBlur(1))
    return Image.composite(img, Image.new("RGB", img.size, (20, 20, 20)),
                           noise.point(lambda v: 255 - v))


def desk() -> Image.Image:
    """A desk with case files, a lamp and a mug, seen from above."""
    img = _sky(2400, 1800, (92, 64, 44), (60, 40, 28))
    d = ImageDraw.Draw(img)
    d.rectangle([300, 420, 1150, 1500], fill=(233, 226, 206), outline=(120, 110, 90), width=6)
    for i in range(14):
        y = 520 + i * 62
        d.line([(380, y), (1060 - (i % 3) * 90, y)], fill=(90, 90, 100), width=8)
    d.rectangle([1250, 380, 1980, 1320], fill=(176, 48, 40), outline=(110, 30, 24), width=6)
    d.rectangle([1330, 470, 1900, 560], fill=(240, 232, 210))
    d.ellipse([1750, 1380, 2080, 1710], fill=(245, 245, 240), outline=(200, 200, 195), width=10)
    d.ellipse([1800, 1430, 2030, 1660], fill=(74, 44, 26))
    d.polygon([(150, 150), (650, 150), (520, 380), (280, 380)], fill=(30, 60, 50))
    d.ellipse([330, 330, 470, 470], fill=(255, 236, 160))
    return _grain(img, 1)


def cipher_machine() -> Image.Image:
    """A 1940s rotor cipher machine in its wooden case."""
    img = _sky(2000, 2400, (40, 40, 46), (16, 16, 20))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle([200, 500, 1800, 2100], 40, fill=(112, 74, 40), outline=(70, 44, 22), width=12)
    d.rounded_rectangle([300, 620, 1700, 2000], 24, fill=(28, 28, 30))
    for r in range(3):
        x = 620 + r * 280
        d.rounded_rectangle([x, 700, x + 160, 960], 20, fill=(180, 170, 150))
        for k in range(6):
            d.line([(x + 10, 730 + k * 38), (x + 150, 730 + k * 38)], fill=(90, 85, 75), width=6)
    for row, count in enumerate((10, 9, 8)):
        for k in range(count):
            cx = 420 + k * 125 + row * 60
            cy = 1200 + row * 180
            d.ellipse([cx - 48, cy - 48, cx + 48, cy + 48], fill=(235, 235, 225),
                      outline=(60, 60, 60), width=8)
            d.ellipse([cx - 36, cy - 36, cx + 36, cy + 36], fill=(20, 20, 20))
    for row, count in enumerate((10, 9)):
        for k in range(count):
            cx = 420 + k * 125 + row * 60
            cy = 1000 + row * 0
            if row == 0:
                d.ellipse([cx - 30, cy - 30, cx + 30, cy + 30], fill=(250, 230, 150))
    return _grain(img, 2)


def radio_set() -> Image.Image:
    """A suitcase radio transmitter with dials and a Morse key."""
    img = _sky(2400, 1600, (58, 66, 52), (30, 34, 28))
    d = ImageDraw.Draw(img)
    d.rectangle([260, 260, 2140, 1340], fill=(60, 52, 40), outline=(30, 26, 20), width=14)
    d.rectangle([340, 340, 2060, 1260], fill=(36, 38, 36))
    for i, x in enumerate((560, 980, 1400)):
        d.ellipse([x - 140, 560, x + 140, 840], fill=(20, 20, 20), outline=(170, 170, 160), width=10)
        d.line([(x, 700), (x + 90 - i * 40, 610 + i * 30)], fill=(230, 200, 80), width=10)
    d.rectangle([1650, 480, 1950, 900], fill=(200, 190, 160))
    for k in range(8):
        d.line([(1670, 520 + k * 48), (1930, 520 + k * 48)], fill=(120, 110, 90), width=4)
    d.rectangle([600, 1020, 1100, 1120], fill=(150, 130, 90))
    d.ellipse([1040, 980, 1160, 1100], fill=(30, 30, 30))
    return _grain(img, 3)


def qa_studio() -> Image.Image:
    """An empty studio set: two chairs, a microphone and a ring light — nobody in it."""
    img = _sky(2400, 2400, (20, 34, 64), (6, 10, 22))
    d = ImageDraw.Draw(img)
    d.ellipse([700, 300, 1700, 1300], outline=(255, 240, 200), width=40)
    for x in (700, 1500):
        d.rounded_rectangle([x, 1500, x + 360, 1760], 30, fill=(190, 60, 50))
        d.rectangle([x + 40, 1760, x + 70, 2100], fill=(60, 60, 60))
        d.rectangle([x + 290, 1760, x + 320, 2100], fill=(60, 60, 60))
    d.rectangle([1180, 1250, 1220, 2000], fill=(80, 80, 80))
    d.rounded_rectangle([1140, 1140, 1260, 1320], 50, fill=(40, 40, 40))
    d.rectangle([0, 2100, 2400, 2400], fill=(30, 26, 24))
    return _grain(img, 4)


def building() -> Image.Image:
    """A headquarters building at dusk, as a silhouette with lit windows."""
    img = _sky(2600, 1600, (250, 160, 90), (60, 50, 110))
    d = ImageDraw.Draw(img)
    d.rectangle([300, 600, 2300, 1600], fill=(30, 30, 40))
    d.rectangle([1000, 350, 1600, 600], fill=(30, 30, 40))
    rnd = random.Random(5)
    for row in range(8):
        for col in range(26):
            if rnd.random() < 0.55:
                x, y = 360 + col * 74, 660 + row * 110
                d.rectangle([x, y, x + 40, y + 60], fill=(255, 220, 140))
    return _grain(img, 5)


def logo() -> Image.Image:
    """A simple portcullis-like emblem (transparent PNG)."""
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.ellipse([10, 10, 390, 390], fill=(255, 221, 0, 255))
    d.rectangle([110, 110, 290, 300], outline=(11, 12, 12, 255), width=18)
    for x in (155, 200, 245):
        d.line([(x, 110), (x, 300)], fill=(11, 12, 12, 255), width=14)
    for y in (160, 220):
        d.line([(110, y), (290, y)], fill=(11, 12, 12, 255), width=14)
    return img


def main() -> None:
    jobs = {
        "careers/desk.jpg": desk,
        "careers/building.jpg": building,
        "archive/cipher-machine.jpg": cipher_machine,
        "archive/radio-set.jpg": radio_set,
        "qa/studio.jpg": qa_studio,
    }
    for rel, fn in jobs.items():
        out = ROOT / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        fn().save(out, "JPEG", quality=88)
    (ROOT / "brand").mkdir(parents=True, exist_ok=True)
    logo().save(ROOT / "brand" / "logo.png")


if __name__ == "__main__":
    main()
