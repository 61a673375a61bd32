"""``postq channels`` shows each channel's video limits; ``run --dry-run`` shows each call of
each video flow, secrets redacted."""

from __future__ import annotations

import textwrap

import pytest

from tests.project import Project
from tests.test_video_content import queue_due_now, video_post
from tests.video_samples import make_video

pytest.importorskip("av")

SECRETS = {"POSTQ_X_TOKEN": "x-secret-Recognisable-77aa", "POSTQ_M_TOKEN": "m-secret-Recog-88bb",
           "POSTQ_B_PASS": "b-secret-Recog-99cc"}
CHANNELS = """
    [channels.x]
    adapter = "x"
    token_env = "POSTQ_X_TOKEN"

    [channels.mastodon]
    adapter = "mastodon"
    base_url = "https://social.example"
    token_env = "POSTQ_M_TOKEN"
    video_size_limit = 41943040

    [channels.bluesky]
    adapter = "bluesky"
    handle = "careers.example"
    password_env = "POSTQ_B_PASS"

    [channels.reels]
    adapter = "outbox"
    profile = "instagram"
"""


@pytest.fixture
def channels_project(project: Project) -> Project:
    base = project.config.read_text(encoding="utf-8")
    for name in ("x", "bluesky", "mastodon"):
        base = base.replace(f'[channels.{name}]\nadapter = "{name}"\n', "")
    project.write_config(textwrap.dedent(CHANNELS), base=base)
    return project


def test_channels_show_each_channels_video_limits(channels_project: Project) -> None:
    out = channels_project.run("channels", env={"COLUMNS": "200", **SECRETS}).stdout
    lines = out.splitlines()

    def video_of(channel: str) -> str:
        at = next(i for i, line in enumerate(lines) if line.startswith(channel + " "))
        return lines[at + 1].strip()

    assert video_of("x") == "video: X, 0.5–140 s, up to 512 MiB, 1280x720, captions as a file"
    assert video_of("mastodon") == ("video: Mastodon, 0.1–3600 s, up to 40 MiB, 1080x1920, "
                                    "captions burned in")
    assert video_of("bluesky").startswith("video: Bluesky, 1–180 s, up to 100 MB")
    assert video_of("reels").startswith("video: Instagram Reels, 3–900 s")
    assert video_of("threads").startswith("video: Threads")
    for secret in SECRETS.values():
        assert secret not in out


def test_dry_run_shows_each_call_of_each_video_flow(channels_project: Project) -> None:
    p = channels_project
    make_video(p.root / "assets" / "clip.mp4", size=(320, 180), seconds=3)
    (p.root / "assets" / "clip.vtt").write_text(
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello\n", encoding="utf-8")
    queue_due_now(p, video_post(p, channels="x, mastodon, bluesky, outbox",
                      extra="  captions: clip.vtt\n  cover: 1"))
    result = p.run("run", "--dry-run", env=SECRETS)
    assert result.exit_code == 0, result.output
    out = result.stdout
    calls = [line.strip() for line in out.splitlines() if line.startswith("  ")
             and line.strip().split(" ")[0] in ("GET", "POST", "WRITE")]
    x = [c for c in calls if "api.x.com" in c]
    assert x[0] == "POST https://api.x.com/2/media/upload/initialize"
    assert "POST https://api.x.com/2/media/upload/<video id>/append" in x
    assert "GET https://api.x.com/2/media/upload?command=STATUS&media_id=<video id>" in x
    assert "POST https://api.x.com/2/media/subtitles" in x and x[-1].endswith("/2/tweets")
    masto = [c for c in calls if "social.example" in c]
    assert masto == ["POST https://social.example/api/v2/media",
                     "GET https://social.example/api/v1/media/<video id>",
                     "POST https://social.example/api/v1/statuses"]
    bsky = [c.split("?")[0] for c in calls if "bsky" in c]
    assert "POST https://video.bsky.app/xrpc/app.bsky.video.uploadVideo" in bsky
    assert "GET https://video.bsky.app/xrpc/app.bsky.video.getJobStatus" in bsky
    assert bsky[-1] == "POST https://bsky.social/xrpc/com.atproto.repo.createRecord"
    assert any(c.startswith("WRITE file://") for c in calls)
    assert '"$type": "app.bsky.embed.video"' in out and '"video.mp4":' in out
    for secret in SECRETS.values():
        assert secret not in out
