"""``postq init``: a new folder that validates, previews and queues as it stands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _env(tmp_path: Path) -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "POSTQ_CONFIG"}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", POSTQ_USER="alice",
               HOME=str(tmp_path), COLUMNS="200")
    return env


def sh(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_init_then_validate_preview_and_queue_add(tmp_path: Path) -> None:
    env = _env(tmp_path)
    done = sh("postq init newteam && cd newteam && postq validate && postq preview && "
              "postq queue add posts/*.md", tmp_path, env)
    assert done.returncode == 0, done.stdout + done.stderr
    root = tmp_path / "newteam"
    lines = done.stdout.splitlines()
    assert lines[:12] == [
        f"Made 10 files in {root}:", "  postq.toml", "  posts/careers-example.md",
        "  posts/exhibit-example.md", "  posts/qa-example.md", "  policy/deny-terms.txt",
        "  .gitignore", "  assets/examples/office.jpg", "  assets/examples/exhibit.jpg",
        "  assets/examples/studio.jpg", "  assets/brand/logo.png",
        "Next: cd newteam && postq validate && postq preview && postq queue add posts/*.md",
    ]
    assert lines[12:15] == ["3 post(s) checked: all good.",
                            "3 post(s), 15 card(s), 9 image(s) rendered.",
                            f"Preview: {root / 'preview' / 'index.html'}"]
    queued = [line.split(" for ")[0] for line in lines[15:]]
    assert queued == [
        "queued careers-example@instagram-rehearsal", "queued careers-example@outbox",
        "queued careers-example@x-rehearsal", "queued exhibit-example@instagram-rehearsal",
        "queued exhibit-example@outbox", "queued exhibit-example@x-rehearsal",
        "queued qa-example@instagram-rehearsal", "queued qa-example@outbox",
        "queued qa-example@x-rehearsal", "queued qa-example@instagram-rehearsal~-1d",
        "queued qa-example@outbox~-1d", "queued qa-example@x-rehearsal~-1d",
        "queued qa-example@instagram-rehearsal~-1h", "queued qa-example@outbox~-1h",
        "queued qa-example@x-rehearsal~-1h",
    ]
    assert done.stderr == ""
    assert (root / ".gitignore").read_text() == (
        "# postq: the queue database, rendered media and the outbox\n/.postq/\n"
        "# postq preview output\n/preview/\n")
    assert "# [channels.instagram]\n# adapter = \"instagram\"" in (root / "postq.toml").read_text()


def test_init_never_overwrites(tmp_path: Path) -> None:
    env = _env(tmp_path)
    (tmp_path / "team" / "posts").mkdir(parents=True)
    (tmp_path / "team" / "posts" / "qa-example.md").write_text("mine")
    r = sh("postq init team", tmp_path, env)
    assert (r.returncode, r.stdout, r.stderr) == (
        1, "", "error: team/posts/qa-example.md already exists; postq init only writes into "
               "a new folder or one without these files\n")
    assert (tmp_path / "team" / "posts" / "qa-example.md").read_text() == "mine"
    assert not (tmp_path / "team" / "postq.toml").exists()


def test_a_missing_brand_file_names_the_setting_and_the_file(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert sh("postq init t", tmp_path, env).returncode == 0
    (tmp_path / "t" / "assets" / "brand" / "logo.png").unlink()
    config = tmp_path / "t" / "postq.toml"
    expected = (f"error: {config}: [brand] logo: assets/brand/logo.png: file not found "
                f"(looked for {tmp_path / 't' / 'assets' / 'brand' / 'logo.png'})\n")
    for command in ("validate", "preview"):
        r = sh(f"postq {command}", tmp_path / "t", env)
        assert (r.returncode, r.stderr) == (1, expected), command
