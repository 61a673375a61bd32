"""The video contract's cases for Instagram, Threads, Facebook Pages and LinkedIn, each
against its stand-in (:mod:`tests.fakes`), which follows the platform's documented video
flow and processing states. Joined to :data:`tests.test_adapter_contract_video.CASES`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scheduler.adapters.base import Adapter
from scheduler.adapters.facebook import FacebookAdapter
from scheduler.adapters.instagram import InstagramAdapter
from scheduler.adapters.linkedin import LinkedInAdapter
from scheduler.adapters.outgoing import OutgoingPost
from scheduler.adapters.threads import ThreadsAdapter
from tests.fakes import FakeFacebookPage, FakeGraphContainers, FakeLinkedIn
from tests.test_adapter_contract_video import (
    CAPTIONS,
    TEST_CHUNK,
    TOKEN,
    VideoCase,
    VideoRig,
    adapter_kwargs,
)

Sleep = Callable[[float], None]


def _media_host(tmp: Path, fake: Any) -> dict[str, str]:
    return {"kind": "directory", "path": str(tmp / "www"), "public_base_url": fake.media_url}


def _containers(flavour: str, story: bool = False,
                resumable: bool = False) -> Callable[[Any, Path, Sleep], VideoRig]:
    cls = InstagramAdapter if flavour == "instagram" else ThreadsAdapter

    def build(server: Any, tmp: Path, sleep: Sleep) -> VideoRig:
        fake = FakeGraphContainers(server, TOKEN, tmp / "www", flavour=flavour)
        raw = {"adapter": flavour, "base_url": server.base_url, "user_id": fake.user,
               "token_env": "POSTQ_TOKEN", "media_host": _media_host(tmp, fake)}
        if story:
            raw["format"] = "story"
        if resumable:
            raw["video_upload"] = "resumable"

        def make() -> Adapter:
            adapter = cls(flavour, cls.parse_settings(flavour, raw), sleep=sleep,
                          **adapter_kwargs(tmp))
            if resumable:
                adapter.upload_piece = TEST_CHUNK  # several pieces
            return adapter

        def count() -> int:
            return len(fake.stories) if story else len(fake.posts)

        return VideoRig(make(), make, count, uploads=lambda: len(fake.containers),
                        inspect=lambda: fake, fake=fake)

    return build


def instagram_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None and video.cover is not None
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "REELS" and box["form"]["caption"] == post.caption
    assert fake.video_fetches == [video.path.read_bytes()]
    assert fake.fetched == [video.cover.read_bytes()]


def threads_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None
    (box,) = fake.containers.values()
    assert box["form"]["media_type"] == "VIDEO" and box["form"]["alt_text"] == video.alt
    assert fake.video_fetches == [video.path.read_bytes()]


def _facebook(fmt: str = "reel") -> Callable[[Any, Path, Sleep], VideoRig]:
    story = fmt == "story"

    def build(server: Any, tmp: Path, sleep: Sleep) -> VideoRig:
        fake = FakeFacebookPage(server, TOKEN, media_dir=tmp / "www")
        raw = {"adapter": "facebook", "base_url": server.base_url, "page_id": fake.page,
               "token_env": "POSTQ_TOKEN", "format": fmt, "media_host": _media_host(tmp, fake)}

        def make() -> Adapter:
            adapter = FacebookAdapter("fb", FacebookAdapter.parse_settings("fb", raw),
                                      sleep=sleep, **adapter_kwargs(tmp))
            adapter.upload_piece = TEST_CHUNK
            return adapter

        def count() -> int:
            return len(fake.stories()) if story else len(fake.visible_videos())

        return VideoRig(make(), make, count, uploads=lambda: fake.video_uploads,
                        inspect=lambda: fake, fake=fake)

    return build


def page_video_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None
    (page_video,) = fake.visible_videos()
    assert page_video["kind"] == "video" and page_video["bytes"] == video.path.read_bytes()
    assert page_video["captions"][0] == "en_GB"


def facebook_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None
    (reel,) = fake.visible_videos()
    assert reel["kind"] == "reel" and reel["bytes"] == video.path.read_bytes()
    assert reel["description"] == post.caption
    assert reel["captions"][1].startswith("1\n00:00:00,200 --> 00:00:01,500\nWelcome")


def build_linkedin(server: Any, tmp: Path, sleep: Sleep) -> VideoRig:
    fake = FakeLinkedIn(server, TOKEN)
    fake.part_size = TEST_CHUNK
    raw = {"adapter": "linkedin", "base_url": server.base_url, "organization": "2414183",
           "token_env": "POSTQ_TOKEN"}

    def make() -> Adapter:
        return LinkedInAdapter("li", LinkedInAdapter.parse_settings("li", raw), sleep=sleep,
                               **adapter_kwargs(tmp))

    return VideoRig(make(), make, lambda: len(fake.posts), uploads=lambda: len(fake.videos),
                    inspect=lambda: fake, fake=fake)


def linkedin_received(rig: VideoRig, post: OutgoingPost) -> None:
    fake = rig.inspect()
    video = post.video
    assert video is not None and video.cover is not None
    (urn,) = fake.videos
    assert fake.video_bytes(urn) == video.path.read_bytes()
    assert len(fake.videos[urn]["parts"]) > 1
    assert fake.videos[urn]["captions"] == "1\n00:00:00,200 --> 00:00:01,500\n" \
                                           f"{CAPTIONS.splitlines()[-1]}\n"
    assert fake.videos[urn]["thumbnail"] == video.cover.read_bytes()
    assert fake.posts[0]["content"] == {"media": {"id": urn}}


def _fail(reason: str) -> Callable[[VideoRig], str]:
    def fail(rig: VideoRig) -> str:
        rig.fake.video_error = reason
        return reason

    return fail


def _hold(value: bool) -> Callable[[VideoRig], None]:
    return lambda rig: setattr(rig.fake, "hold_video", value)


META_CASES = [
    VideoCase("instagram", _containers("instagram"), crash_after=1, received=instagram_received,
              fail_processing=_fail("2207026: Unsupported video format."),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story=_containers("instagram", story=True)),
    VideoCase("threads", _containers("threads"), crash_after=1, received=threads_received,
              fail_processing=_fail("FAILED_PROCESSING_VIDEO"),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story="Threads has no Stories"),
    VideoCase("facebook", _facebook(), crash_after=2, received=facebook_received,
              fail_processing=_fail("The video's aspect ratio is not supported for Reels."),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story=_facebook("story")),
    VideoCase("facebook-page-video", _facebook("video"), received=page_video_received,
              fail_processing=_fail("The video file you tried to upload is not supported."),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story="a channel posts Page videos or Stories, by its format",
              not_applicable={"interrupted": "one request makes the video from the media "
                                             "host's copy: nothing to resume (a lost answer "
                                             "is settled by check)"}),
    VideoCase("instagram-resumable", _containers("instagram", resumable=True), crash_after=2,
              received=instagram_received,
              fail_processing=_fail("2207026: Unsupported video format."),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story=_containers("instagram", story=True, resumable=True)),
    VideoCase("linkedin", build_linkedin, crash_after=2, received=linkedin_received,
              fail_processing=_fail("VIDEO_TOO_SHORT"),
              slow_processing=_hold(True), finish_processing=_hold(False),
              story="LinkedIn has no Stories"),
]
