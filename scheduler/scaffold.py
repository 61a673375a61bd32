"""``postq init``: a new team's folder that validates, previews and queues as it stands.

The templates ship inside the package (``scheduler/data/init``), so this works from any
install. Example dates are set from today, so the examples are valid the day they are
made; the images are drawn here from shapes, so nothing large ships with postq.
"""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from string import Template

from scheduler.errors import UsageError

#: What ``init`` writes, relative to the new folder (images are drawn, not copied).
TEMPLATES = ("postq.toml", "posts/careers-example.md", "posts/exhibit-example.md",
             "posts/qa-example.md", "policy/deny-terms.txt")
IMAGES = ("assets/examples/office.jpg", "assets/examples/exhibit.jpg",
          "assets/examples/studio.jpg", "assets/brand/logo.png")
DATA_DIR = ".postq"


def init_project(target: Path, today: date) -> list[Path]:
    """Write a working project into ``target`` (new or empty); returns the files made.

    Nothing is overwritten: if any file it would write exists, nothing is written.
    """
    planned = [target / n for n in (*TEMPLATES, ".gitignore", *IMAGES)]
    taken = [p for p in planned if p.exists()]
    if taken:
        raise UsageError(f"{taken[0]} already exists; postq init only writes into a new "
                         "folder or one without these files")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} is a file, not a folder")
    values = {
        "careers_at": f"{today + timedelta(days=7)} 09:00",
        "closing": f"{today + timedelta(days=28)}",
        "exhibit_at": f"{today + timedelta(days=8)} 12:30",
        "qa_at": f"{today + timedelta(days=9)} 17:00",
        "event_at": f"{today + timedelta(days=16)} 18:00",
        "data_dir": DATA_DIR,
    }
    source = resources.files("scheduler").joinpath("data/init")
    made: list[Path] = []
    try:
        for name in (*TEMPLATES, "gitignore"):
            text = Template(source.joinpath(name).read_text(encoding="utf-8"))
            out = target / (".gitignore" if name == "gitignore" else name)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text.substitute(values), encoding="utf-8")
            made.append(out)
        for name in IMAGES:
            out = target / name
            out.parent.mkdir(parents=True, exist_ok=True)
            _draw(out)
            made.append(out)
    except OSError as exc:
        raise UsageError(f"cannot write into {target}: {exc.strerror or exc}") from None
    return made


def _draw(path: Path) -> None:
    """A simple picture of shapes for each example (no people, no photographs)."""
    from PIL import Image, ImageDraw

    if path.suffix == ".png":
        logo = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
        d = ImageDraw.Draw(logo)
        d.ellipse([16, 16, 240, 240], fill=(255, 221, 0, 255))
        d.rectangle([88, 88, 168, 168], fill=(11, 12, 12, 255))
        logo.save(path, "PNG")
        return
    palettes = {"office": ((92, 64, 44), (233, 226, 206)), "exhibit": ((70, 76, 80), (60, 90, 50)),
                "studio": ((25, 25, 35), (190, 30, 40))}
    back, thing = palettes.get(path.stem, ((60, 60, 60), (200, 200, 200)))
    img = Image.new("RGB", (2400, 1800), back)
    d = ImageDraw.Draw(img)
    d.rectangle([630, 570, 1770, 1350], fill=thing, outline=(20, 20, 20), width=8)
    d.ellipse([1875, 225, 2175, 525], fill=(255, 221, 0))
    img.save(path, "JPEG", quality=88)
