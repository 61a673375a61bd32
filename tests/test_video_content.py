"""Video in post files: validate's exact sentences, and the renders a preview makes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.project import Project
from tests.video_samples import frame_at, make_video

pytest.importorskip("av")

POST = """\
---
kind: careers_promo
id: {id}
publish_at: 2026-12-01 09:00
channels: [{channels}]
role: Intelligence Officer
closing_date: 2026-12-14
apply_url: https://www.example.gov.uk/careers/io
video:
  path: clip.mp4
  alt: An officer walks through the archive.
{extra}
---
A day in the life.
"""

SRT = "1\n00:00:00,200 --> 00:00:01,500\nWelcome to the archive\n\n" \
      "2\n00:00:01,600 --> 00:00:02,800\nWe are hiring\n"


def video_post(project: Project, *, channels: str = "outbox", extra: str = "",
               post_id: str = "clip") -> Path:
    return project.post(f"{post_id}.md", POST.format(id=post_id, channels=channels,
                                                     extra=extra))


def queue_due_now(project: Project, path: Path) -> None:
    """Queue the post file at ``path`` a second from now (its own ``publish_at`` dropped),
    approve it as a second person and wait until it is due: ready for ``run``."""
    path.write_text(path.read_text(encoding="utf-8").replace("publish_at: 2026-12-01 09:00\n",
                                                             ""), encoding="utf-8")
    added = project.run("queue", "add", str(path), "--at", "+1s", env={"POSTQ_USER": "alice"})
    assert added.exit_code == 0, added.output
    approved = project.run("approve", path.stem, env={"POSTQ_USER": "bob"})
    assert approved.exit_code == 0, approved.output
    time.sleep(1.2)


@pytest.fixture
def clip(project: Project) -> Path:
    (project.root / "assets" / "clip.srt").write_text(SRT, encoding="utf-8")
    return make_video(project.root / "assets" / "clip.mp4", size=(320, 180), seconds=3)


def validate_lines(project: Project) -> list[str]:
    result = project.run("validate")
    return [line for line in result.output.splitlines() if line.startswith("posts/")]


def test_captions_are_required_unless_speech_false(project, clip):
    video_post(project)
    assert validate_lines(project) == [
        "posts/clip.md:9: video.captions: missing: a video with speech needs a caption "
        "file (.srt or .vtt); for a video without speech say speech: false"]
    video_post(project, extra="  speech: false")
    result = project.run("validate")
    assert result.exit_code == 0, result.output


def test_duration_outside_a_platform_range_is_said_in_words(project, clip):
    make_video(project.root / "assets" / "clip.mp4", size=(1280, 720), seconds=2,
               audio_channels=None)
    (project.root / "assets" / "clip.srt").write_text(
        "1\n00:00:00,200 --> 00:00:01,500\nHello\n", encoding="utf-8")
    video_post(project, channels="instagram", extra="  captions: clip.srt")
    assert validate_lines(project) == [
        "posts/clip.md:10: video.path: assets/clip.mp4 is 2 s long; Instagram Reels take "
        "3 s to 15 min (channel instagram)"]


def test_trim_longer_than_the_platform_allows(project, clip):
    project.write_config("[channels.facebook]\nadapter = \"facebook\"\n")
    make_video(project.root / "assets" / "clip.mp4", size=(1080, 1920), seconds=2,
               audio_channels=None)
    video_post(project, channels="facebook", extra="  speech: false\n  trim: [0, 1.5]")
    assert validate_lines(project) == [
        "posts/clip.md:13: video.trim: assets/clip.mp4 is trimmed to 1.5 s long; Facebook "
        "Reels take 3 to 90 s (channel facebook)"]


def test_caption_timing_overlap_past_end_and_deny_list(project, clip):
    (project.root / "assets" / "clip.srt").write_text(
        "1\n00:00:00,500 --> 00:00:02,000\nThe Codeword is out\n\n"
        "2\n00:00:01,500 --> 00:00:02,500\nOverlapping\n\n"
        "3\n00:00:02,600 --> 00:00:09,000\nToo late\n", encoding="utf-8")
    video_post(project, extra="  captions: clip.srt")
    assert validate_lines(project) == [
        "posts/clip.md:12: video.captions: assets/clip.srt: caption 1 contains the "
        "deny-listed term 'codeword'",
        "posts/clip.md:12: video.captions: assets/clip.srt: caption 2 starts at "
        "00:00:01.500, before caption 1 ends at 00:00:02.000",
        "posts/clip.md:12: video.captions: assets/clip.srt: caption 3 ends at "
        "00:00:09.000, after the video ends at 00:00:03.000",
    ]


def test_captions_not_utf8(project, clip):
    (project.root / "assets" / "clip.srt").write_bytes(
        "1\n00:00:00,500 --> 00:00:01,000\nCaf\xe9\n".encode("latin-1"))
    video_post(project, extra="  captions: clip.srt")
    assert validate_lines(project) == [
        "posts/clip.md:12: video.captions: assets/clip.srt is not UTF-8 text (byte 0xe9 "
        "at offset 35); save it as UTF-8"]


MIXED = "  captions: clip.srt\nimages:\n  - path: photo.jpg\n    alt: A desk."


def test_images_and_a_video_together_go_to_carousel_channels(project, clip):
    """An Instagram feed, Threads and the outbox take images and a video as one carousel;
    Instagram Reels' limits still apply to the video (3 s, 9:16 here: inside them)."""
    make_video(project.root / "assets" / "clip.mp4", size=(360, 640), seconds=3)
    video_post(project, channels="outbox, instagram, threads", extra=MIXED)
    result = project.run("validate")
    assert result.exit_code == 0, result.output


