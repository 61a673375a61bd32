"""A plug-in adapter written before video existed is never handed a video post's caption alone."""

from __future__ import annotations

import textwrap

import pytest

from tests.project import Project
from tests.test_video_content import queue_due_now, video_post
from tests.video_samples import make_video

pytest.importorskip("av")

# A third-party adapter that knows images only: it does not declare publishes_video. Its
# platform profile is the outbox's, so validation knows the video limits it would face.
LEGACY_MODULE = '''
"""Appends each post's caption to a text file; it has never heard of video."""

from pathlib import Path

from scheduler.adapters.base import Adapter, AdapterSettings, Published


class LegacySettings(AdapterSettings):
    file: str


class LegacyAdapter(Adapter):
    platform = "outbox"
    settings_model = LegacySettings

    def publish(self, post):
        with Path(self.settings.file).open("a", encoding="utf-8") as fh:
            fh.write(post.delivery_id + "\\n")
        return Published(remote_id=post.delivery_id)

    def check(self, post):
        return None
'''


@pytest.fixture
def legacy_on_path(tmp_path, monkeypatch):
    """The distribution ``postq-legacy`` as an installer leaves it in site-packages."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "postq_legacy.py").write_text(LEGACY_MODULE, encoding="utf-8")
    dist = site / "postq_legacy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: postq-legacy\nVersion: 1.0\n",
                                   encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[postq.adapters]\nlegacy = postq_legacy:LegacyAdapter\n", encoding="utf-8")
    (dist / "RECORD").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return site


def test_adapter_without_video_holds_a_video_post_with_the_reason(
        legacy_on_path, project: Project) -> None:
    from scheduler.config import load
    from scheduler.store import Store

    written = project.root / "legacy.txt"
    project.write_config(textwrap.dedent(f"""
        [channels.legacy]
        adapter = "legacy"
        file = "{written}"
    """))
    make_video(project.root / "assets" / "clip.mp4", size=(320, 180), seconds=3)
    (project.root / "assets" / "clip.vtt").write_text(
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nHello\n", encoding="utf-8")
    queue_due_now(project, video_post(project, channels="legacy",
                                      extra="  captions: clip.vtt\n  cover: 1"))
    result = project.run("run", "--once")
    assert "clip@legacy" in result.stdout and "published" not in result.stdout
    assert not written.exists(), "the caption was not sent without its video"
    store = Store.open(load(project.config))
    (row,) = store.list_deliveries()
    assert row.state == "failed"
    (hold,) = [e for e in store.events("clip") if e.action == "hold"]
    assert hold.channel == "legacy"
    assert hold.reason == ("held back at claim time: the post has a video, and legacy's "
                           "adapter does not publish video")
