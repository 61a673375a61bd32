"""The command line as a person uses it: help everywhere, run --once, dry runs, the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler.cli import COMMANDS, cli
from tests.project import Project

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help_and_is_in_the_readme(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: " in result.output
    doc = result.output.split("\n\n", 2)[1].strip()
    assert len(doc) > 15
    assert f"postq {name}" in README


def test_top_level_help_imports_no_heavy_library() -> None:
    code = ("import sys; from scheduler.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('PIL', 'sqlalchemy', 'apscheduler', 'requests', 'pydantic', 'yaml',"
            " 'av', 'numpy', 'srt', 'webvtt')"
            " if m in sys.modules]\nprint(heavy, file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"


def test_python_dash_m_works() -> None:
    out = subprocess.run([sys.executable, "-m", "scheduler", "--version"], capture_output=True,
                         text=True, check=True)
    assert out.stdout.startswith("postq, version ")


def test_no_config_is_one_clear_sentence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSTQ_CONFIG", raising=False)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 1
    assert result.stderr == (f"error: no postq.toml found in {tmp_path.resolve()} or any folder above "
                             "it; pass --config or set POSTQ_CONFIG\n")


def test_bad_config_key_names_file_and_key(project: Project) -> None:
    project.write_config('[postq]\ntimezone = "Europe/Londn"\n', base="")
    result = project.run("validate")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {project.config}: postq.timezone: 'Europe/Londn' is not a known "
                             "time zone (e.g. Europe/London)\n")


def test_run_once_publishes_an_approved_post_to_the_outbox(project: Project) -> None:
    project.careers(**{"publish_at: 2026-12-01 09:00\n": ""})
    added = project.run("queue", "add", "posts/io.md", "--at", "+1s", env={"POSTQ_USER": "alice"})
    assert added.exit_code == 0, added.output
    mine = project.run("approve", "io", env={"POSTQ_USER": "alice"})
    assert mine.exit_code == 1
    ok = project.run("approve", "io", env={"POSTQ_USER": "bob"})
    assert ok.exit_code == 0, ok.output
    import time

    time.sleep(1.2)
    result = project.run("run", "--once")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("io@outbox: published")
    folders = list((project.root / ".postq" / "outbox").iterdir())
    assert len(folders) == 1
    meta = json.loads((folders[0] / "meta.json").read_text(encoding="utf-8"))
    assert meta["post_id"] == "io" and meta["channel"] == "outbox"
    assert (folders[0] / "caption.txt").read_text(encoding="utf-8") == (
        "Join us.\n\nhttps://www.example.gov.uk/careers/io\n\n#careers")
    again = project.run("run", "--once")
    assert again.stdout == "Nothing was due.\n"
    assert len(list((project.root / ".postq" / "outbox").iterdir())) == 1


def test_dry_run_shows_requests_and_hides_secrets(project: Project) -> None:
    project.write_config('''
        [channels.hook]
        adapter = "webhook"
        url = "https://hooks.example.gov.uk/postq"
        secret_env = "POSTQ_HOOK_SECRET"
    ''')
    project.careers(**{"publish_at: 2026-12-01 09:00\n": "", "channels: [outbox]":
                       "channels: [outbox, hook]"})
    env = {"POSTQ_USER": "alice", "POSTQ_HOOK_SECRET": "hunter2-very-secret"}
    assert project.run("queue", "add", "posts/io.md", "--at", "+1s", env=env).exit_code == 0
    assert project.run("approve", "io", env={"POSTQ_USER": "bob"}).exit_code == 0
    import time

    time.sleep(1.2)
    result = project.run("run", "--dry-run", env=env)
    assert result.exit_code == 0, result.output
    assert "POST https://hooks.example.gov.uk/postq" in result.stdout
    assert "io@outbox" in result.stdout and "io@hook" in result.stdout
    assert "hunter2-very-secret" not in result.output
    listing = project.run("queue", "list", "--json")
    assert {d["state"] for d in json.loads(listing.stdout)["deliveries"]} == {"scheduled"}
    assert not (project.root / ".postq" / "outbox").exists()


def test_demo_publishes_every_example(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-m", "scheduler", "demo", "--spacing", "0.5", "--keep",
         str(tmp_path / "demo")], cwd=repo, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "31 of 31 deliveries published" in out.stdout
    outbox = tmp_path / "demo" / ".postq" / "outbox"
    folders = [p for p in outbox.iterdir() if p.name != "retracted"]
    assert len(folders) == 30  # one of the 31 was retracted
    # The captioned video made at demo time: the outbox keeps its caption file beside it;
    # the Instagram rehearsal holds the Reel render, captions burned in as Instagram needs.
    (plain,) = outbox.glob("*_day-in-the-archive@outbox")
    (reel,) = outbox.glob("*_day-in-the-archive@instagram-rehearsal")
    assert {p.name for p in plain.iterdir()} == {"caption.txt", "video.mp4", "captions.vtt",
                                                "cover.jpg", "meta.json"}
    assert {p.name for p in reel.iterdir()} == {"caption.txt", "video.mp4", "cover.jpg",
                                               "meta.json"}
    meta = json.loads((reel / "meta.json").read_text(encoding="utf-8"))
    assert meta["video"]["alt"].startswith("A slow pan across shelves")
    assert meta["video"]["height"] / meta["video"]["width"] == pytest.approx(16 / 9, rel=0.01)
    (gone,) = (outbox / "retracted").iterdir()
    assert (gone / "retraction.json").is_file()
    assert f"Retracted {gone.name.split('_', 1)[1]} (retracted): its folder moved to " \
        f"{outbox / 'retracted'}" in out.stdout
    index = tmp_path / "demo" / "archive" / "index.html"
    assert out.stdout.endswith(f"Archive (BagIt bags; open in a browser): {index}\n")
    bags = [p for p in index.parent.iterdir() if p.is_dir()]
    assert len(bags) == 31


def test_channels_check_dry_run_shows_the_call_without_the_token(project: Project) -> None:
    project.write_config('''
        [channels.xx]
        adapter = "x"
        token_env = "POSTQ_X_TOKEN"
        base_url = "https://api.x.example"
    ''')
    result = project.run("channels", "--check", "--dry-run", env={"POSTQ_X_TOKEN": "tok-123456789"})
    assert result.exit_code == 0, result.output
    assert "    would call: GET https://api.x.example/2/users/me\n" in result.stdout
    assert "      Authorization: ***\n" in result.stdout
    assert "tok-123456789" not in result.output
    assert "    POSTQ_X_TOKEN: set\n" in result.stdout


def test_channels_names_missing_variables_never_values(project: Project) -> None:
    project.write_config('''
        [channels.xx]
        adapter = "x"
        token_env = "POSTQ_X_TOKEN"
    ''')
    result = project.run("channels", env={"POSTQ_X_TOKEN": ""})
    assert "xx         x          NOT READY" in result.stdout
    assert "    problem: environment variable POSTQ_X_TOKEN (token_env) is not set" in result.stdout


def test_the_demo_video_is_made_without_the_test_extras(tmp_path: Path) -> None:
    """The quick start installs postq without ``[test]``: the demo's clip must be made
    with what a plain install has (numpy comes only with the test extras)."""
    script = (
        "import sys; sys.modules['numpy'] = None\n"
        "from pathlib import Path\n"
        "from scheduler.publish.demo_video import make_clip\n"
        f"make_clip(Path({str(tmp_path / 'clip.mp4')!r}))\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stderr
    import av

    with av.open(str(tmp_path / "clip.mp4")) as clip:
        kinds = {s.type for s in clip.streams}
        assert kinds == {"video", "audio"}
        assert (clip.streams.video[0].width, clip.streams.video[0].height) == (360, 640)
        assert 3.3 <= clip.duration / 1_000_000 <= 3.6
