"""Details of settling unknown outcomes that the contract suite does not reach.

Mastodon: the status id is recorded when the answer names it; without it, the latest
statuses are compared as Mastodon renders them (HTML paragraphs: a run of blank lines is
one paragraph break) and only those created since the delivery's due time count; uploads
answered 202 are polled with ``GET /api/v1/media/:id``. Instagram and Threads: every
carousel child is FINISHED before the carousel is built, and a container that ends in
ERROR is reported with Meta's own ``error_message``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from scheduler.adapters.instagram import InstagramAdapter
from scheduler.adapters.mastodon import MastodonAdapter
from scheduler.adapters.threads import ThreadsAdapter
from scheduler.errors import OutcomeUnknown, PermanentPublishError, TransientPublishError
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeGraphContainers, FakeMastodon
from tests.fakes.mastodon import render_html
from tests.peers import jpeg_bytes

TOKEN = "tok-Details-Recognisable-0a9b8c"
CAPTION = "We're hiring.\n\n\n\nApply by Friday:\nhttps://www.example.gov.uk/careers/io"


def mastodon(server, clock: FixedClock) -> MastodonAdapter:
    raw = {"adapter": "mastodon", "base_url": server.base_url, "token_env": "M_TOKEN"}
    return MastodonAdapter("masto", MastodonAdapter.parse_settings("masto", raw),
                           env={"M_TOKEN": TOKEN}, clock=clock, sleep=lambda s: None)


def test_mastodon_renders_blank_line_runs_as_one_paragraph():
    assert render_html("a\n\n\n\nb\nc") == "<p>a</p><p>b<br />c</p>"


def test_mastodon_check_matches_the_rendered_html(local_server, make_post, make_image):
    fake = FakeMastodon(local_server, TOKEN)
    clock = FixedClock(NOW)
    post = make_post(CAPTION, (make_image(),), delivery_id="d-m-1")
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        mastodon(local_server, clock).publish(post)
    assert fake.statuses[0]["content"].startswith(
        '<p>We&#39;re hiring.</p><p>Apply by Friday:<br /><a href="https://www.example.gov.uk/'
        'careers/io" rel="nofollow noopener" translate="no" target="_blank"><span class='
        '"invisible">https://www.</span>')
    found = mastodon(local_server, clock).check(post)  # a new process knows no id
    assert found is not None and found.remote_id == fake.statuses[0]["id"]
    # The upload was answered 202 and polled until processed.
    assert any(r.path.startswith("/api/v1/media/") for r in local_server.requests)


def test_mastodon_check_ignores_an_identical_status_from_before_the_due_time(
        local_server, make_post):
    fake = FakeMastodon(local_server, TOKEN)
    clock = FixedClock(NOW + timedelta(days=7))
    mastodon(local_server, FixedClock(NOW)).publish(make_post(CAPTION, delivery_id="d-old"))
    next_week = replace(make_post(CAPTION, delivery_id="d-new"), due_at=NOW + timedelta(days=7))
    assert mastodon(local_server, clock).check(next_week) is None
    assert len(fake.statuses) == 1


def test_mastodon_records_the_status_id_and_checks_by_it(local_server, make_post):
    fake = FakeMastodon(local_server, TOKEN)
    adapter = mastodon(local_server, FixedClock(NOW))
    kept: dict[str, dict] = {}
    adapter.save_progress = lambda did, state, token=None: kept.__setitem__(did, state)
    post = make_post(CAPTION, delivery_id="d-m-2")
    published = adapter.publish(post)
    assert kept["d-m-2"]["remote_id"] == published.remote_id
    fake.listing_lag = 3600  # the timeline would not show it: the id answers alone
    fresh = mastodon(local_server, FixedClock(NOW))
    assert fresh.check(replace(post, remote_state=kept["d-m-2"])).remote_id == published.remote_id
    assert local_server.requests[-1].path == f"/api/v1/statuses/{published.remote_id}"


def containers(server, tmp: Path, flavour: str) -> tuple[FakeGraphContainers, object]:
    fake = FakeGraphContainers(server, TOKEN, tmp / "www", flavour=flavour)
    cls = InstagramAdapter if flavour == "instagram" else ThreadsAdapter
    raw = {"adapter": flavour, "base_url": server.base_url, "user_id": fake.user,
           "token_env": "G_TOKEN", "media_host": {"kind": "directory", "path": str(tmp / "www"),
                                                  "public_base_url": fake.media_url}}
    adapter = cls(flavour, cls.parse_settings(flavour, raw), env={"G_TOKEN": TOKEN},
                  clock=FixedClock(NOW), data_dir=tmp / "data", sleep=lambda s: None)
    return fake, adapter


@pytest.mark.parametrize("flavour", ["instagram", "threads"])
def test_every_carousel_child_is_finished_before_the_carousel(local_server, tmp_path, flavour,
                                                              make_post, make_image):
    fake, adapter = containers(local_server, tmp_path, flavour)
    fake.processing_polls = 2  # each child stays IN_PROGRESS for two polls
    images = (make_image(), make_image(data=jpeg_bytes(color=(9, 9, 9))))
    adapter.publish(make_post("Two photos", images))
    assert len(fake.posts) == 1
    children = [c for c in fake.containers.values() if c["form"].get("is_carousel_item")]
    assert len(children) == 2 and all(c["polls"] > 2 for c in children)


@pytest.mark.parametrize("flavour", ["instagram", "threads"])
def test_a_refused_container_quotes_meta(local_server, tmp_path, flavour, make_post, make_image):
    fake, adapter = containers(local_server, tmp_path, flavour)
    fake.container_error = "Media upload has failed with error code 2207052"
    with pytest.raises(PermanentPublishError, match="error code 2207052"):
        adapter.publish(make_post("Broken", (make_image(),)))
    assert not fake.posts


def test_a_5xx_to_a_call_that_publishes_is_an_unknown_outcome(local_server):
    """The HTTP layer's one rule: 500/502/503/504 to a non-idempotent call may come after
    the platform acted (RFC 9110 §15.6), so it is OutcomeUnknown; the same answer to a call
    that publishes nothing (an upload, a lookup) is merely transient."""
    from scheduler.adapters.http import HttpClient
    from scheduler.errors import TransientPublishError
    from tests.peers import Reply

    local_server.handler = lambda req: Reply(502, {"message": "upstream timed out"})
    client = HttpClient(platform="p 'c'", base_url=local_server.base_url)
    with pytest.raises(OutcomeUnknown) as info:
        client.request("POST", "/posts", json_body={"text": "hi"})
    assert str(info.value) == (
        f"p 'c': POST {local_server.base_url}/posts answered 502 (upstream timed out), which "
        "may come after the platform acted, so it may or may not have taken effect")
    with pytest.raises(TransientPublishError):
        client.request("POST", "/uploads", content=(b"x", "image/jpeg"), idempotent=True)
    with pytest.raises(TransientPublishError):
        client.request("GET", "/posts")


def test_a_store_that_cannot_record_progress_stops_before_the_publishing_call(
        local_server, make_post):
    fake = FakeMastodon(local_server, TOKEN)
    adapter = mastodon(local_server, FixedClock(NOW))

    def store_is_gone(delivery_id: str, state: dict, token: int | None = None) -> None:
        raise OSError("disk I/O error")

    adapter.save_progress = store_is_gone
    with pytest.raises(TransientPublishError) as info:
        adapter.publish(make_post(CAPTION, delivery_id="d-m-3"))
    assert str(info.value) == ("channel 'masto': could not record progress before the next "
                               "call: disk I/O error")
    assert fake.publish_calls == 0 and not fake.statuses
