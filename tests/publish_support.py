"""Real publisher processes on a real project, for the multi-process tests and the benchmark.

The platform is a third-party adapter distribution written to disk (a module, a
``dist-info`` folder and its ``entry_points.txt`` under ``postq.adapters``), exactly as an
installer leaves one in site-packages, and put on the publishers' ``PYTHONPATH``: the
processes find it through the same door as any plug-in. It is the outbox with pauses
before and after the write, so a publisher can be caught mid-call, and in particular in
the gap where the post is out but the database does not know yet (the double-post trap).
Each call leaves a line per phase (``start``, ``written``, ``end``) in a per-process log,
which is how a test knows what a process was doing when it was killed and how the
benchmark measures when the adapter was called.

Nothing here imports pytest, so ``bench/publish.py`` uses the same pieces.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image

from scheduler.content.snapshot import ChannelSnapshot, ImageSnapshot, PostSnapshot

REPO = Path(__file__).resolve().parents[1]

#: Entry-point name of the slow outbox in ``postq.adapters``.
SLOW_ADAPTER = "slowbox"

SLOW_MODULE = '''
"""An outbox that takes its time, as a slow platform would, and logs each call's phases."""

import json
import os
import random
import threading
import time

from scheduler.adapters.outbox import OutboxAdapter, OutboxSettings


class SlowSettings(OutboxSettings):
    before: tuple[float, float] = (0.0, 0.0)   # seconds, drawn uniformly, before the write
    after: tuple[float, float] = (0.0, 0.0)    # ... and after it, before returning
    log_dir: str | None = None


class SlowOutbox(OutboxAdapter):
    settings_model = SlowSettings
    _log_lock = threading.Lock()

    def publish(self, post):
        self._note("start", post)
        time.sleep(random.uniform(*self.settings.before))
        published = super().publish(post)
        self._note("written", post, folder=published.remote_id)
        time.sleep(random.uniform(*self.settings.after))
        self._note("end", post)
        return published

    def _note(self, phase, post, **extra):
        if not self.settings.log_dir:
            return
        # "cpu": this thread's CPU time, so a benchmark can tell the adapter's own CPU
        # from the publisher's around it whatever else the machine is doing.
        line = json.dumps({"t": time.time(), "cpu": time.thread_time(), "pid": os.getpid(),
                           "phase": phase,
                           "delivery_id": post.delivery_id, "channel": self.channel,
                           "due_at": post.due_at.timestamp(), **extra})
        path = os.path.join(self.settings.log_dir, f"calls-{os.getpid()}.jsonl")
        with self._log_lock, open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\\n")
