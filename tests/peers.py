"""Servers the adapter tests talk HTTP to, and builders for what adapters publish.

* ``bsky_peer`` / ``mastodon_peer``: the reference peers from ``shared/peers`` (a real
  Bluesky PDS; Prism checking requests against Mastodon's OpenAPI description), started
  once per test session with their own ``start.sh`` and stopped with ``stop.sh``.
  The peer folders are read-only, so each is copied to a cache folder first; its
  ``node_modules`` stays there between sessions, which saves the first install (about
  three minutes for the PDS). Without Node.js or the peers folder the tests skip, unless
  ``POSTQ_REQUIRE_PEERS=1`` (CI) makes that a failure.
* ``local_server``: an ``http.server`` in a thread whose answers the test scripts, for
  what the peers cannot show (rate limits, 5xx, slow media processing, cut connections).
* ``make_image`` / ``make_post``: real JPEG files and :class:`OutgoingPost` objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from scheduler.adapters.base import OutgoingImage, OutgoingPost

REPO = Path(__file__).resolve().parents[1]
_START_TIMEOUT = 900  # seconds; the first PDS install compiles a native module


# -- reference peers --------------------------------------------------------------------


def _peers_required() -> bool:
    return os.environ.get("POSTQ_REQUIRE_PEERS", "") not in ("", "0")


def _unavailable(reason: str) -> None:
    if _peers_required():
        pytest.fail(f"{reason} (POSTQ_REQUIRE_PEERS=1 requires the reference peers)")
    pytest.skip(reason)


def find_peers_dir() -> Path | None:
    """``POSTQ_PEERS_DIR``, else ``shared/peers`` beside the repository."""
    candidates = []
    if os.environ.get("POSTQ_PEERS_DIR"):
        candidates.append(Path(os.environ["POSTQ_PEERS_DIR"]))
    candidates += [REPO.parent / "shared" / "peers", Path.cwd().parent / "shared" / "peers"]
    for candidate in candidates:
        if (candidate / "README.md").is_file():
            return candidate.resolve()
    return None


def _cache_root() -> Path:
    if os.environ.get("POSTQ_PEERS_CACHE"):
        return Path(os.environ["POSTQ_PEERS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "postq" / "peers"


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


def _working_copy(source: Path) -> Path:
    """A writable copy of a peer folder, reusing an earlier ``node_modules``."""
    lock = source / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() if lock.exists() else b"").hexdigest()[:12]
    target = _cache_root() / f"{source.name}-{digest}"
    _copy_tree(source, target)
    return target


@dataclass
class Peer:
    """A started reference peer: its base URL and whatever else ``start.sh`` printed."""

    name: str
    base_url: str
    info: dict[str, str]
    folder: Path
    startup_seconds: float


def _start_peer(
    name: str,
    env: dict[str, str] | None = None,
    *,
    copy: Callable[[Path], Path] | None = None,
    timeout: float = _START_TIMEOUT,
) -> Iterator[Peer]:
    """Start peer ``name`` from a writable copy (``copy(peers dir)``, by default its own
    folder's), yield it, and stop it afterwards."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("Node.js and npm are needed to run the reference peers")
    peers = find_peers_dir()
    if peers is None or not (peers / name / "start.sh").exists():
        _unavailable(
            f"reference peer '{name}' not found (set POSTQ_PEERS_DIR or put shared/peers "
            "beside the repository)"
        )
    assert peers is not None
    folder = copy(peers) if copy is not None else _working_copy(peers / name)
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(folder / "start.sh")], cwd=folder, capture_output=True, text=True,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        pytest.fail(f"{name} peer did not start:\n{proc.stdout}\n{proc.stderr}")
    if "already running" in proc.stdout:
        article = "an" if name == "x" else "a"
        pytest.fail(f"{article} {name} peer from another run is still up in {folder}; "
                    "run its stop.sh")
    info = dict(re.findall(r"^([A-Z_]+)=(\S+)", proc.stdout, re.MULTILINE))
    base_url = next((v for k, v in info.items() if k.endswith("_BASE_URL")), None)
    if base_url is None:
        subprocess.run(["bash", str(folder / "stop.sh")], cwd=folder, capture_output=True)
        pytest.fail(f"{name} peer printed no base URL:\n{proc.stdout}")
    assert base_url is not None
    try:
        yield Peer(name, base_url.rstrip("/"), info, folder, elapsed)
    finally:
        subprocess.run(["bash", str(folder / "stop.sh")], cwd=folder, capture_output=True,
                       timeout=60)


