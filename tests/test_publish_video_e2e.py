"""A captioned video post from ``queue add`` to published on X, Mastodon and Bluesky, through
the command line and the real store, against the platforms' stand-ins (one local server
answers for all four hosts: their paths do not overlap)."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from tests.fakes import FakeBlueskyPds, FakeMastodon, FakeX
from tests.fakes.bluesky_video import FakeVideoService
from tests.test_video_content import queue_due_now, video_post
from tests.video_samples import make_video

pytest.importorskip("av")

SECRETS = {"X_TOKEN": "x-e2e-Recognisable-1a2b", "M_TOKEN": "m-e2e-Recognisable-3c4d",
           "B_PASS": "b-e2e-Recognisable-5e6f"}


def test_video_post_to_x_mastodon_and_bluesky(project, local_server):
    from scheduler.config import load
    from scheduler.store import Store

    x = FakeX(local_server, SECRETS["X_TOKEN"], now=datetime.now(UTC))
    x.video.polls_before_done = 0
    masto = FakeMastodon(local_server, SECRETS["M_TOKEN"], now=datetime.now(UTC))
    pds = FakeBlueskyPds(local_server, SECRETS["B_PASS"], now=datetime.now(UTC))
    service = FakeVideoService(local_server.base_url)
    service.polls_before_done = 0

    def route(req):
        if req.path.startswith("/2/"):
            return x(req)
        if req.path.startswith("/api/"):
            return masto(req)
        return service(req) if "/app.bsky.video." in req.path else pds(req)

    local_server.handler = route
    url = local_server.base_url
    project.write_config(textwrap.dedent(f"""
        [channels.xx]
        adapter = "x"
        base_url = "{url}"
        token_env = "X_TOKEN"

        [channels.masto]
        adapter = "mastodon"
        base_url = "{url}"
        token_env = "M_TOKEN"

        [channels.bsky]
        adapter = "bluesky"
        base_url = "{url}"
        handle = "careers.example"
        password_env = "B_PASS"
        video_service = "{url}"
    """))
    make_video(project.root / "assets" / "clip.mp4", size=(320, 180), seconds=3, moving=True)
    vtt = "WEBVTT\n\n00:00:00.500 --> 00:00:02.000\nWelcome to the archive\n"
    (project.root / "assets" / "clip.vtt").write_text(vtt, encoding="utf-8")
    queue_due_now(project, video_post(project, channels="xx, masto, bsky",
                                      extra="  captions: clip.vtt\n  cover: 1"))

    result = project.run("run", "--once", env=SECRETS)
    assert result.exit_code == 0, result.output
    assert sorted(line.split(":")[0] for line in result.stdout.splitlines()) == [
        "clip@bsky", "clip@masto", "clip@xx"]
    assert result.stdout.count(": published") == 3
    for secret in SECRETS.values():
        assert secret not in result.output

    store = Store.open(load(project.config))
    rows = {r.channel: r for r in store.list_deliveries()}
    # X: the render's bytes in pieces, processed, the captions attached as subtitles.
    (upload,) = x.video.videos()
    assert upload.data == store.outgoing(rows["xx"]).video.path.read_bytes()
    assert upload.subtitles[0]["vtt"].decode() == vtt
    assert len(x.tweets) == 1 and rows["xx"].remote_id == x.tweets[0]["id"]
    assert rows["xx"].remote_state["video"]["processed"] is True
    # Mastodon: one upload with its description and cover; captions burned in the render.
    ((media_id, form),) = masto.videos.items()
    mastodon_video = store.outgoing(rows["masto"]).video
    assert form["file"][1] == mastodon_video.path.read_bytes()
    assert mastodon_video.captions_vtt is None
    assert len(masto.statuses) == 1 and rows["masto"].remote_state["video"]["id"] == media_id
    # Bluesky: processed by the service, stored on the PDS, embedded with its captions.
    (record,) = pds.records.values()
    embed = record["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video" and embed["captions"][0]["lang"] == "en"
    assert rows["bsky"].remote_state["video"]["blob"] == embed["video"]
    assert project.run("run", "--once", env=SECRETS).stdout == "Nothing was due.\n"