def test_images_and_a_video_together_are_refused_where_they_cannot_mix(project, clip):
    video_post(project, channels="outbox, x, threads", extra=MIXED)
    result = project.run("validate")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert validate_lines(project) == [
        "posts/clip.md:9: video: channel x (X) cannot take images and a video in one post: "
        "X, Bluesky, Mastodon, Facebook, LinkedIn take images or one video, not both (only "
        "an Instagram feed, Threads or the outbox takes them as one carousel)"]


def test_images_and_a_video_count_as_carousel_items(project, clip):
    """Ten images fill an Instagram carousel: the video would be the eleventh item."""
    make_video(project.root / "assets" / "clip.mp4", size=(360, 640), seconds=3)
    images = "".join(f"  - path: photo.jpg\n    alt: Desk {n}.\n" for n in range(10))
    video_post(project, channels="instagram, threads",
               extra=f"  captions: clip.srt\nimages:\n{images}")
    assert validate_lines(project) == [
        "posts/clip.md:13: images: instagram takes at most 10 items in a carousel; the "
        "post has 10 image(s) and a video"]


def test_video_path_rules_are_the_image_rules(project, clip):
    video_post(project, extra="  captions: clip.srt").write_text(
        POST.format(id="clip", channels="outbox", extra="  captions: clip.srt")
        .replace("path: clip.mp4", "path: ../clip.mp4"), encoding="utf-8")
    assert validate_lines(project) == [
        "posts/clip.md:10: video.path: '../clip.mp4' contains '..'; give a path inside "
        "assets/"]


@pytest.mark.parametrize("content, message", [
    (b"not a video at all" * 10, "is not a video postq can read (invalid data found when "
                                 "processing input)"),
    (b"", "is empty (0 bytes)"),
])
def test_bad_files_fail_with_one_sentence(project, clip, content, message):
    (project.root / "assets" / "clip.mp4").write_bytes(content)
    video_post(project, extra="  captions: clip.srt")
    assert validate_lines(project) == [f"posts/clip.md:10: video.path: assets/clip.mp4 "
                                       f"{message}"]


def test_preview_renders_the_video_with_captions_and_cover(project, clip):
    video_post(project, extra="  captions: clip.srt\n  cover: 1.0")
    result = project.run("preview", "--out", "preview")
    assert result.exit_code == 0, result.output
    page = (project.root / "preview" / "index.html").read_text(encoding="utf-8")
    assert '<video controls' in page and '<track kind="captions"' in page
    vtt = (project.root / "preview" / "clip@outbox.vtt").read_text(encoding="utf-8")
    assert "00:00:00.200 --> 00:00:01.500\nWelcome to the archive" in vtt
    # The outbox takes a caption file, and the source already fits: the same bytes.
    assert (project.root / "preview" / "clip@outbox.mp4").read_bytes() == \
        (project.root / "assets" / "clip.mp4").read_bytes()
    assert (project.root / "preview" / "clip@outbox-cover.jpg").is_file()
    assert frame_at(project.root / "preview" / "clip@outbox.mp4").shape == (180, 320, 3)


PROBE_PAGE = """<!doctype html><html><body><pre id="result">waiting</pre>
<iframe id="f" src="index.html" width="800" height="900"></iframe>
<script>
const out = document.getElementById("result");
let done = false;
document.getElementById("f").addEventListener("load", () => {
  const doc = document.getElementById("f").contentDocument;
  const video = doc.querySelector("video");
  const track = video.textTracks[0];
  track.mode = "showing";
  video.muted = true;
  video.addEventListener("timeupdate", () => {
    if (done || video.currentTime < 0.1 || !track.cues || track.cues.length === 0) return;
    done = true;
    out.textContent = JSON.stringify({
      playing: !video.paused, time: video.currentTime >= 0.1, width: video.videoWidth,
      height: video.videoHeight, duration: Math.round(video.duration),
      cues: track.cues ? Array.from(track.cues).map(c => c.text) : null,
      poster: video.poster.split("/").pop()});
    video.pause();
  });
  video.play().catch(e => { out.textContent = "play failed: " + e; });
});
</script></body></html>"""


