"""Several renders of one video at once, one worker process each, as many as cores allow.

A post going to Instagram, X and LinkedIn needs three different renders. x264 spreads one
encode over threads, but decoding, filtering, its lookahead (kept in the encoding thread
for identical bytes, see ``transcode.LOOKAHEAD``) and the Python loop around them run on
one core, so a second render beside it fills the idle time. ``bench/video.py --renders
3`` measures one after another against side by side in the same run: on two cores busy
with other work, 1.17x and 1.22x faster for 10 s and 15 s 1080p clips, 0.98x for 60 s
(never much slower, so workers are as many as cores). Threads instead of processes gained
nothing (16.3 s against 15.8 s for three renders: PyAV holds the interpreter lock around
most of the per-frame work), so each render runs in its own process. Memory is bounded by
the number of workers: each render is streamed frame by frame and peaks at the same size
whatever the video's length (160 to 400 MiB for 1080p, the padded 1080×1918 render being
the largest; about 400 MiB one after another and 640 MiB side by side, the same for 15 s
and 60 s), and workers are never more than the renders, the cores, or what
``MemAvailable`` holds at :data:`RENDER_BUDGET` each.

Renders are always made in a fresh (spawned) worker, even one alone, because that is what
makes them the same bytes every time. x264's lookahead (macroblock-tree rate control)
reads some bytes it never wrote, at least for narrow, tall pictures such as a 16:9 source
framed to 9:16 (606×1080, 404×720) and for 1080×1918; the ``ffmpeg`` command line does
the same. Memory fresh from the kernel is zeros, but memory reused inside a process holds
whatever an earlier allocation or another thread left there, so one clip rendered twice
gave two files. Workers start with glibc's tunables :data:`ZEROED_HEAP`: every allocation
starts as zeros (``perturb`` 255 fills with 255 ^ 0xFF) and none skips that through the
per-thread cache, so the bytes read are those of a fresh process, whatever ran before.
Turning macroblock-tree rate control off instead made renders up to three times larger. Where the C
library is not glibc (macOS, musl) the setting is ignored and such renders may differ.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from scheduler.media.video.captions import Cue
from scheduler.platforms import VideoProfile

#: Memory set aside per render worker when deciding how many to start (a 1080p render
#: peaks at up to 400 MiB; ``bench/video.py`` measures it).
RENDER_BUDGET = 512 * 1024 * 1024
ZEROED_HEAP = "glibc.malloc.tcache_count=0:glibc.malloc.perturb=255"


@dataclass(frozen=True)
class RenderJob:
    """Everything :func:`render_video` takes for one render; ``label`` names it on screen."""

    source: Path
    vp: VideoProfile
    focus: tuple[float, float] | None
    trim: tuple[float, float] | None
    burn: list[Cue] | None
    font: Path | None
    fit: str
    label: str


@dataclass
class RenderBatch:
    videos: list[Any]
    #: Worker processes used (0: rendered in this process, itself a worker).
    workers: int
    #: For each video, the peak memory (VmHWM, MiB) of the worker process that made it,
    #: up to then; empty when rendered in this process.
    peaks_mib: list[int] = field(default_factory=list)


def worker_count(jobs: int, limit: int | None = None) -> int:
    """How many renders to run side by side: as many as the renders, the cores, free
    memory and ``limit`` allow."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    n = min(jobs, cores, limit or cores)
    available = _mem_available()
    if available is not None:
        n = min(n, max(1, available // RENDER_BUDGET))
    return max(1, n)


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _peak_mib() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


_queue: Any = None


def _init_worker(queue: Any) -> None:
    global _queue
    _queue = queue


def _render_one(index: int, job: RenderJob, cache_dir: Path) -> tuple[Any, int]:
    """In a worker: one render, its progress sent to the parent; returns the peak too."""
    from scheduler.media.video.render import render_video

    queue = _queue
    progress = (lambda f: queue.put((index, f))) if queue is not None else None
    rendered = render_video(job.source, job.vp, cache_dir, focus=job.focus, trim=job.trim,
                            burn=job.burn, font=job.font, fit=job.fit, progress=progress)
    return rendered, _peak_mib()


def render_many(jobs: list[RenderJob], cache_dir: Path, *, head: str = "rendering",
                workers: int | None = None, stream: TextIO | None = None) -> RenderBatch:
    """Render every job (in order) in worker processes; side by side when there are
    several and cores allow.

    Inside a worker process renders run there, one after another and silently, so workers
    never start workers nor write over each other's progress.
    """
    import multiprocessing

    from scheduler.media.video.progress import terminal_lines

    inside = multiprocessing.parent_process() is not None
    show = None if inside else terminal_lines(head, [j.label for j in jobs], stream)
    n = worker_count(len(jobs), workers)
    if inside:
        from scheduler.media.video.render import render_video

        videos = []
        for job in jobs:
            videos.append(render_video(job.source, job.vp, cache_dir, focus=job.focus,
                                       trim=job.trim, burn=job.burn, font=job.font,
                                       fit=job.fit))
        return RenderBatch(videos, 0)
    return _in_pool(jobs, cache_dir, n, show)


def _in_pool(jobs: list[RenderJob], cache_dir: Path, n: int, show: Any) -> RenderBatch:
    """Spawned workers: their heap starts fresh (and forking a process that holds encoder
    threads is unsafe)."""
    import multiprocessing
    from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    progress = ctx.Queue() if show is not None else None
    with ProcessPoolExecutor(n, mp_context=ctx, initializer=_init_worker,
                             initargs=(progress,)) as pool:
        before = os.environ.get("GLIBC_TUNABLES")
        # Workers start on submit and take the environment as it is then.
        os.environ["GLIBC_TUNABLES"] = f"{before}:{ZEROED_HEAP}" if before else ZEROED_HEAP
        try:
            futures = {pool.submit(_render_one, i, job, cache_dir): i
                       for i, job in enumerate(jobs)}
        finally:
            if before is None:
                del os.environ["GLIBC_TUNABLES"]
            else:
                os.environ["GLIBC_TUNABLES"] = before
        pending = set(futures)
        finished: set[int] = set()
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                for f in pending:
                    f.cancel()
                raise failed.exception()  # type: ignore[misc]
            finished.update(futures[f] for f in done)
            _drain(progress, show, finished)
            for f in done:
                if show is not None:
                    show(futures[f], 1.0)
    results = [f.result() for f in futures]
    return RenderBatch([video for video, _ in results], n, [peak for _, peak in results])


def _drain(progress: Any, show: Any, finished: set[int]) -> None:
    """Show what the workers reported; 100 % only once a render is back (a late report
    of a finished render is dropped)."""
    import queue as queues

    while progress is not None:
        try:
            index, fraction = progress.get_nowait()
        except queues.Empty:
            return
        if index not in finished:
            show(index, min(fraction, 0.99))
