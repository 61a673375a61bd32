"""The ``x_peer`` fixture: Prism checking requests against the X API v2 description.

The X peer in ``shared/peers/x`` runs the Prism installed under ``shared/peers/mastodon``
(its ``start.sh`` looks in ``../mastodon``), so both folders are copied side by side into
one cache folder; Prism's ``node_modules`` stays there between sessions. Like the other
peers it skips without Node.js, unless ``POSTQ_REQUIRE_PEERS=1`` makes that a failure.

Import it into a test module: ``from tests.peers_x import x_peer  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import Peer, _cache_root, _unavailable, find_peers_dir

_START_TIMEOUT = 600


def _copy_tree(source: Path, target: Path) -> None:
    """Copy a peer folder, keeping the target's ``node_modules``, ``run`` and ``data``."""
    target.mkdir(parents=True, exist_ok=True)
    for item in source.rglob("*"):
        rel = item.relative_to(source)
        if rel.parts[0] in ("node_modules", "run", "data"):
            continue
        dest = target / rel
        if item.is_dir():
            dest.mkdir(exist_ok=True)
            continue
        if dest.exists():
            dest.chmod(dest.stat().st_mode | stat.S_IWUSR)
            dest.unlink()
        shutil.copy2(item, dest)
        dest.chmod(dest.stat().st_mode | stat.S_IWUSR)


def _pair_copy(peers: Path) -> Path:
    lock = peers / "mastodon" / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() if lock.exists() else b"").hexdigest()[:12]
    root = _cache_root() / f"x-pair-{digest}"
    _copy_tree(peers / "mastodon", root / "mastodon")
    _copy_tree(peers / "x", root / "x")
    return root


@pytest.fixture(scope="session")
def x_peer() -> Iterator[Peer]:
    """Prism mocking the X API v2 (port 4020); any Authorization header is accepted."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("Node.js and npm are needed to run the reference peers")
    peers = find_peers_dir()
    if peers is None or not (peers / "x" / "start.sh").exists():
        _unavailable("reference peer 'x' not found (set POSTQ_PEERS_DIR or put shared/peers "
                     "beside the repository)")
    assert peers is not None
    folder = _pair_copy(peers) / "x"
    started = time.monotonic()
    proc = subprocess.run(["bash", str(folder / "start.sh")], cwd=folder, capture_output=True,
                          text=True, timeout=_START_TIMEOUT)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        pytest.fail(f"x peer did not start:\n{proc.stdout}\n{proc.stderr}")
    if "already running" in proc.stdout:
        pytest.fail(f"an x peer from another run is still up in {folder}; run its stop.sh")
    info = dict(re.findall(r"^([A-Z_]+)=(\S+)", proc.stdout, re.MULTILINE))
    if "X_BASE_URL" not in info:
        subprocess.run(["bash", str(folder / "stop.sh")], cwd=folder, capture_output=True)
        pytest.fail(f"x peer printed no base URL:\n{proc.stdout}")
    try:
        yield Peer("x", info["X_BASE_URL"].rstrip("/"), info, folder, elapsed)
    finally:
        subprocess.run(["bash", str(folder / "stop.sh")], cwd=folder, capture_output=True,
                       timeout=60)