def test_preview_page_plays_the_video_in_headless_chromium(project, clip, tmp_path):
    import json
    import subprocess
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from tests.test_preview import CHROMIUM, FLAGS

    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed")
    video_post(project, extra="  captions: clip.srt\n  cover: 1.0")
    assert project.run("preview", "--out", "preview").exit_code == 0
    site = project.root / "preview"
    (site / "probe.html").write_text(PROBE_PAGE, encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format, *args):  # noqa: A002 - the base's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        # On a loaded machine the page can be dumped before playback reaches 0.1 s (the
        # probe still says "waiting"): that is asked again, up to three times; whatever
        # the page then reports must be exactly right.
        for attempt in range(3):
            dom = subprocess.run(
                [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / f'chrome{attempt}'}",
                 "--autoplay-policy=no-user-gesture-required", "--virtual-time-budget=15000",
                 "--dump-dom", f"http://127.0.0.1:{server.server_address[1]}/probe.html"],
                capture_output=True, text=True, timeout=120)
            text = dom.stdout.split('<pre id="result">', 1)[1].split("</pre>", 1)[0]
            if text != "waiting":
                break
    finally:
        server.shutdown()
        server.server_close()
    assert json.loads(text.replace("&quot;", '"')) == {
        "playing": True, "time": True, "width": 320, "height": 180, "duration": 3,
        "cues": ["Welcome to the archive", "We are hiring"], "poster": "clip@outbox-cover.jpg"}


def test_cover_from_an_image_is_rendered_at_the_video_shape_with_the_overlay(project, clip):
    from PIL import Image

    make_video(project.root / "assets" / "clip.mp4", size=(1280, 720), seconds=3.5)
    video_post(project, channels="instagram",
               extra="  captions: clip.srt\n  cover: photo.jpg\n  focus: [0.8, 0.5]")
    assert project.run("validate").exit_code == 0
    result = project.run("preview", "--out", "preview")
    assert result.exit_code == 0, result.output
    with Image.open(project.root / "preview" / "clip@instagram-cover.jpg") as cover:
        assert cover.size == (404, 720)
        with_overlay = cover.convert("L")
    video_post(project, channels="instagram", post_id="plain",
               extra="  captions: clip.srt\n  cover: photo.jpg\n  focus: [0.8, 0.5]\n"
                     "overlay: false")
    assert project.run("preview", "--out", "plain").exit_code == 0
    with Image.open(project.root / "plain" / "plain@instagram-cover.jpg") as cover:
        plain = cover.convert("L")
    # The careers overlay (headline panel) is drawn on the cover, as on an image post.
    changed = sum(abs(a - b) > 60 for a, b in zip(with_overlay.tobytes(), plain.tobytes(),
                                                   strict=True))
    assert changed > 5000
    page = (project.root / "preview" / "index.html").read_text(encoding="utf-8")
    # Instagram takes no caption file: the captions are burned in, and no track is offered.
    assert "captions burned in" in page and '<track kind="captions"' not in page
    assert "re-encoded: captions burned in; framed to 9:16" in page
    assert ("Checked: Instagram Reels: 3 s to 15 min (this: 3.5 s), 23 to 60 fps (this: 30), "
            "up to 300 MB (this: 0.1 MB)") in page


def test_a_mastodon_channel_takes_its_instance_limits(project, clip):
    import json

    project.write_config('[channels.small]\nadapter = "mastodon"\nvideo_frame_rate_limit = 24\n'
                         "video_matrix_limit = 40000\n")
    video_post(project, channels="small", extra="  captions: clip.srt")
    assert project.run("preview", "--out", "preview").exit_code == 0
    r = project.run("queue", "add", "posts/clip.md", "--at", "+2h",
                    env={"POSTQ_USER": "alice"})
    assert r.exit_code == 0, r.stderr
    media = json.loads(project.run("queue", "show", "clip", "--json").stdout)[
        "deliveries"][0]["media"]
    video = next(m for m in media if m["mime"] == "video/mp4")
    assert (video["width"], video["height"]) == (266, 150)  # 39,900: under 40,000 pixels
    from tests.video_samples import probe_fps

    assert probe_fps(project.root / ".postq" / "media" / video["sha256"][:2] /
                     f"{video['sha256']}.mp4") == 24


def test_an_instance_limit_that_is_not_a_number_is_a_config_error(project, clip):
    project.write_config('[channels.small]\nadapter = "mastodon"\n'
                         'video_size_limit = "99MB"\n')
    video_post(project, channels="small", extra="  captions: clip.srt")
    result = project.run("validate")
    assert result.exit_code == 1
    assert result.stderr == (f"error: {project.config}: [channels.small] video_size_limit: "
                             "'99MB' is not a whole number above 0 (as the instance's /api/v2/instance "
                             "says it)\n")