'''


def install_slow_adapter(site: Path) -> Path:
    """Lay out the ``postq-slowbox`` distribution in ``site``; returns ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "postq_slowbox.py").write_text(SLOW_MODULE, encoding="utf-8")
    dist = site / "postq_slowbox-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: postq-slowbox\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        f"[postq.adapters]\n{SLOW_ADAPTER} = postq_slowbox:SlowOutbox\n", encoding="utf-8")
    (dist / "RECORD").write_text("", encoding="utf-8")
    return site


@dataclass
class Rig:
    """A postq folder with its configuration, outbox, call logs and plug-in site."""

    root: Path
    channels: tuple[str, ...]
    adapter: str
    site: Path | None = None
    #: The platform and the call logs, when several rigs (machines) share them.
    outbox_dir: Path | None = None
    logs_dir: Path | None = None

    @property
    def config(self) -> Path:
        return self.root / "postq.toml"

    @property
    def outbox(self) -> Path:
        return self.outbox_dir or self.root / ".postq" / "outbox"

    @property
    def logs(self) -> Path:
        return self.logs_dir or self.root / "calls"

    def settings(self) -> Any:
        from scheduler.config import load

        return load(self.config)

    def store(self) -> Any:
        from scheduler.store import Store

        return Store.open(self.settings())

    def env(self, **extra: str) -> dict[str, str]:
        """The publishers' environment: the plug-in site first on the path."""
        env = dict(os.environ)
        paths = [str(self.site)] if self.site else []
        paths.append(str(REPO))
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.setdefault("POSTQ_USER", "publisher")
        env.update(extra)
        return env


def make_rig(
    root: Path, *, channels: Sequence[str] = ("c1", "c2", "c3"), adapter: str = SLOW_ADAPTER,
    before: tuple[float, float] = (0.0, 0.0), after: tuple[float, float] = (0.0, 0.0),
    stale_after: str = "30s", require_approval: bool = False, database: str = "",
    outbox: Path | None = None, logs: Path | None = None,
) -> Rig:
    """Write ``postq.toml`` for ``channels``, all on one adapter and one outbox folder.

    ``database``, ``outbox`` and ``logs`` let several rigs stand for several machines:
    one PostgreSQL queue, one platform, each with its own ``data_dir``.
    """
    root.mkdir(parents=True, exist_ok=True)
    rig = Rig(root, tuple(channels), adapter, outbox_dir=outbox, logs_dir=logs)
    rig.logs.mkdir(parents=True, exist_ok=True)
    if adapter == SLOW_ADAPTER:
        rig.site = install_slow_adapter(root / "site")
    parts = [textwrap.dedent(f"""
        [postq]
        timezone = "Europe/London"
        data_dir = ".postq"
        require_approval = {str(require_approval).lower()}
        stale_after = "{stale_after}"
        """)]
    if database:
        parts.append(f"database = {json.dumps(database)}\n")
    for name in channels:
        parts.append(f'\n[channels.{name}]\nadapter = "{adapter}"\n'
                     f'path = {json.dumps(str(outbox) if outbox else ".postq/outbox")}\n')
        if adapter == SLOW_ADAPTER:
            parts.append(f"before = [{before[0]}, {before[1]}]\nafter = [{after[0]}, {after[1]}]\n"
                         f"log_dir = {json.dumps(str(rig.logs))}\n")
    rig.config.write_text("".join(parts), encoding="utf-8")
    return rig


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "#336699").save(buf, "PNG")
    return buf.getvalue()


_IMAGE = ImageSnapshot(data=_png(), mime="image/png", alt="A desk with case notes.",
                       width=32, height=24, source="careers/desk.jpg")


def snapshot(post_id: str, channels: Iterable[str], adapter: str) -> PostSnapshot:
    """One careers post on ``channels``, built directly (no rendering: it is fast)."""
    names = tuple(channels)
    return PostSnapshot(
        post_id=post_id, kind="careers_promo", source_path=f"posts/{post_id}.md",
        source_text=f"---\nid: {post_id}\n---\nJoin us.\n", language="en", publish_at=None,
        channels=tuple(
            ChannelSnapshot(channel=c, adapter=adapter, caption=f"Join us ({post_id}, {c}).",
                            count=20, limit=500, images=(_IMAGE,))
            for c in names
        ),
    )


def queue_posts(rig: Rig, due: Sequence[datetime], *, prefix: str = "p") -> list[str]:
    """Queue one post per due time on every channel of the rig, in one transaction;
    returns the delivery ids. Approval is not required (the rig says so)."""
    store = rig.store()
    try:
        items = [(snapshot(f"{prefix}{i:04d}", rig.channels, rig.adapter), at)
                 for i, at in enumerate(due)]
        rows = store.add_many(items, require_approval=False)
        return [r.id for r in rows]
    finally:
        store.close()


@dataclass
class PublisherProcess:
    """One ``python -m scheduler run`` process with its output kept in files."""

    rig: Rig
    args: tuple[str, ...] = ()
    name: str = "publisher"
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    out_path: Path | None = None
    err_path: Path | None = None
    _files: list[Any] = field(default_factory=list)

    def start(self) -> PublisherProcess:
        self.out_path = self.rig.root / f"{self.name}.out"
        self.err_path = self.rig.root / f"{self.name}.err"
        out, err = open(self.out_path, "wb"), open(self.err_path, "wb")  # noqa: SIM115
        self._files = [out, err]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--config", str(self.rig.config), "run",
             *self.args],
            cwd=self.rig.root, env=self.rig.env(**self.extra_env), stdout=out, stderr=err,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, signum: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout: float) -> int | None:
        """The exit status, or None if still running after ``timeout`` seconds."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Make sure the process is gone (SIGKILL if it has to be); always safe to call."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        for f in self._files:
            f.close()
        self._files = []

    def stderr(self) -> str:
        if self.err_path is None or not self.err_path.exists():
            return ""
        return self.err_path.read_text(encoding="utf-8", errors="replace")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something true; that value, or None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def outbox_folders(outbox: Path) -> dict[str, list[str]]:
    """delivery_id → the outbox folders whose ``meta.json`` names it (complete ones only:
    hidden temporary folders are what a crash mid-write leaves, not publications)."""
    found: dict[str, list[str]] = {}
    if not outbox.is_dir():
        return found
    for folder in sorted(outbox.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        found.setdefault(meta["delivery_id"], []).append(folder.name)
    return found


def outbox_count(outbox: Path) -> int:
    """How many complete folders the outbox holds (cheap enough to poll)."""
    if not outbox.is_dir():
        return 0
    return sum(1 for f in os.scandir(outbox) if not f.name.startswith("."))


def read_calls(logs: Path) -> list[dict[str, Any]]:
    """Every line every publisher's adapter logged, in time order. A line cut short by a
    kill is skipped: it is the only one a process can leave half written."""
    lines = []
    for path in logs.glob("calls-*.jsonl"):
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
    return sorted(lines, key=lambda c: c["t"])


def open_calls(logs: Path, pid: int) -> dict[str, str]:
    """delivery_id → last phase, for the calls of process ``pid`` that have not ended."""
    phases: dict[str, str] = {}
    path = logs / f"calls-{pid}.jsonl"
    if not path.exists():
        return phases
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if line["phase"] == "end":
            phases.pop(line["delivery_id"], None)
        else:
            phases[line["delivery_id"]] = line["phase"]
    return phases


def state_counts(rig: Rig) -> Counter[str]:
    """Deliveries per state, read by a fresh store (what ``postq status`` would say)."""
    store = rig.store()
    try:
        return Counter({k: v for k, v in store.counts().items() if v})
    finally:
        store.close()


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (no interpolation: p99 of 100 values is the 99th)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
