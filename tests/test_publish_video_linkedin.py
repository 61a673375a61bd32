"""A captioned video post, end to end through the command line to LinkedIn's stand-in:
``queue add`` renders it, ``run --dry-run`` shows every call of the Videos API flow
without the token, and ``run --once`` uploads the parts, captions and cover, waits for
AVAILABLE and creates one post; the upload's ids are in the store's record."""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime

import pytest

from tests.fakes import FakeLinkedIn
from tests.test_video_content import video_post
from tests.video_samples import make_video

pytest.importorskip("av")

TOKEN = "AQV-Recognisable-e2e-token-1b2c3d"


def test_video_post_to_linkedin_from_queue_to_published(project, local_server):
    from scheduler.config import load
    from scheduler.store import Store

    fake = FakeLinkedIn(local_server, TOKEN, now=datetime.now(UTC))
    fake.part_size = 64 * 1024
    fake.video_polls = 0  # AVAILABLE at the first look: the run never sleeps
    project.write_config(textwrap.dedent(f"""
        [channels.li]
        adapter = "linkedin"
        base_url = "{local_server.base_url}"
        organization = "2414183"
        token_env = "LI_TOKEN"
    """))
    make_video(project.root / "assets" / "clip.mp4", size=(320, 180), seconds=3, moving=True)
    (project.root / "assets" / "clip.vtt").write_text(
        "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nWelcome to the archive\n", encoding="utf-8")
    path = video_post(project, channels="li", extra="  captions: clip.vtt\n  cover: 1")
    path.write_text(path.read_text(encoding="utf-8").replace("publish_at: 2026-12-01 09:00\n",
                                                             ""), encoding="utf-8")
    added = project.run("queue", "add", "posts/clip.md", "--at", "+1s",
                        env={"POSTQ_USER": "alice"})
    assert added.exit_code == 0, added.output
    assert project.run("approve", "clip", env={"POSTQ_USER": "bob"}).exit_code == 0
    time.sleep(1.2)

    env = {"LI_TOKEN": TOKEN}
    dry = project.run("run", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.output
    for call in ("/rest/videos?action=initializeUpload", "PUT <uploadUrl of each part>",
                 "PUT <captionsUploadUrl>", "PUT <thumbnailUploadUrl>",
                 "/rest/videos?action=finalizeUpload", "GET ", "/rest/posts"):
        assert call in dry.stdout
    assert TOKEN not in dry.output and local_server.requests == []

    result = project.run("run", "--once", env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("clip@li: published")
    (urn,) = fake.videos
    store = Store.open(load(project.config))
    (row,) = store.list_deliveries()
    assert row.state == "published" and row.remote_id == fake.posts[0]["id"]
    stored = store.outgoing(row).video
    assert stored is not None and fake.video_bytes(urn) == stored.path.read_bytes()
    assert fake.videos[urn]["captions"] == ("1\n00:00:00,500 --> 00:00:02,000\n"
                                            "Welcome to the archive\n")
    assert fake.videos[urn]["thumbnail"] == stored.cover.read_bytes()
    assert fake.posts[0]["content"] == {"media": {"id": urn}}
    assert row.remote_state["video"] == urn and row.remote_state["finalized"] is True
    assert len(row.remote_state["etags"]) == len(fake.videos[urn]["parts"])
    assert project.run("run", "--once", env=env).stdout == "Nothing was due.\n"