@pytest.fixture(scope="session")
def bsky_peer() -> Iterator[Peer]:
    """A real Bluesky PDS with the account alice.test / alice-pass (state wiped at start)."""
    yield from _start_peer("bsky")


@pytest.fixture(scope="session")
def mastodon_peer() -> Iterator[Peer]:
    """Prism checking every request against Mastodon's API description."""
    yield from _start_peer("mastodon", {"STRICT_IDEMPOTENCY": "1"})


# -- a scriptable local HTTP server -----------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list → JSON, bytes/str as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # read the request, then close the connection without answering


Handler = Callable[[Recorded], Reply]


class LocalServer:
    """``http.server`` in a thread; ``handler`` decides each answer, ``requests`` records."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.handler: Handler = lambda req: Reply(404, {"error": "no handler"})
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                rec = Recorded(self.command, self.path, dict(self.headers.items()), body)
                server.requests.append(rec)
                reply = server.handler(rec)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    return
                if isinstance(reply.body, dict | list):
                    payload = json.dumps(reply.body).encode()
                    ctype = "application/json"
                elif isinstance(reply.body, str):
                    payload, ctype = reply.body.encode(), "text/plain"
                else:
                    payload, ctype = reply.body or b"", "application/octet-stream"
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    try:
        yield server
    finally:
        server.close()


# -- what adapters publish --------------------------------------------------------------


def jpeg_bytes(width: int = 64, height: int = 48, color: tuple[int, int, int] = (20, 60, 160),
               *, noise: bool = False, quality: int = 85) -> bytes:
    """A real JPEG; ``noise`` makes it hard to compress (for size limits)."""
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        img = Image.new("RGB", (width, height), color)
    out = BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


@pytest.fixture
def make_image(tmp_path: Path) -> Callable[..., OutgoingImage]:
    counter = iter(range(1, 10_000))

    def build(width: int = 64, height: int = 48, *, alt: str = "A blue rectangle.",
              data: bytes | None = None, focus: tuple[float, float] | None = None,
              ) -> OutgoingImage:
        data = data if data is not None else jpeg_bytes(width, height)
        with Image.open(BytesIO(data)) as img:
            width, height = img.size
        path = tmp_path / "images" / f"{next(counter)}.jpg"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return OutgoingImage(path=path, mime="image/jpeg", alt=alt, width=width, height=height,
                             sha256=hashlib.sha256(data).hexdigest(), focus=focus)

    return build


@pytest.fixture
def make_post() -> Callable[..., OutgoingPost]:
    def build(caption: str = "We're hiring. https://www.example.gov.uk/careers #careers",
              images: tuple[OutgoingImage, ...] = (), *, delivery_id: str | None = None,
              post_id: str = "io-winter-2026", channel: str = "test", language: str = "en",
              remote_state: dict[str, Any] | None = None) -> OutgoingPost:
        delivery_id = delivery_id or f"{post_id}@{channel}-{os.urandom(4).hex()}"
        return OutgoingPost(
            delivery_id=delivery_id, post_id=post_id, channel=channel, caption=caption,
            images=tuple(images), language=language,
            content_hash=hashlib.sha256(caption.encode()).hexdigest(),
            due_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC), remote_state=remote_state or {},
        )

    return build
