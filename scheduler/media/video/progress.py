"""A render's progress on a terminal: one line per render, rewritten in place.

A transcode takes seconds to minutes, so ``queue add`` and ``preview`` say how far each
one is; when stderr is not a terminal (cron, CI, a pipe) nothing is written, so logs and
test output stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO


def terminal_progress(label: str, stream: TextIO | None = None) -> Callable[[float], None] | None:
    out = stream or sys.stderr
    if not (hasattr(out, "isatty") and out.isatty()):
        return None
    last = [-1]

    def show(fraction: float) -> None:
        percent = int(fraction * 100)
        if percent == last[0]:
            return
        last[0] = percent
        end = "\n" if percent >= 100 else ""
        out.write(f"\r{label}: {percent:3d}%{end}")
        out.flush()

    return show
