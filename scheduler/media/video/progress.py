"""Renders' progress on a terminal: one line, rewritten in place.

A transcode takes seconds to minutes, so ``queue add`` and ``preview`` say how far each
render is; renders made side by side share the line (``rendering assets/clip.mp4:
Instagram Reels  40% · X  35%``). When stderr is not a terminal (cron, CI, a pipe) nothing
is written, so logs and test output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO


def terminal_lines(head: str, labels: list[str],
                   stream: TextIO | None = None) -> Callable[[int, float], None] | None:
    """A function taking (render number, fraction done), or None off a terminal."""
    out = stream or sys.stderr
    if not (hasattr(out, "isatty") and out.isatty()):
        return None
    percents = [-1] * len(labels)

    def show(index: int, fraction: float) -> None:
        percent = min(100, int(fraction * 100))
        if percent == percents[index]:
            return
        percents[index] = percent
        if len(labels) == 1:
            line = f"{head} for {labels[0]}: {percent:3d}%" if head else \
                f"{labels[0]}: {percent:3d}%"
        else:
            line = f"{head}: " + " · ".join(f"{label} {max(p, 0):3d}%"
                                            for label, p in zip(labels, percents, strict=True))
        end = "\n" if min(percents) >= 100 else ""
        out.write(f"\r{line}{end}")
        out.flush()

    return show


def terminal_progress(label: str, stream: TextIO | None = None) -> Callable[[float], None] | None:
    """One render's progress (``label: 40%``), or None off a terminal."""
    show = terminal_lines("", [label], stream)
    if show is None:
        return None
    return lambda fraction: show(0, fraction)
