"""The ``x_peer`` fixture: Prism checking requests against the X API v2 description.

The X peer in ``shared/peers/x`` runs the Prism installed under ``shared/peers/mastodon``
(its ``start.sh`` looks in ``../mastodon``), so both folders are copied side by side into
one cache folder; Prism's ``node_modules`` stays there between sessions. Like the other
peers it skips without Node.js, unless ``POSTQ_REQUIRE_PEERS=1`` makes that a failure.

The description's responses for the chunked video upload carry no examples, so Prism
would answer ``"id": "string"``, which the next call's path (``^[0-9]{1,19}$``) refuses;
the copy's spec patch therefore also gives those responses realistic examples (taken
from https://docs.x.com/x-api/media/quickstart/media-upload-chunked). Requests are still
checked against the description as published.

Import it into a test module: ``from tests.peers_x import x_peer  # noqa: F401``.
"""

from __future__ import annotations

import hashlib
import textwrap
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
    _add_video_examples(root / "x")
    return root


#: The video's media id in the examples (X's documentation's own).
VIDEO_ID = "1880028106020515841"
_VIDEO_EXAMPLES = textwrap.dedent(f"""
    import json
    import runpy
    import sys

    runpy.run_path("patch_spec_upstream.py", run_name="__main__")
    spec = json.load(open(sys.argv[2]))
    V = "{VIDEO_ID}"
    examples = {{
        ("/2/media/upload/initialize", "post"): {{"data": {{
            "id": V, "media_key": "7_" + V, "expires_after_secs": 86400}}}},
        ("/2/media/upload/{{id}}/append", "post"): {{"data": {{"expires_at": 1767225600}}}},
        ("/2/media/upload/{{id}}/finalize", "post"): {{"data": {{
            "id": V, "media_key": "7_" + V, "size": 1024, "expires_after_secs": 86400,
            "processing_info": {{"state": "pending", "check_after_secs": 1}}}}}},
        ("/2/media/upload", "get"): {{"data": {{
            "id": V, "media_key": "7_" + V, "expires_after_secs": 86000,
            "processing_info": {{"state": "succeeded", "progress_percent": 100}}}}}},
        ("/2/media/subtitles", "post"): {{"data": {{
            "id": V, "media_category": "TweetVideo", "associated_subtitles": {{}}}}}},
    }}
    for (path, method), example in examples.items():
        media = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        media["example"] = example
        media.pop("examples", None)
        print("patched: %s %s 200: realistic example" % (method.upper(), path))
    json.dump(spec, open(sys.argv[2], "w"))
""")


def _add_video_examples(folder: Path) -> None:
    """Run the peer's own spec patch, then add the chunked-upload examples."""
    (folder / "patch_spec.py").replace(folder / "patch_spec_upstream.py")
    (folder / "patch_spec.py").write_text(_VIDEO_EXAMPLES, encoding="utf-8")


@pytest.fixture(scope="session")
def x_peer() -> Iterator[Peer]:
    """Prism mocking the X API v2 (port 4020); any Authorization header is accepted."""
    yield from _start_peer("x", copy=lambda peers: _pair_copy(peers) / "x",
                           timeout=_START_TIMEOUT)
