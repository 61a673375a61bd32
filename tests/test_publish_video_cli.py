"""Video posts end to end through the command line, against the platforms' stand-ins.

* LinkedIn: ``queue add`` renders a captioned video, ``run --dry-run`` shows every call of
  the Videos API flow without the token, and ``run --once`` uploads the parts, captions
  and cover, waits for AVAILABLE and creates one post; the upload's ids are in the
  store's record.
* An Instagram channel with ``format = "story"``: the render and ``postq channels``
  follow Stories' limits, and the post goes out as a Story.
"""

from __future__ import annotations

import textwrap
import time
from datetime import UTC, datetime

import pytest

from tests.fakes import FakeLinkedIn
from tests.test_video_content import queue_due_now, video_post
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
    queue_due_now(project, video_post(project, channels="li",
                                      extra="  captions: clip.vtt\n  cover: 1"))

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


def test_video_post_to_an_instagram_story_channel(project, local_server, tmp_path):
    """``format = "story"`` in postq.toml: the render follows Stories' limits (9:16), and
    the post goes out as a Story with no caption."""
    from tests.fakes import FakeGraphContainers

    www = tmp_path / "www"
    fake = FakeGraphContainers(local_server, TOKEN, www, now=datetime.now(UTC))
    fake.video_polls = 0
    project.write_config(textwrap.dedent(f"""
        [channels.ig-story]
        adapter = "instagram"
        format = "story"
        base_url = "{local_server.base_url}"
        user_id = "{fake.user}"
        token_env = "IG_TOKEN"
        media_host = {{ kind = "directory", path = "{www}", public_base_url = "{fake.media_url}" }}
    """))
    make_video(project.root / "assets" / "clip.mp4", size=(360, 640), seconds=3)
    path = video_post(project, channels="ig-story", extra="  speech: false")
    path.write_text(path.read_text(encoding="utf-8").replace("publish_at: 2026-12-01 09:00\n",
                                                             ""), encoding="utf-8")
    added = project.run("queue", "add", "posts/clip.md", "--at", "+1s",
                        env={"POSTQ_USER": "alice"})
    assert added.exit_code == 0, added.output
    channels = project.run("channels", env={"IG_TOKEN": TOKEN})
    assert "video: Instagram Stories, 3–60 s" in channels.stdout
    assert project.run("approve", "clip", env={"POSTQ_USER": "bob"}).exit_code == 0
    time.sleep(1.2)
    result = project.run("run", "--once", env={"IG_TOKEN": TOKEN})
    assert result.stdout.startswith("clip@ig-story: published"), result.output
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "STORIES" and "caption" not in box["form"]
    assert len(fake.stories) == 1 and fake.posts == []
    assert fake.video_fetches[0][4:8] == b"ftyp"
