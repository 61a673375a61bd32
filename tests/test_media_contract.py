"""Contracts every render keeps, whatever the source: platform limits, and bounded memory."""

from __future__ import annotations

import atexit
import io
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from scheduler.errors import MediaError
from scheduler.media import BrandStyle, Overlay, check_source_size, probe_image, render_image
from scheduler.platforms import PROFILES
from tests.media_samples import bomb_png, photo, truncated_jpeg

# Hypothesis reuses one folder for all examples (function-scoped tmp_path would not do).
_WORKDIR = Path(tempfile.mkdtemp(prefix="postq-media-"))
atexit.register(shutil.rmtree, _WORKDIR, True)
_SOURCES: dict[tuple[int, int], Path] = {}


def _source(width: int, height: int) -> Path:
    if (width, height) not in _SOURCES:
        path = _WORKDIR / f"{width}x{height}.jpg"
        photo((width, height)).save(path, "JPEG", quality=85)
        _SOURCES[(width, height)] = path
    return _SOURCES[(width, height)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(min_value=60, max_value=1700),
    height=st.integers(min_value=60, max_value=1700),
    fit=st.sampled_from(["crop", "pad"]),
    focus=st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_every_profile_gets_what_it_accepts(width, height, fit, focus):
    src = _source(width, height)
    info = probe_image(src)
    for profile in PROFILES.values():
        problem = check_source_size(info, profile, fit)
        if problem:
            with pytest.raises(MediaError) as exc:
                render_image(src, profile, overlay=None, brand=BrandStyle(), fit=fit, focus=focus)
            assert str(exc.value) == f"{src}: {problem}"
            continue
        r = render_image(src, profile, overlay=Overlay("Hiring now", "Apply today"),
                         brand=BrandStyle(), fit=fit, focus=focus)
        out = Image.open(io.BytesIO(r.data))
        assert out.size == (r.width, r.height)
        assert profile.min_width <= r.width <= profile.max_width, profile.name
        assert r.width <= profile.render_size[0]
        assert profile.aspect_min <= r.width / r.height <= profile.aspect_max, profile.name
        assert len(r.data) <= profile.image_max_bytes
        assert out.format.lower() in profile.formats
        if fit == "crop":  # never enlarged
            assert r.width <= width and r.height <= height


_MEMORY_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from scheduler.errors import MediaError
    from scheduler.media import BrandStyle, Overlay, render_image
    from scheduler.platforms import PROFILES
    from scheduler.media.resample import resize
    from PIL import Image

    # The libraries' own code (libvips is loaded on the first resize) is not the images'.
    resize(Image.new("RGB", (8, 8)), (4, 4))

    def status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024  # MiB
        raise KeyError(key)

    results = {}
    for name in sys.argv[1:]:
        # Reset the high-water mark: a forked child starts with its parent's.
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = status("VmRSS")
        try:
            render_image(Path(name), PROFILES["instagram"], overlay=Overlay("Hello"),
                         brand=BrandStyle())
            results[name] = "ok"
        except MediaError as exc:
            results[name] = str(exc)
        results[name + ":growth"] = status("VmHWM") - before
    print(json.dumps(results))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc")
def test_bad_files_and_a_large_photo_stay_within_bounded_memory(tmp_path):
    # Pillow allocates pixels outside Python's allocator, so tracemalloc cannot see them;
    # a fresh interpreter's peak resident size can.
    bomb = bomb_png(tmp_path / "bomb.png")
    cut = truncated_jpeg(tmp_path / "cut.jpg", (4000, 3000))
    text = tmp_path / "text.jpg"
    text.write_text("hello")
    big = tmp_path / "big.jpg"
    photo((4000, 3000)).save(big, "JPEG", quality=90)  # 12 MP: 36 MiB if fully decoded
    files = [str(p) for p in (bomb, text, cut, big)]
    proc = subprocess.run([sys.executable, "-c", _MEMORY_SCRIPT, *files], capture_output=True,
                          text=True, check=True, cwd=Path(__file__).parent.parent)
    res = json.loads(proc.stdout)
    assert res[str(bomb)].startswith(f"{bomb}: image is too large to decode safely")
    assert res[str(text)] == f"{text}: not an image (cannot identify the format)"
    assert res[str(cut)] == f"{cut}: the image data is truncated or corrupt"
    assert res[str(big)] == "ok"
    # The bomb claims 30000x30000 (2.5 GiB of pixels); the failures cost next to nothing.
    assert res[str(bomb) + ":growth"] < 10
    assert res[str(text) + ":growth"] < 10
    assert res[str(cut) + ":growth"] < 32
    # Draft decoding reads the 12 MP photo at half size (9 MiB), and the whole render stays
    # below what the full decode alone would take (36 MiB).
    assert res[str(big) + ":growth"] < 32


def test_rounding_never_puts_the_crop_box_above_the_image() -> None:
    """Found by the property test above: 338x422 at 4:5 with focus (0, 0)."""
    from scheduler.media.frame import plan_frame
    from scheduler.platforms import PROFILES

    for name, profile in PROFILES.items():
        plan = plan_frame(338, 422, profile, (0.0, 0.0), "crop")
        assert plan.box[0] >= 0 and plan.box[1] >= 0, name
        assert plan.box[3] <= 422 and plan.box[2] <= 338, name


def test_a_render_under_a_larger_limit_is_what_the_smaller_limit_would_give(tmp_path) -> None:
    """The pipeline reuses the outbox's render for Instagram when it fits Instagram's
    byte limit; that is only honest if encoding for the smaller limit gives the same
    bytes, including when the quality had to step down."""
    from dataclasses import replace

    from PIL import Image

    from scheduler.media import BrandStyle, Overlay, render_image
    from scheduler.platforms import PROFILES

    src = tmp_path / "noise.jpg"
    Image.effect_noise((2400, 3000), 90).convert("RGB").save(src, quality=95)
    overlay, brand = Overlay("We're hiring", "Apply by 14 December"), BrandStyle()
    base = PROFILES["instagram"]
    big = render_image(src, replace(base, image_max_bytes=20_000_000), overlay=overlay, brand=brand)
    for limit in (len(big.data), len(big.data) + 10, 20_000_000):
        small = render_image(src, replace(base, image_max_bytes=limit), overlay=overlay, brand=brand)
        assert small.data == big.data
    tight = render_image(src, replace(base, image_max_bytes=len(big.data) // 2), overlay=overlay,
                         brand=brand)
    tighter_target = len(tight.data)
    again = render_image(src, replace(base, image_max_bytes=tighter_target), overlay=overlay,
                         brand=brand)
    assert again.data == tight.data
