"""The ``x_peer`` fixture: Prism checking requests against the X API v2 description.

The X peer in ``shared/peers/x`` runs the Prism installed under ``shared/peers/mastodon``
(its ``start.sh`` looks in ``../mastodon``), so both folders are copied side by side into
one cache folder; Prism's ``node_modules`` stays there between sessions. Like the other
peers it skips without Node.js, unless ``POSTQ_REQUIRE_PEERS=1`` makes that a failure.

Import it into a test module: ``from tests.peers_x import x_peer  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers import Peer, _cache_root, _copy_tree, _start_peer

_START_TIMEOUT = 600


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
    yield from _start_peer("x", copy=lambda peers: _pair_copy(peers) / "x",
                           timeout=_START_TIMEOUT)
