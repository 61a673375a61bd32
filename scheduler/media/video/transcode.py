"""Frame-by-frame renders with PyAV: remux, or decode → filter → encode into a clean MP4.

Memory stays flat whatever the length: packets are read one at a time, each decoded frame
goes through FFmpeg's own filters (turn, crop, scale, constant frame rate) inside
libavfilter and straight into the encoder, and nothing is collected. Output is H.264
High + AAC-LC stereo 48 kHz in MP4 with the index (``moov``) first, no container
metadata (``+bitexact`` also keeps the muxer from writing its own name), and the same
input always gives the same bytes with the same PyAV and FFmpeg versions when rendered in a
render worker (see :mod:`scheduler.media.video.parallel` for what that takes).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from scheduler.errors import MediaError
from scheduler.media.video.captions import Cue
from scheduler.media.video.plan import Plan
from scheduler.media.video.probe import VideoInfo, _why
from scheduler.platforms import VideoProfile

#: x264's speed/size trade-off; ``bench/video.py`` measures it against the command line.
PRESET = "veryfast"
CRF = "21"
#: Raised whenever this module's output changes, so earlier renders are not reused.
REVISION = 4
#: The lookahead (frame types, macroblock-tree rate control) runs in the encoding thread.
#: In its own thread it raced the frame threads: a 606x1080 render made beside another
#: render came out as other bytes (3 runs in 3 of ``bench/video.py --renders 3``; none in
#: 2 runs with this). See :mod:`scheduler.media.video.parallel` for the other half.
LOOKAHEAD = "sync-lookahead=0"
AUDIO_RATE = 48000
MUX_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}

Progress = Callable[[float], None]


def encoder_identity() -> list[str]:
    """What a render's bytes depend on besides its inputs: these settings, this module's
    revision, PyAV's version and the FFmpeg build it encodes with. A render cached under
    another identity is made again rather than reused."""
    import av

    return [PRESET, CRF, str(REVISION), av.__version__, av.ffmpeg_version_info]


def remux(info: VideoInfo, out: Path) -> None:
    """The same compressed streams in a fresh MP4: index first, no metadata."""
    import av

    with av.open(str(info.path), metadata_errors="ignore") as src, \
            av.open(str(out), "w", format="mp4", options=MUX_OPTIONS) as dst:
        pairs = {}
        for s in (src.streams.video[:1] + src.streams.audio[:1]):
            o = dst.add_stream_from_template(s)
            o.metadata.clear()
            pairs[s.index] = o
        try:
            for packet in src.demux(*(s for s in src.streams if s.index in pairs)):
                if packet.dts is None:
                    continue
                packet.stream = pairs[packet.stream_index]
                dst.mux(packet)
        except av.FFmpegError as exc:
            raise MediaError(f"{info.path.name} cannot be read to the end ({_why(exc)})") \
                from None


def _video_graph(in_stream: Any, info: VideoInfo, plan: Plan) -> Any:
    import av.filter

    graph = av.filter.Graph()
    chain = [graph.add_buffer(template=in_stream)]
    # The decoder hands over frames as stored; a phone's "portrait" video is stored on its
    # side with a display matrix, so turn it first (as ffmpeg's autorotate does).
    turns = {90: [("transpose", "clock")], 180: [("hflip", ""), ("vflip", "")],
             270: [("transpose", "cclock")]}.get(info.rotation, [])
    x, y, cw, ch = plan.crop
    steps = turns + [
        ("crop", f"{cw}:{ch}:{x}:{y}"),
        ("scale", f"{(plan.inner or plan.size)[0]}:{(plan.inner or plan.size)[1]}"
                  ":flags=bicubic"),
        *([("pad", f"{plan.size[0]}:{plan.size[1]}:(ow-iw)/2:(oh-ih)/2:black")]
          if plan.inner else []),
        ("setsar", "1"),
        ("fps", f"{Fraction(plan.fps).limit_denominator(1001)}"),
        ("format", "yuv420p"),
    ]
    for name, args in steps:
        chain.append(graph.add(name, args) if args else graph.add(name))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    return graph


class _Burner:
    """Captions drawn into the picture, one overlay image per cue made once."""

    def __init__(self, cues: list[Cue], size: tuple[int, int], font: Path | None) -> None:
        self.cues = cues
        self.size = size
        self.font = font
        self._made: dict[int, Any] = {}

    def _overlay(self, cue: Cue) -> Any:
        from scheduler.media.video.burn import caption_overlay

        if cue.index not in self._made:
            self._made = {cue.index: caption_overlay(cue.text, self.size, self.font)}
        return self._made[cue.index]

    def apply(self, frame: Any, t: float) -> Any:
        import av

        cue = next((c for c in self.cues if c.start <= t < c.end), None)
        if cue is None:
            return frame
        picture = frame.to_image()
        overlay, where = self._overlay(cue)
        picture.paste(overlay, where, overlay)
        out = av.VideoFrame.from_image(picture).reformat(format="yuv420p")
        out.pts, out.time_base = frame.pts, frame.time_base
        return out


def transcode(info: VideoInfo, plan: Plan, vp: VideoProfile, out: Path, *,
              burn: list[Cue] | None = None, font: Path | None = None,
              progress: Progress | None = None) -> None:
    """Render ``info`` by ``plan`` into ``out``; cues in ``burn`` are drawn in."""
    import av

    name = info.path.name
    with av.open(str(info.path), metadata_errors="ignore") as src, \
            av.open(str(out), "w", format="mp4", options=MUX_OPTIONS) as dst:
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        ain = src.streams.audio[0] if src.streams.audio else None
        rate = Fraction(plan.fps).limit_denominator(1001)
        vout = dst.add_stream("libx264", rate=rate)
        vout.width, vout.height = plan.size
        vout.pix_fmt = "yuv420p"
        gop = max(1, round(plan.fps * 2))
        maxrate = min(vp.max_video_bitrate, 12_000_000)
        vout.options = {"preset": PRESET, "crf": CRF, "profile": "high",
                        "maxrate": str(maxrate), "bufsize": str(maxrate * 2),
                        "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0",
                        "flags": "+cgop+bitexact", "x264-params": LOOKAHEAD}
        vout.codec_context.time_base = 1 / rate
        # Frame threads, as the ffmpeg command line uses: PyAV's default of slices splits
        # each picture and costs compression (x264 stays deterministic either way).
        vout.thread_type = "FRAME"
        vout.thread_count = 0
        aout = None
        resampler = None
        if ain is not None:
            aout = dst.add_stream("aac", rate=AUDIO_RATE)
            aout.layout = "stereo"
            aout.bit_rate = vp.audio_bitrate
            aout.options = {"flags": "+bitexact"}
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        graph = _video_graph(vin, info, plan)
        burner = _Burner(burn, plan.size, font) if burn else None
        if plan.start > 0:
            src.seek(int(plan.start / vin.time_base), stream=vin, backward=True)
        frames_out = 0
        samples_out = 0
        length = plan.end - plan.start

        def encode_video(frame: Any) -> None:
            nonlocal frames_out
            t = frames_out / plan.fps
            if burner is not None:
                frame = burner.apply(frame, t)
            frame.pts = frames_out
            frame.time_base = vout.codec_context.time_base
            # The decoder leaves the source's picture types on each frame, and x264 obeys
            # them: cleared, the encoder picks its own (as the ffmpeg command line does).
            frame.pict_type = av.video.frame.PictureType.NONE
            frames_out += 1
            for packet in vout.encode(frame):
                dst.mux(packet)
            if progress is not None and frames_out % 30 == 0:
                progress(min(1.0, frames_out / plan.fps / length) if length else 1.0)

        def pull_video() -> None:
            while True:
                try:
                    f = graph.vpull()
                except (BlockingIOError, av.EOFError):
                    return
                encode_video(f)

        try:
            streams = [vin] + ([ain] if ain is not None else [])
            video_done = audio_done = False
            for packet in src.demux(*streams):
                if video_done and (audio_done or ain is None):
                    break
                for frame in packet.decode():
                    t = frame.time
                    if t is None or t < plan.start - 1e-6:
                        continue
                    if packet.stream.type == "video":
                        if video_done:
                            continue
                        if t >= plan.end - 1e-6:
                            video_done = True
                            continue
                        frame.pts = int(round((t - plan.start) / vin.time_base))
                        graph.vpush(frame)
                        pull_video()
                    elif aout is not None and resampler is not None and not audio_done:
                        if t >= plan.end:
                            audio_done = True
                            continue
                        frame.pts = None
                        for rf in resampler.resample(frame):
                            keep = min(rf.samples, int((length * AUDIO_RATE) - samples_out))
                            if keep <= 0:
                                audio_done = True
                                break
                            rf.pts = samples_out
                            rf.time_base = Fraction(1, AUDIO_RATE)
                            samples_out += rf.samples
                            for p in aout.encode(rf):
                                dst.mux(p)
            graph.vpush(None)
            pull_video()
            for packet in vout.encode(None):
                dst.mux(packet)
            if aout is not None and resampler is not None:
                for rf in resampler.resample(None):
                    rf.pts = samples_out
                    samples_out += rf.samples
                    for p in aout.encode(rf):
                        dst.mux(p)
                for p in aout.encode(None):
                    dst.mux(p)
        except av.FFmpegError as exc:
            raise MediaError(f"{name} cannot be decoded to the end ({_why(exc)})") from None
        if frames_out == 0:
            raise MediaError(f"{name} gave no pictures to render")
    if progress is not None:
        progress(1.0)
