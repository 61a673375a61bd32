"""One video contract, every adapter: the same scenarios against each platform's stand-in.

Like :mod:`tests.test_adapter_contract` for images, each adapter is wired to what it talks
to (a reference peer, a stand-in following the platform's documented video flow, or a
folder) and put through the same scenarios; a scenario the platform cannot have is
skipped with the reason. Adapters join by adding a :class:`VideoCase` to :data:`CASES`.

Scenarios:

* **success** — the video (with its captions and cover where the platform takes them)
  is published once;
* **interrupted upload** — the process dies right after the adapter recorded its *n*-th
  step (the store keeps what was recorded, nothing else); a fresh adapter given the
  recorded progress finishes the same upload and publishes one post, without starting a
  second upload;
* **processing fails** on the platform's side — a permanent failure quoting the
  platform's reason, and no post;
* **slow processing** — processing outlasts the wait one call may spend
  (:data:`~scheduler.adapters.base.VIDEO_WAIT_BUDGET`): the call ends with
  :class:`~scheduler.errors.StillProcessing` (transient, the upload kept), having waited
  no longer than the budget; the next attempt publishes the same upload once;
* **story** — a Story where the platform has them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from scheduler.adapters.base import VIDEO_WAIT_BUDGET, Adapter, Published
from scheduler.adapters.bluesky import BlueskyAdapter
from scheduler.adapters.mastodon import MastodonAdapter
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.adapters.outgoing import OutgoingPost
from scheduler.adapters.webhook import WebhookAdapter
from scheduler.adapters.x import XAdapter
from scheduler.errors import PermanentPublishError, PublishError, StillProcessing
from scheduler.timeutil import FixedClock
from tests import video_posts
from tests.fakes import NOW, FakeBlueskyPds, FakeMastodon, FakeWebhookReceiver, FakeX
from tests.fakes.bluesky_video import FakeVideoService
from tests.video_posts import Crash, Store

pytest.importorskip("av")

TOKEN = "tok-Recognisable-7f3e2d1c9b8a"
ENV = {"POSTQ_TOKEN": TOKEN}
#: Small pieces, so that the test video is uploaded in several.
TEST_CHUNK = 64 * 1024
clip, make_video_post = video_posts.clip, video_posts.make_video_post
#: One cue, so that every platform's rendering of it is easy to state.
CAPTIONS = "WEBVTT\n\n00:00:00.200 --> 00:00:01.500\nWelcome to the archive\n"


@dataclass
class VideoRig:
    """An adapter wired to what it publishes to, and how to count what arrived there."""

    adapter: Adapter
    #: A new adapter for the same channel, as after a restart (it remembers nothing).
    rebuild: Callable[[], Adapter]
    #: Posts (or folders, or webhook deliveries) that exist on the platform.
    count: Callable[[], int]
    #: Video uploads the platform has seen begin; None where there is no upload.
    uploads: Callable[[], int] | None = None
    #: What the platform received for the one post: shown in failures, checked by cases.
    inspect: Callable[[], Any] = lambda: None
    fake: Any = None
    secret: str = TOKEN


Builder = Callable[[Any, Path, Callable[[float], None]], VideoRig]


@dataclass
class VideoCase:
    name: str
    build: Builder
    #: Crash after this many recorded steps (an upload begun and part sent).
    crash_after: int = 2
    #: Make the platform fail its processing of the next video; returns its reason.
    fail_processing: Callable[[VideoRig], str] | None = None
    #: Make the platform answer "still processing" until ``finish_processing``.
    slow_processing: Callable[[VideoRig], None] | None = None
    finish_processing: Callable[[VideoRig], None] | None = None
    #: Builds a rig whose channel publishes Stories; or the reason there are none.
    story: Builder | str = "the platform has no Stories"
    #: Checks of what the platform received after the success scenario.
    received: Callable[[VideoRig, OutgoingPost], None] | None = None
    #: scenario → why it cannot happen here
    not_applicable: dict[str, str] = field(default_factory=dict)


_CLOCKS: dict[Path, FixedClock] = {}


def adapter_kwargs(tmp: Path) -> dict[str, Any]:
    """Every adapter of one test shares one clock."""
    return {"env": ENV, "clock": _CLOCKS.setdefault(tmp, FixedClock(NOW)),
            "data_dir": tmp / "data"}


# -- the cases --------------------------------------------------------------------------


def build_outbox(server: Any, tmp: Path, sleep: Callable[[float], None]) -> VideoRig:
    root = tmp / "outbox"
    raw = {"adapter": "outbox", "path": str(root)}

    def make() -> Adapter:
        return OutboxAdapter("out", OutboxAdapter.parse_settings("out", raw),
                             **adapter_kwargs(tmp))

    def folders() -> list[Path]:
        return sorted(p for p in root.iterdir() if not p.name.startswith(".")) \
            if root.is_dir() else []

    return VideoRig(make(), make, lambda: len(folders()), inspect=folders, secret="")


def outbox_received(rig: VideoRig, post: OutgoingPost) -> None:
    import json

    (folder,) = rig.inspect()
    video = post.video
    assert video is not None and video.cover is not None
    assert (folder / "video.mp4").read_bytes() == video.path.read_bytes()
    assert (folder / "captions.vtt").read_text(encoding="utf-8") == CAPTIONS
    assert (folder / "cover.jpg").read_bytes() == video.cover.read_bytes()
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["video"]["alt"] == video.alt and meta["video"]["captions"] == "captions.vtt"
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".postq-tmp-")]


def build_webhook(server: Any, tmp: Path, sleep: Callable[[float], None]) -> VideoRig:
    fake = FakeWebhookReceiver(server)
    raw = {"adapter": "webhook", "url": server.base_url + "/hook", "secret_env": "POSTQ_TOKEN"}

    def make() -> Adapter:
        return WebhookAdapter("hook", WebhookAdapter.parse_settings("hook", raw),
                              **adapter_kwargs(tmp))

    return VideoRig(make(), make, lambda: len(fake.received), inspect=lambda: fake.received,
                    fake=fake)


def webhook_received(rig: VideoRig, post: OutgoingPost) -> None:
    import base64

    (doc,) = rig.inspect()
    video = post.video
    assert video is not None and video.cover is not None and doc["images"] == []
    sent = doc["video"]
    assert base64.b64decode(sent["data"]) == video.path.read_bytes()
    assert sent["sha256"] == video.sha256 and sent["alt"] == video.alt
    assert sent["captions_vtt"] == CAPTIONS
    assert base64.b64decode(sent["cover"]["data"]) == video.cover.read_bytes()


def build_x(server: Any, tmp: Path, sleep: Callable[[float], None]) -> VideoRig:
    fake = FakeX(server, TOKEN)
    raw = {"adapter": "x", "base_url": server.base_url, "token_env": "POSTQ_TOKEN"}

    def make() -> Adapter:
        adapter = XAdapter("x", XAdapter.parse_settings("x", raw), sleep=sleep,
                           **adapter_kwargs(tmp))
        adapter.video.chunk = TEST_CHUNK
        return adapter

    return VideoRig(make(), make, lambda: len(fake.tweets),
                    uploads=lambda: len(fake.video.videos()), inspect=lambda: fake, fake=fake)


def x_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    (upload,) = fake.video.videos()
    (tweet,) = fake.tweets
    video = post.video
    assert video is not None
    assert upload.data == video.path.read_bytes() and len(upload.segments) > 1
    assert tweet["media"] == [k for k, v in fake.video.uploads.items() if v is upload]
    assert upload.alt == video.alt
    (track,) = upload.subtitles
    assert track["language_code"] == "EN" and track["vtt"].decode() == CAPTIONS


def x_fail(rig: VideoRig) -> str:
    rig.fake.video.fail_with = "Unsupported video format"
    return "Unsupported video format"


def build_mastodon(server: Any, tmp: Path, sleep: Callable[[float], None]) -> VideoRig:
    fake = FakeMastodon(server, TOKEN)
    raw = {"adapter": "mastodon", "base_url": server.base_url, "token_env": "POSTQ_TOKEN"}

    def make() -> Adapter:
        return MastodonAdapter("masto", MastodonAdapter.parse_settings("masto", raw),
                               sleep=sleep, **adapter_kwargs(tmp))

    return VideoRig(make(), make, lambda: len(fake.statuses), uploads=lambda: len(fake.videos),
                    inspect=lambda: fake, fake=fake)


def mastodon_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None and video.cover is not None
    ((media_id, form),) = fake.videos.items()
    assert form["file"][1] == video.path.read_bytes()
    assert form["description"] == video.alt
    assert form["thumbnail"][1] == video.cover.read_bytes()
    assert len(fake.statuses) == 1


def mastodon_fail(rig: VideoRig) -> str:
    rig.fake.fail_video = True
    return "Error processing thumbnail for uploaded media"


def build_bluesky(server: Any, tmp: Path, sleep: Callable[[float], None]) -> VideoRig:
    pds = FakeBlueskyPds(server, TOKEN)
    service = FakeVideoService(server.base_url)
    # One local server plays both hosts: the video service's methods, and the PDS.
    server.handler = lambda req: (service(req) if req.path.startswith("/xrpc/app.bsky.video.")
                                  else pds(req))
    raw = {"adapter": "bluesky", "base_url": server.base_url, "handle": "careers.example",
           "password_env": "POSTQ_TOKEN", "cache_session": False,
           "video_service": server.base_url}

    def make() -> Adapter:
        return BlueskyAdapter("bsky", BlueskyAdapter.parse_settings("bsky", raw), sleep=sleep,
                              **adapter_kwargs(tmp))

    return VideoRig(make(), make, lambda: len(pds.records), uploads=lambda: len(service.jobs),
                    inspect=lambda: (pds, service), fake=service)


def bluesky_received(rig: VideoRig, post: OutgoingPost) -> None:
    pds, service = rig.inspect()
    video = post.video
    assert video is not None
    ((_, job),) = service.jobs.items()
    assert job.data == video.path.read_bytes() and job.blob is not None
    (record,) = pds.records.values()
    shown = record["value"]["embed"]
    assert shown["$type"] == "app.bsky.embed.video" and shown["video"] == job.blob
    assert shown["alt"] == video.alt
    assert shown["aspectRatio"] == {"width": video.width, "height": video.height}
    assert shown["captions"][0]["lang"] == "en"
    assert shown["captions"][0]["file"]["mimeType"] == "text/vtt"


def bluesky_fail(rig: VideoRig) -> str:
    rig.fake.fail_with = "Video is too long"
    return "Video is too long"


LOCAL = "writes to a local folder"
RECEIVER = "the receiver's own business, after one request that carries the whole video"
CASES: list[VideoCase] = [
    VideoCase("outbox", build_outbox, crash_after=1, received=outbox_received,
              story="an outbox folder holds the post; a Story is the platform's display",
              not_applicable={"fail_processing": f"{LOCAL}: nothing processes the video",
                              "slow_processing": f"{LOCAL}: nothing processes the video"}),
    VideoCase("x", build_x, crash_after=3, received=x_received, fail_processing=x_fail,
              slow_processing=lambda rig: setattr(rig.fake.video, "hold", True),
              finish_processing=lambda rig: setattr(rig.fake.video, "hold", False),
              story="X has no Stories"),
    VideoCase("mastodon", build_mastodon, crash_after=1, received=mastodon_received,
              fail_processing=mastodon_fail,
              slow_processing=lambda rig: setattr(rig.fake, "hold_video", True),
              finish_processing=lambda rig: setattr(rig.fake, "hold_video", False),
              story="Mastodon has no Stories"),
    VideoCase("bluesky", build_bluesky, crash_after=1, received=bluesky_received,
              fail_processing=bluesky_fail,
              slow_processing=lambda rig: setattr(rig.fake, "hold", True),
              finish_processing=lambda rig: setattr(rig.fake, "hold", False),
              story="Bluesky has no Stories"),
    VideoCase("webhook", build_webhook, received=webhook_received,
              story="a receiver decides how to show what it gets",
              not_applicable={"interrupted": "one request carries the whole video: nothing to "
                              "resume (a receiver drops a repeat by X-Postq-Delivery)",
                              "fail_processing": RECEIVER, "slow_processing": RECEIVER}),
]


# Instagram, Threads, Facebook Pages and LinkedIn (their builders need the names above).
from tests.contract_video_meta import META_CASES  # noqa: E402

CASES += META_CASES


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def video_post(make_video_post) -> OutgoingPost:
    post = make_video_post(delivery_id="d-video-1")
    assert post.video is not None
    return replace(post, video=replace(post.video, captions_vtt=CAPTIONS))


@pytest.fixture(params=CASES, ids=[c.name for c in CASES])
def case(request: pytest.FixtureRequest) -> VideoCase:
    return request.param


@dataclass
class Sleeps:
    """The adapter's ``sleep``: records the waits asked for and waits for none."""

    asked: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def rig(case: VideoCase, local_server, tmp_path: Path, sleeps: Sleeps) -> VideoRig:
    built = case.build(local_server, tmp_path, sleeps)
    yield built
    built.adapter.close()


