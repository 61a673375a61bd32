"""Several renders of one video side by side: same bytes as one after another, progress on
a terminal only, errors from a worker in one sentence, and memory flat with length."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from scheduler.errors import MediaError
from scheduler.media.video.parallel import ZEROED_HEAP, RenderJob, render_many, worker_count
from scheduler.platforms import VIDEO_PROFILES
from tests.test_video_content import video_post
from tests.test_video_queue import soon
from tests.video_samples import make_video

pytest.importorskip("av")

IG = VIDEO_PROFILES["instagram"]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def jobs_for(src: Path) -> list[RenderJob]:
    """Three different renders of one clip: framed left, framed right, padded."""
    return [RenderJob(src, IG, (0.2, 0.5), None, None, None, "crop", "left"),
            RenderJob(src, IG, (0.8, 0.5), None, None, None, "crop", "right"),
            RenderJob(src, IG, None, None, None, None, "pad", "padded")]


def test_side_by_side_renders_have_the_bytes_of_renders_one_after_another(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(1280, 720), seconds=1.5, moving=True)
    alone = render_many(jobs_for(src), tmp_path / "one", workers=1)
    together = render_many(jobs_for(src)[::-1], tmp_path / "two", workers=2)
    together.videos.reverse()
    assert alone.workers == 1 and together.workers == worker_count(3, 2)
    assert [v.sha256 for v in together.videos] == [v.sha256 for v in alone.videos]
    assert [(v.width, v.height) for v in together.videos] == [(404, 720), (404, 720),
                                                              (1080, 1918)]
    assert len({v.sha256 for v in together.videos}) == 3
    assert len(together.peaks_mib) == 3 and all(p > 0 for p in together.peaks_mib)


def test_a_worker_renders_the_bytes_a_fresh_process_makes_whatever_ran_before(tmp_path):
    # x264's lookahead reads bytes it never wrote for narrow, tall pictures (a moving 16:9
    # clip framed to 9:16 here). A process that has just encoded another clip has other
    # bytes in its heap than a fresh one; started as workers are, it must not matter.
    src = make_video(tmp_path / "wide.mp4", size=(1280, 720), seconds=2, moving=True)
    (fresh,) = render_many(jobs_for(src)[:1], tmp_path / "a", workers=1).videos
    code = textwrap.dedent(f"""
        from pathlib import Path
        from scheduler.media.video.render import render_video
        from scheduler.platforms import VIDEO_PROFILES
        from tests.video_samples import make_video
        make_video(Path({str(tmp_path / "other.mp4")!r}), size=(1920, 1080), seconds=2,
                   moving=True)
        r = render_video(Path({str(src)!r}), VIDEO_PROFILES["instagram"],
                         Path({str(tmp_path / "b")!r}), focus=(0.2, 0.5), trim=None,
                         burn=None)
        print(r.path)
    """)
    env = {**os.environ, "GLIBC_TUNABLES": ZEROED_HEAP}
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env=env).stdout.strip()
    assert (fresh.width, fresh.height) == (404, 720)
    assert fresh.path.read_bytes() == Path(there).read_bytes()


def test_progress_shares_one_line_on_a_terminal_and_is_silent_elsewhere(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(640, 360), seconds=1.5, audio_channels=None)
    quiet = io.StringIO()
    render_many(jobs_for(src)[:2], tmp_path / "q", head="rendering assets/wide.mp4",
                workers=2, stream=quiet)
    assert quiet.getvalue() == ""
    out = Tty()
    render_many(jobs_for(src)[:2], tmp_path / "t", head="rendering assets/wide.mp4",
                workers=2, stream=out)
    text = out.getvalue()
    assert text.startswith("\rrendering assets/wide.mp4: left ")
    assert text.endswith("\rrendering assets/wide.mp4: left 100% · right 100%\n")
    assert text.count("\n") == 1


def test_a_render_refused_in_a_worker_is_one_sentence(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(640, 360), seconds=1, audio_channels=None)
    tiny = replace(IG, max_bytes=500)
    jobs = [jobs_for(src)[0], replace(jobs_for(src)[1], vp=tiny)]
    with pytest.raises(MediaError) as refused:
        render_many(jobs, tmp_path / "r", workers=2)
    assert str(refused.value).startswith("wide.mp4: the render for Instagram Reels is ")
    assert str(refused.value).endswith(" MB (trim it)")


def test_side_by_side_memory_stays_flat_with_length(tmp_path):
    # Each worker streams frame by frame: a clip four times longer peaks at the same size.
    peaks = {}
    for seconds in (2, 8):
        src = make_video(tmp_path / f"{seconds}.mp4", size=(1280, 720), seconds=seconds,
                         moving=True)
        batch = render_many(jobs_for(src)[:2], tmp_path / f"r{seconds}", workers=2)
        if batch.workers < 2:
            pytest.skip("one core or too little free memory: renders run one at a time")
        peaks[seconds] = max(batch.peaks_mib)
    assert peaks[8] - peaks[2] < 40 and peaks[8] < 300, peaks


def read_terminal(master: int) -> str:
    screen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the terminal's other end is closed: all is read
            break
        if not chunk:
            break
        screen += chunk
    return screen.decode()


@pytest.mark.parametrize("command", ["queue add", "preview"])
def test_render_progress_is_shown_on_a_terminal_only(project, command):
    env = {**os.environ, "POSTQ_USER": "alice"}
    # preview renders image posts in worker processes meanwhile
    images = [project.careers(), project.careers("io2.md", post_id="io2")]

    def run(post_id: str, **streams: object) -> subprocess.CompletedProcess[str]:
        # A new clip each time: renders are kept, so a second run would find them made.
        make_video(project.root / "assets" / "clip.mp4", size=(1280, 720), seconds=3,
                   moving=True, square_at=(0.3 if post_id == "one" else 0.6, 0.5))
        path = video_post(project, channels="instagram, x", extra="  speech: false",
                          post_id=post_id)
        args = ["queue", "add", str(path), "--at", soon(90)] if command == "queue add" \
            else ["preview", str(path), *map(str, images),
                  "--out", str(project.root / f"preview-{post_id}")]
        return subprocess.run([sys.executable, "-m", "scheduler", "--config",
                               str(project.config), *args], text=True, env=env,
                              cwd=project.root, **streams)  # type: ignore[call-overload]

    piped = run("one", capture_output=True)
    assert piped.returncode == 0, piped.stderr
    assert "rendering" not in piped.stdout + piped.stderr
    master, slave = pty.openpty()
    try:
        shown = run("two", stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        text = read_terminal(master)
    finally:
        os.close(master)
    assert shown.returncode == 0, text
    assert "rendering" not in shown.stdout
    assert text.startswith("\rrendering assets/clip.mp4: Instagram Reels ")
    assert "\rrendering assets/clip.mp4: Instagram Reels 100% · X 100%\r\n" in text
