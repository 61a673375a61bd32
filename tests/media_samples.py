"""Real image files for the media tests, made on the spot so no binary fixtures are kept.

Every maker is deterministic (seeded noise, gradients), so a failing test can be rerun
and the determinism test has something realistic to chew on.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

from PIL import Image

RED, BLUE, GREEN = (220, 20, 20), (20, 20, 220), (20, 200, 20)


def photo(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """A photo-like RGB image: smooth gradients plus fine noise, so JPEG sizes are real."""
    w, h = size
    grad = Image.linear_gradient("L").resize((w, h))
    radial = Image.radial_gradient("L").resize((w, h))
    rng = random.Random(seed)
    nw, nh = max(1, w // 2), max(1, h // 2)
    noise = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh)).resize((w, h))
    return Image.merge("RGB", (grad, radial, noise))


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Full-resolution RGB noise: the worst case for a byte limit."""
    w, h = size
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(w * h * 3))


def sharp(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Text and thin lines on a plain ground: detail at every scale, where a softer resize
    filter or a coarser JPEG decode shows at once (a photo's noise would hide it)."""
    from PIL import ImageDraw, ImageFont

    from scheduler.media.fonts import default_font_path

    w, h = size
    rng = random.Random(seed)
    img = Image.new("RGB", size, (200, 190, 170))
    draw = ImageDraw.Draw(img)
    for _ in range(150):
        font = ImageFont.truetype(str(default_font_path()), rng.randrange(14, 120))
        draw.text((rng.randrange(w), rng.randrange(h)), "Apply by 14 December", font=font,
                  fill=tuple(rng.randrange(256) for _ in range(3)))
    for _ in range(150):
        draw.line((rng.randrange(w), rng.randrange(h), rng.randrange(w), rng.randrange(h)),
                  fill=tuple(rng.randrange(256) for _ in range(3)), width=rng.randrange(1, 5))
    return img


def halves(size: tuple[int, int], left: tuple[int, int, int] = RED,
           right: tuple[int, int, int] = BLUE) -> Image.Image:
    """Left half one colour, right half another: shows where an image ended up."""
    img = Image.new("RGB", size, right)
    img.paste(left, (0, 0, size[0] // 2, size[1]))
    return img


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with an orientation, a camera make and a GPS position (what phones write)."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 29.0, 15.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 30.0)
    return exif


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'dc:creator="Secret Photographer"/></rdf:RDF></x:xmpmeta>')


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def swapped_rgb_profile() -> bytes:
    """An ICC v2 RGB profile whose red and green primaries are swapped.

    Converting through it turns stored red into displayed green, so a test can tell at a
    glance whether the profile was applied or ignored.
    """
    desc_text = b"Swapped RG\0"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(desc_text)) + desc_text
            + b"\0" * 4 + b"\0" * 4 + b"\0" * 2 + b"\0" + b"\0" * 67)
    curve = b"curv" + b"\0" * 4 + struct.pack(">I", 1) + struct.pack(">H", 0x0233) + b"\0\0"
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright\0"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(0.3851, 0.7169, 0.0971)),  # sRGB's green
        (b"gXYZ", _xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    entries, blobs = b"", b""
    for sig, data in tags:
        while len(data) % 4:
            data += b"\0"
        entries += sig + struct.pack(">II", offset + len(blobs), len(data))
        blobs += data
    size = 128 + table_len + len(blobs)
    header = (struct.pack(">I", size) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntr"
              + b"RGB " + b"XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 4 + b"\0" * 4 + b"\0" * 8
              + b"\0" * 8 + b"\0" * 4 + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 4
              + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + entries + blobs


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path, width: int = 30000, height: int = 30000) -> Path:
    """A few hundred bytes claiming to be a huge PNG: the classic decompression bomb."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 4096, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
                     + _chunk(b"IEND", b""))
    return path


def truncated_jpeg(path: Path, size: tuple[int, int] = (2000, 1500)) -> Path:
    """A real JPEG cut off a third of the way through, as an interrupted copy leaves it."""
    buf = io.BytesIO()
    photo(size).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path.write_bytes(data[: len(data) // 3])
    return path


def animated_gif(path: Path, size: tuple[int, int] = (800, 800)) -> Path:
    frames = [Image.new("RGB", size, c).convert("P") for c in (RED, GREEN, BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return path
