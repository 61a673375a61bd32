"""Images and a video in one post, end to end through the command line: ``queue add`` to
an Instagram and a Threads channel, ``run --once`` against the Meta stand-ins, and each
platform receives one carousel of the images in order followed by the video.

The content hash covers every row (images, the video's cover, the video, its captions),
so the claim-time check passes the rows as queued and holds a row edited afterwards.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from tests.fakes import FakeGraphContainers
from tests.peers import LocalServer
from tests.project import Project, make_photo
from tests.test_video_content import queue_due_now, video_post
from tests.video_samples import make_video

pytest.importorskip("av")

TOKEN = "EAAG-Recognisable-carousel-token-9f8e7d"
IMAGES = ("images:\n  - path: photo.jpg\n    alt: A desk with case notes.\n"
          "  - path: desk.jpg\n    alt: A reading lamp over an open file.")


def graph_channel(name: str, adapter: str, fake: FakeGraphContainers, www: Path) -> str:
    return textwrap.dedent(f"""
        [channels.{name}]
        adapter = "{adapter}"
        base_url = "{fake.base_url}"
        user_id = "{fake.user}"
        token_env = "META_TOKEN"
        media_host = {{ kind = "directory", path = "{www}", public_base_url = "{fake.media_url}" }}
    """)


@pytest.fixture
def threads_server() -> LocalServer:
    server = LocalServer()
    yield server
    server.close()


def queue_mixed_post(project: Project, channels: str) -> None:
    assets = project.root / "assets"
    make_photo(assets / "desk.jpg", color="#884422")
    make_video(assets / "clip.mp4", size=(360, 640), seconds=3)
    (assets / "clip.vtt").write_text("WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nWe are hiring\n",
                                     encoding="utf-8")
    queue_due_now(project, video_post(project, channels=channels,
                                      extra=f"  captions: clip.vtt\n{IMAGES}"))


def children_of(fake: FakeGraphContainers) -> list[dict[str, str]]:
    """The forms of the published carousel's children, in the carousel's order."""
    (post,) = fake.posts
    (parent,) = [box for box in fake.containers.values()
                 if box["status"] == "PUBLISHED"]
    assert parent["form"]["media_type"] == "CAROUSEL"
    assert parent["form"][fake.text] == post[fake.text]
    return [fake.containers[c]["form"] for c in parent["form"]["children"].split(",")]


def test_images_and_a_video_go_out_as_one_carousel_on_instagram_and_threads(
        project, local_server, threads_server, tmp_path):
    from scheduler.config import load
    from scheduler.store import Store
    from scheduler.team.gate import why_held

    now = datetime.now(UTC)
    ig = FakeGraphContainers(local_server, TOKEN, tmp_path / "ig", now=now)
    th = FakeGraphContainers(threads_server, TOKEN, tmp_path / "th", flavour="threads",
                             now=now)
    for fake in (ig, th):
        fake.video_polls = 0  # transcoded by the first look: the run never sleeps
    project.write_config(graph_channel("ig", "instagram", ig, tmp_path / "ig")
                         + graph_channel("th", "threads", th, tmp_path / "th"))
    queue_mixed_post(project, "ig, th, outbox")

    store = Store.open(load(project.config))
    rows = store.list_deliveries()
    # Every row is covered by the approved hash: the claim-time check passes them.
    assert [why_held(store, row) for row in rows] == [None, None, None]
    outgoing = {row.channel: store.outgoing(row) for row in rows}
    for channel, post in outgoing.items():
        assert [i.alt for i in post.images] == ["A desk with case notes.",
                                                "A reading lamp over an open file."]
        assert post.video is not None and post.video.cover is not None
        # Burned in for Instagram and Threads, a file beside the video in the outbox, as
        # the render rules decide.
        assert (post.video.captions_vtt is None) == (channel != "outbox")

    env = {"META_TOKEN": TOKEN}
    dry = project.run("run", "--dry-run", env=env)
    assert dry.exit_code == 0, dry.output
    for kind in ("IMAGE", "VIDEO", "CAROUSEL"):
        assert f'"media_type": "{kind}"' in dry.stdout
    assert dry.stdout.count('"is_carousel_item": "true"') == 6  # three items on each
    assert TOKEN not in dry.output

    result = project.run("run", "--once", env=env)
    assert result.exit_code == 0, result.output
    for channel in ("ig", "th", "outbox"):
        assert f"clip@{channel}: published" in result.stdout
    # The outbox writes the images in order beside the video, its captions and cover.
    (folder,) = (project.root / ".postq" / "outbox").iterdir()
    assert sorted(f.name for f in folder.iterdir()) == [
        "1.jpg", "2.jpg", "caption.txt", "captions.vtt", "cover.jpg", "meta.json", "video.mp4"]
    assert (folder / "1.jpg").read_bytes() == outgoing["outbox"].images[0].read_bytes()
    assert (folder / "video.mp4").read_bytes() == outgoing["outbox"].video.path.read_bytes()

    ig_children = children_of(ig)
    assert [c.get("media_type", "IMAGE") for c in ig_children] == ["IMAGE", "IMAGE", "VIDEO"]
    assert all(c["is_carousel_item"] == "true" for c in ig_children)
    assert [c.get("alt_text") for c in ig_children[:2]] == [
        "A desk with case notes.", "A reading lamp over an open file."]
    th_children = children_of(th)
    assert [c["media_type"] for c in th_children] == ["IMAGE", "IMAGE", "VIDEO"]
    assert all(c["is_carousel_item"] == "true" for c in th_children)
    assert th_children[2]["alt_text"] == "An officer walks through the archive."
    # The images went in order and the video each platform fetched is the stored render
    # (9:16 Reels render with the captions burned in for Instagram).
    for fake, channel in ((ig, "ig"), (th, "th")):
        post = outgoing[channel]
        assert post.video is not None
        assert fake.fetched == [i.read_bytes() for i in post.images]
        assert fake.video_fetches == [post.video.path.read_bytes()]
        assert len(fake.posts) == 1 and fake.publish_calls == 1
    first = Image.open(outgoing["ig"].images[0].path)
    assert first.size[0] / first.size[1] == pytest.approx(1080 / 1350, rel=0.01)
    # Recorded: the children's container ids, then the carousel's; a second run sends
    # nothing.
    for row in Store.open(load(project.config)).list_deliveries():
        assert row.state == "published"
        if row.channel != "outbox":
            assert len(row.remote_state["children"]) == 3
            assert row.remote_state["container_id"]
    assert project.run("run", "--once", env=env).stdout == "Nothing was due.\n"
    assert len(ig.posts) == 1 and len(th.posts) == 1



def test_the_approved_hash_covers_the_video_rows_beside_the_images(project, local_server,
                                                                    tmp_path):
    """A video row's alt text edited in the database after queueing: the claim-time check
    holds the delivery (the images' rows alone would not have shown it)."""
    from sqlalchemy import update

    from scheduler.config import load
    from scheduler.store import Store
    from scheduler.store.schema import T
    from scheduler.team.gate import why_held

    ig = FakeGraphContainers(local_server, TOKEN, tmp_path / "ig")
    project.write_config(graph_channel("ig", "instagram", ig, tmp_path / "ig"))
    queue_mixed_post(project, "ig")
    store = Store.open(load(project.config))
    (row,) = store.list_deliveries()
    assert why_held(store, row) is None
    media = store.claim_evidence(row.id).delivery.media
    # The images, then the video's cover (marked as such by its source), then the video;
    # the captions are burned in, so there is no captions row.
    assert [(m.mime, m.source) for m in media] == [
        ("image/jpeg", "photo.jpg"), ("image/jpeg", "desk.jpg"),
        ("image/jpeg", "cover:clip.mp4"), ("video/mp4", "clip.mp4")]
    dm = T["delivery_media"]
    with store.engine.begin() as conn:
        conn.execute(update(dm).where(dm.c.delivery_id == row.id, dm.c.position == 3)
                     .values(alt="Edited after approval."))
    (row,) = store.list_deliveries()
    held = why_held(store, row)
    assert held is not None and "no longer match the queued content" in held
