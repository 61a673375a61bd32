"""Renders: framing around the focus, pass-through, frame rate, rotation, audio, burned
captions, metadata, determinism, and bad files failing fast with bounded memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from scheduler.errors import MediaError
from scheduler.media.video.captions import Cue
from scheduler.media.video.probe import probe_video
from scheduler.media.video.render import render_video
from scheduler.platforms import VIDEO_PROFILES
from tests.video_samples import frame_at, make_many_frames, make_video

pytest.importorskip("av")

IG, OUTBOX, BSKY = (VIDEO_PROFILES[n] for n in ("instagram", "outbox", "bluesky"))


def bright(pixel) -> bool:
    return int(pixel.mean()) > 200


def test_wide_source_is_framed_9_16_around_the_focus(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(1280, 720), seconds=1, square_at=(0.8, 0.5),
                     audio_channels=None)
    on = render_video(src, IG, tmp_path / "r", focus=(0.8, 0.5), trim=None, burn=None)
    off = render_video(src, IG, tmp_path / "r", focus=(0.2, 0.5), trim=None, burn=None)
    assert (on.width, on.height) == (404, 720) and on.plan.why == ("framed to 9:16",)
    middle = frame_at(on.path)[360, 202]
    assert bright(middle)  # the square sits in the middle of the frame
    assert not bright(frame_at(off.path)[360, 202])  # framed elsewhere: grey
    assert probe_video(on.path).codec == "h264" and probe_video(on.path).profile == "High"


def test_source_already_in_profile_passes_through_untouched(tmp_path):
    src = make_video(tmp_path / "fits.mp4", size=(320, 180), seconds=1)
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    assert r.plan.action == "pass" and r.path == src
    assert r.path.read_bytes() == src.read_bytes()
    assert not (tmp_path / "r").exists()


def test_metadata_is_removed_by_a_remux(tmp_path):
    src = make_video(tmp_path / "gps.mp4", size=(320, 180), seconds=1, bitexact=False,
                     tags={"location": "+51.4950-000.1240/", "comment": "Shot on PhoneCam"})
    assert probe_video(src).tags == ("comment", "encoder", "location", "location-eng")
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    assert r.plan.action == "remux"
    assert r.plan.why == ("metadata removed (comment, encoder, location, location-eng)",)
    data = r.path.read_bytes()
    assert b"+51.4950" not in data and b"PhoneCam" not in data and b"Lavf" not in data
    assert probe_video(r.path).tags == () and probe_video(r.path).moov_first


def test_transcoded_output_has_no_metadata_and_index_first(tmp_path):
    src = make_video(tmp_path / "gps.mp4", size=(1280, 720), seconds=1, bitexact=False,
                     faststart=False, tags={"location": "+51.4950-000.1240/"})
    r = render_video(src, IG, tmp_path / "r", focus=None, trim=None, burn=None)
    out = probe_video(r.path)
    assert out.tags == () and out.moov_first
    assert b"+51.4950" not in r.path.read_bytes()


def test_variable_frame_rate_comes_out_constant(tmp_path):
    src = make_video(tmp_path / "vfr.mp4", size=(320, 180), seconds=2, vfr=True)
    assert probe_video(src).variable_rate
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    assert "variable frame rate made constant" in r.plan.why
    out = probe_video(r.path)
    assert not out.variable_rate and out.fps == 30
    import av

    with av.open(str(r.path)) as c:
        pts = [p.pts for p in c.demux(c.streams.video[0]) if p.pts is not None]
    steps = {b - a for a, b in zip(sorted(pts), sorted(pts)[1:], strict=False)}
    assert len(steps) == 1  # every frame the same length


def test_rotated_phone_video_comes_out_upright(tmp_path):
    src = make_video(tmp_path / "phone.mp4", size=(320, 180), seconds=1, rotation=90,
                     square_at=(0.9, 0.5))
    info = probe_video(src)
    assert (info.width, info.height, info.rotation) == (180, 320, 270)
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    out = probe_video(r.path)
    assert (out.width, out.height, out.rotation) == (180, 320, 0)
    # Stored on its side with the square at the right; shown upright it is at the top.
    picture = frame_at(r.path)
    assert bright(picture[30, 90]) and not bright(picture[290, 90])


def test_mono_audio_becomes_stereo_48k_and_no_audio_stays_silent(tmp_path):
    mono = make_video(tmp_path / "mono.mp4", size=(320, 180), seconds=1, audio_channels=1,
                      audio_rate=44100)
    r = render_video(mono, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    out = probe_video(r.path)
    assert (out.audio_codec, out.audio_channels, out.audio_rate) == ("aac", 2, 48000)
    assert abs(out.duration - 1.0) < 0.05
    silent = make_video(tmp_path / "silent.mp4", size=(320, 180), seconds=1,
                        audio_channels=None, fps=15)
    r = render_video(silent, IG, tmp_path / "r", focus=None, trim=None, burn=None)
    out = probe_video(r.path)
    assert out.audio_codec is None and out.fps == 23  # Reels take 23 fps at least


def test_trim_keeps_the_span(tmp_path):
    src = make_video(tmp_path / "long.mp4", size=(320, 180), seconds=4)
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=(1.0, 2.5), burn=None)
    out = probe_video(r.path)
    assert abs(out.duration - 1.5) < 0.05 and out.frames == 45


def test_captions_are_burned_into_the_caption_area(tmp_path):
    src = make_video(tmp_path / "talk.mp4", size=(320, 180), seconds=2, audio_channels=None,
                     square_at=(0.1, 0.1))
    cues = [Cue(1, 0.0, 1.0, "We are hiring")]
    plain = render_video(src, BSKY, tmp_path / "r", focus=None, trim=(0, 2), burn=None)
    burned = render_video(src, BSKY, tmp_path / "r", focus=None, trim=(0, 2), burn=cues)
    band = slice(110, 160)  # the lower part of the frame, where captions sit
    with_text = frame_at(burned.path, 0.5)[band]
    without = frame_at(plain.path, 0.5)[band]
    assert (with_text > 230).sum() > 40 and (without > 230).sum() == 0
    assert (with_text < 60).sum() > 1000  # the dark panel behind the text
    # After the cue ends the picture is clean again.
    assert (frame_at(burned.path, 1.5)[band] > 230).sum() == 0


def test_renders_are_deterministic(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(640, 360), seconds=1)
    a = render_video(src, IG, tmp_path / "a", focus=(0.5, 0.5), trim=None, burn=None)
    b = render_video(src, IG, tmp_path / "b", focus=(0.5, 0.5), trim=None, burn=None)
    assert a.sha256 == b.sha256 and a.path != b.path


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"GIF89a" + bytes(200)),
     "clip.mp4 is not a video postq can read (end of file)"),
    (lambda p: make_video(p, size=(8200, 64), seconds=0.1, fps=10, audio_channels=None),
     "clip.mp4 is 8200×64 pixels; postq takes videos up to 8192 pixels on a side"),
    (lambda p: make_many_frames(p, 100_000),
     "clip.mp4 is 16×16 pixels; a video needs at least 32 pixels on a side"),
    (lambda p: make_many_frames(p, 250_000, size=(64, 64), fps=60),
     "clip.mp4 has 250,000 frames; postq takes up to 216,000 (an hour at 60 frames a second)"),
    (lambda p: p.write_bytes(make_video(p.with_name("whole.mp4"), size=(320, 180),
                                        seconds=3).read_bytes()[:30_000]),
     "clip.mp4 is cut short: its pictures stop at 1.5 s of 3.0 s (copy the file again)"),
])
def test_bad_files_fail_fast_with_one_sentence(tmp_path, make, message):
    path = tmp_path / "clip.mp4"
    make(path)
    with pytest.raises(MediaError) as refused:
        probe_video(path)
    assert str(refused.value) == message


def test_hundred_thousand_frames_fail_fast_in_bounded_memory(tmp_path):
    path = make_many_frames(tmp_path / "many.mp4", 100_000, size=(32, 32), fps=25)
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from scheduler.media.video.probe import probe_video
        start = time.monotonic()
        info = probe_video(Path({str(path)!r}))
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would count the
        # test process this one was started from.
        peak = next(int(line.split()[1]) for line in open("/proc/self/status")
                    if line.startswith("VmHWM"))
        print(info.frames, round(time.monotonic() - start, 1), peak // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    frames, seconds, peak_mib = int(out[0]), float(out[1]), int(out[2])
    assert frames == 100_000
    assert seconds < 10 and peak_mib < 200, (seconds, peak_mib)


def test_progress_is_shown_on_a_terminal_only(tmp_path):
    import io

    from scheduler.media.video.progress import terminal_progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert terminal_progress("x", io.StringIO()) is None
    out = Tty()
    show = terminal_progress("rendering assets/clip.mp4 for Instagram Reels", out)
    src = make_video(tmp_path / "wide.mp4", size=(640, 360), seconds=2, audio_channels=None)
    render_video(src, IG, tmp_path / "r", focus=None, trim=None, burn=None, progress=show)
    text = out.getvalue()
    assert text.startswith("\rrendering assets/clip.mp4 for Instagram Reels:  50%")
    assert text.endswith("\rrendering assets/clip.mp4 for Instagram Reels: 100%\n")


def test_fit_pad_keeps_the_whole_picture_with_bars(tmp_path):
    src = make_video(tmp_path / "wide.mp4", size=(1280, 720), seconds=1, square_at=(0.9, 0.5),
                     audio_channels=None)
    r = render_video(src, IG, tmp_path / "r", focus=None, trim=None, burn=None, fit="pad")
    assert (r.width, r.height) == (1080, 1918) and r.plan.inner == (1080, 606)
    assert r.plan.why == ("padded to 9:16",)
    picture = frame_at(r.path)
    assert picture[100, 540].max() < 20  # a black bar above the picture
    assert bright(picture[960, 972])  # the square at the right is still in the frame


def test_a_mov_file_that_fits_is_remuxed_into_mp4(tmp_path):
    src = make_video(tmp_path / "phone.mov", size=(320, 180), seconds=1)
    r = render_video(src, OUTBOX, tmp_path / "r", focus=None, trim=None, burn=None)
    assert r.plan.action == "remux" and r.plan.why == (".mov file put in MP4",)
    out = probe_video(r.path)
    assert out.is_mp4 and out.moov_first and out.frames == 30


def test_burned_caption_panel_keeps_contrast_over_a_white_picture():
    from scheduler.media.colour import contrast_ratio
    from scheduler.media.video.burn import PANEL_ALPHA

    grey = round(255 * (1 - PANEL_ALPHA / 255))  # the panel over pure white
    assert contrast_ratio((255, 255, 255), (grey, grey, grey)) >= 4.5