def skip_if_not_applicable(case: VideoCase, scenario: str) -> None:
    if scenario in case.not_applicable:
        pytest.skip(case.not_applicable[scenario])


# -- scenarios --------------------------------------------------------------------------


def test_success(case: VideoCase, rig: VideoRig, video_post: OutgoingPost) -> None:
    assert rig.adapter.publishes_video
    published = rig.adapter.publish(video_post)
    assert isinstance(published, Published) and published.remote_id
    assert published.url and published.url.startswith(("https://", "http://", "file://"))
    assert rig.count() == 1
    if rig.uploads is not None:
        assert rig.uploads() == 1
    if case.received is not None:
        case.received(rig, video_post)


def test_upload_interrupted_by_a_crash_resumes_without_a_second_post(
        case: VideoCase, rig: VideoRig, video_post: OutgoingPost) -> None:
    skip_if_not_applicable(case, "interrupted")
    store = Store(crash_at=case.crash_after)
    store.attach(rig.adapter)
    with pytest.raises(Crash):
        rig.adapter.publish(video_post)
    assert rig.count() == 0, "nothing may be public before the upload is complete"
    began = rig.uploads() if rig.uploads is not None else None
    fresh = store.attach(rig.rebuild())
    try:
        published = fresh.publish(store.resumed(video_post))
    finally:
        fresh.close()
    assert published.remote_id
    assert rig.count() == 1
    if began is not None:
        assert rig.uploads is not None and rig.uploads() == began, \
            "the recorded upload was continued, not begun again"
    if case.received is not None:
        case.received(rig, video_post)


