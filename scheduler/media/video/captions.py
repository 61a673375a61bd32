"""Caption files (SRT and WebVTT) parsed with well-kept libraries and checked like text.

Public-sector accessibility guidance asks for captions on every video with speech, and a
caption is published text: it goes through the same deny-list as a post's caption. A
caption file that would play wrongly (a cue ending before it starts, two cues on screen at
once, a cue after the video has ended) is an error, because a viewer cannot read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scheduler.errors import MediaError

#: Platforms cap caption files; none documents more than a few hundred KB for a Reel.
MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Cue:
    """One caption on screen from ``start`` to ``end`` seconds (text without markup)."""

    index: int
    start: float
    end: float
    text: str


def _clock(seconds: float) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def read_captions(path: Path) -> list[Cue]:
    """Parse ``path`` (``.srt`` or ``.vtt``); a :class:`MediaError` says what is wrong."""
    name = path.name
    kind = path.suffix.lower()
    if kind not in (".srt", ".vtt"):
        raise MediaError(f"{name} is not a caption file: give an .srt or .vtt file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"{name} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise MediaError(f"{name} is {len(raw):,} bytes; caption files are at most "
                         f"{MAX_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MediaError(f"{name} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                         f"{exc.start}); save it as UTF-8") from None
    cues = _parse_srt(text, name) if kind == ".srt" else _parse_vtt(text, name)
    if not cues:
        raise MediaError(f"{name} has no captions in it")
    return cues


def _parse_srt(text: str, name: str) -> list[Cue]:
    import srt

    try:
        # Not srt.sort_and_reindex: the order as written is what must be checked.
        subs = list(srt.parse(text))
    except (srt.SRTParseError, ValueError) as exc:
        raise MediaError(f"{name} is not a valid SRT file ({exc})") from None
    return [Cue(n, s.start.total_seconds(), s.end.total_seconds(), s.content.strip())
            for n, s in enumerate(subs, start=1)]


def _seconds(stamp: str) -> float:
    parts = stamp.split(":")
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return total


def _parse_vtt(text: str, name: str) -> list[Cue]:
    import webvtt
    from webvtt.errors import MalformedFileError

    try:
        vtt = webvtt.from_string(text)
    except (MalformedFileError, ValueError) as exc:
        raise MediaError(f"{name} is not a valid WebVTT file ({exc or 'no WEBVTT header'})") \
            from None
    # ``start_in_seconds`` drops the milliseconds; the time stamps keep them.
    return [Cue(n, _seconds(c.start), _seconds(c.end), c.text.strip())
            for n, c in enumerate(vtt.captions, start=1)]


def check_cues(cues: list[Cue], duration: float, name: str) -> list[str]:
    """Every timing problem, one sentence each, naming the cue and its times."""
    problems = []
    previous: Cue | None = None
    for cue in cues:
        if cue.end <= cue.start:
            problems.append(f"{name}: caption {cue.index} ends ({_clock(cue.end)}) before "
                            f"it starts ({_clock(cue.start)})")
        elif previous is not None and cue.start < previous.end:
            problems.append(f"{name}: caption {cue.index} starts at {_clock(cue.start)}, "
                            f"before caption {previous.index} ends at "
                            f"{_clock(previous.end)}")
        if cue.end > duration + 0.05:
            problems.append(f"{name}: caption {cue.index} ends at {_clock(cue.end)}, after "
                            f"the video ends at {_clock(duration)}")
        previous = cue
    return problems


def shift_cues(cues: list[Cue], start: float, end: float) -> list[Cue]:
    """The cues a trim ``[start, end]`` keeps, moved to the trimmed video's clock."""
    out = []
    for c in cues:
        if c.end <= start or c.start >= end:
            continue
        out.append(Cue(c.index, max(c.start, start) - start, min(c.end, end) - start, c.text))
    return out


def to_webvtt(cues: list[Cue]) -> str:
    """The cues as a WebVTT document: what the preview's ``<track>`` plays and what a
    platform taking a caption file receives."""
    lines = ["WEBVTT", ""]
    for c in cues:
        lines += [f"{_clock(c.start)} --> {_clock(c.end)}", c.text, ""]
    return "\n".join(lines)


def to_srt(cues: list[Cue]) -> str:
    """The cues as SubRip, for platforms whose caption upload takes ``.srt`` only
    (Facebook's ``/{video-id}/captions``, LinkedIn's ``captionsUploadUrl``)."""
    blocks = []
    for n, c in enumerate(cues, start=1):
        stamps = f"{_clock(c.start)} --> {_clock(c.end)}".replace(".", ",")
        blocks.append(f"{n}\n{stamps}\n{c.text}\n")
    return "\n".join(blocks)


def srt_from_webvtt(text: str) -> str:
    """The approved WebVTT captions of a queued video, as SubRip."""
    return to_srt(_parse_vtt(text, "captions.vtt"))
