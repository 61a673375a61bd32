"""Video posts for the adapter tests: a real two-second H.264/AAC clip (made with PyAV,
about 200 KB, so chunked uploads take several pieces), its captions and a cover image."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from scheduler.adapters.base import Adapter, OutgoingPost, OutgoingVideo

CAPTIONS = ("WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nWelcome to the archive\n\n"
            "00:00:01.600 --> 00:00:01.900\nApply by 14 December\n")
ALT = "An officer walks through the archive reading room."


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-second 320x180 H.264/AAC clip with movement (about 200 KB: several pieces)."""
    pytest.importorskip("av")
    from tests.video_samples import make_video

    return make_video(tmp_path_factory.mktemp("clip") / "clip.mp4", size=(320, 180),
                      seconds=2, moving=True)


@pytest.fixture
def make_video_post(clip: Path, make_post, make_image) -> Callable[..., OutgoingPost]:
    def build(caption: str = "A day in the archive. https://www.example.gov.uk/careers",
              *, cover: bool = True, captions: bool = True,
              delivery_id: str | None = None) -> OutgoingPost:
        data = clip.read_bytes()
        video = OutgoingVideo(
            path=clip, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
            mime="video/mp4", alt=ALT, width=320, height=180,
            captions_vtt=CAPTIONS if captions else None,
            cover=make_image(320, 180, alt=ALT) if cover else None)
        return replace(make_post(caption, delivery_id=delivery_id), video=video)

    return build


class Crash(BaseException):
    """The process dies: nothing after this point runs, and no ``except Exception`` sees it."""


@dataclass
class Store:
    """What the store would keep of an adapter's recorded progress: every save, as saved;
    ``crash_at`` kills the process right after that save."""

    saved: dict[str, Any] = field(default_factory=dict)
    saves: int = 0
    crash_at: int | None = None

    def attach(self, adapter: Adapter) -> Adapter:
        adapter.save_progress = self.save
        return adapter

    def save(self, delivery_id: str, state: dict[str, Any], token: int | None) -> None:
        self.saved = dict(state)
        self.saves += 1
        if self.crash_at is not None and self.saves >= self.crash_at:
            self.crash_at = None
            raise Crash(f"killed after save {self.saves}")

    def resumed(self, post: OutgoingPost) -> OutgoingPost:
        """The post as the next claim hands it over: the recorded progress attached."""
        return replace(post, remote_state=dict(self.saved), attempt=post.attempt + 1)