def test_processing_failure_is_permanent_with_the_platform_reason(
        case: VideoCase, rig: VideoRig, video_post: OutgoingPost) -> None:
    skip_if_not_applicable(case, "fail_processing")
    assert case.fail_processing is not None
    reason = case.fail_processing(rig)
    with pytest.raises(PermanentPublishError) as info:
        rig.adapter.publish(video_post)
    assert reason in str(info.value)
    if rig.secret:
        assert rig.secret not in str(info.value)
    assert rig.count() == 0


def test_slow_processing_does_not_hold_the_publisher(
        case: VideoCase, rig: VideoRig, video_post: OutgoingPost, sleeps: Sleeps) -> None:
    skip_if_not_applicable(case, "slow_processing")
    assert case.slow_processing is not None and case.finish_processing is not None
    store = Store()
    store.attach(rig.adapter)
    case.slow_processing(rig)
    with pytest.raises(StillProcessing) as info:
        rig.adapter.publish(video_post)
    assert isinstance(info.value, PublishError) and info.value.retry_after
    assert sum(sleeps.asked) <= VIDEO_WAIT_BUDGET
    assert rig.count() == 0
    case.finish_processing(rig)
    fresh = store.attach(rig.rebuild())
    try:
        published = fresh.publish(store.resumed(video_post))
    finally:
        fresh.close()
    assert published.remote_id and rig.count() == 1
    if rig.uploads is not None:
        assert rig.uploads() == 1, "the next attempt polled the same upload"


def test_story(case: VideoCase, local_server, tmp_path: Path, sleeps: Sleeps,
               video_post: OutgoingPost) -> None:
    if isinstance(case.story, str):
        pytest.skip(case.story)
    story = case.story(local_server, tmp_path, sleeps)
    try:
        published = story.adapter.publish(video_post)
    finally:
        story.adapter.close()
    assert published.remote_id and story.count() == 1
