"""The contract, continued: what may already be on the platform is asked about, never resent.

Every adapter against its stand-in (:mod:`tests.fakes`), over real HTTP:

* a gateway 5xx returned *after* the platform created the post ends published, with
  exactly one post — also while the platform's listing still lags behind;
* a duplicate refusal of the same delivery sent again is settled by asking;
* a crash between two steps resumes from the ids recorded in ``remote_state`` without a
  second upload or container.

Where a scenario cannot apply to an adapter, the test is skipped with the reason.
"""

# ruff: noqa: F811 - the contract fixtures are imported by name and used as parameters

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from scheduler.adapters.base import Published
from scheduler.errors import OutcomeUnknown
from tests.test_adapter_contract import (  # noqa: F401 - fixtures
    Case,
    Rig,
    assert_no_secret,
    case,
    post,
    rig,
)

LOCAL = "writes to a local folder: there is no answer to lose"
WEBHOOK = "a webhook receiver cannot be asked; its outcome waits for a person"
NO_DUPLICATE_CHECK = {
    "instagram": "Meta's container API has no duplicate refusal; the recorded container "
                 "id settles a repeat instead",
    "threads": "Meta's container API has no duplicate refusal; the recorded container "
               "id settles a repeat instead",
    "mastodon": "Mastodon refuses no duplicate; the Idempotency-Key answers a repeat with "
                "the first status",
    "webhook": WEBHOOK,
    "outbox": LOCAL,
}
NO_STEPS = {"webhook": "one call, nothing recorded in between",
            "outbox": "one local write, nothing recorded in between"}
#: Seconds a new post takes to show in the stand-ins' listings in these scenarios.
LAG = 0.3


class Crash(BaseException):  # noqa: N818 - stands for the process dying
    """The process dies right after the store recorded a step."""


def ask_until_settled(rig: Rig, post: Any) -> Published | None:
    """What the publisher does after OutcomeUnknown: ask now, and again later while the
    platform cannot tell yet (its listing lags)."""
    for _ in range(5):
        try:
            return rig.adapter.check(post)
        except OutcomeUnknown:
            time.sleep(LAG)
            rig.clock.advance(timedelta(seconds=30))
    raise AssertionError("never settled")


def test_5xx_after_creation_ends_published_with_one_post(case: Case, rig: Rig, post):
    if case.name == "outbox":
        pytest.skip(LOCAL)
    rig.fake.listing_lag = LAG
    rig.fake.fail_next("gateway")
    if case.settles_inline:
        # A deterministic record key: the adapter reads the record back itself.
        published = rig.adapter.publish(post)
        assert rig.count() == 1
        assert rig.adapter.check(post).remote_id == published.remote_id
        return
    with pytest.raises(OutcomeUnknown, match="answered 503") as info:
        rig.adapter.publish(post)
    assert_no_secret(rig, info.value)
    assert rig.count() == 1, "the platform did create the post"
    if case.no_check:
        assert rig.adapter.check(post) is None
        pytest.skip(case.no_check)
    # Right away the listing does not show it yet: that proves nothing.
    with pytest.raises(OutcomeUnknown):
        rig.adapter.check(post)
    found = ask_until_settled(rig, post)
    assert isinstance(found, Published) and found.remote_id
    # Another attempt (a retry, or the next run) asks first and sends nothing.
    assert rig.adapter.publish(post).remote_id == found.remote_id
    # So does a new process reading what the store kept.
    fresh = rig.rebuild()
    try:
        kept = replace(post, remote_state=rig.adapter.progress(post))
        assert fresh.check(kept).remote_id == found.remote_id
    finally:
        fresh.close()
    assert rig.count() == 1


def test_duplicate_refusal_is_settled_by_asking(case: Case, rig: Rig, post):
    if case.name in NO_DUPLICATE_CHECK:
        pytest.skip(NO_DUPLICATE_CHECK[case.name])
    published = rig.adapter.publish(post)
    fresh = rig.rebuild()  # a publisher that never heard the first answer
    try:
        again = fresh.publish(post)
    finally:
        fresh.close()
    assert again.remote_id == published.remote_id
    assert rig.count() == 1


def test_crash_between_steps_resumes_from_recorded_ids(case: Case, rig: Rig, post, make_image,
                                                       make_post):
    if case.name in NO_STEPS:
        pytest.skip(NO_STEPS[case.name])
    from tests.peers import jpeg_bytes

    two = make_post(post.caption, (post.images[0], make_image(data=jpeg_bytes(color=(9, 9, 9)),
                                                              alt="A second photo.")),
                    delivery_id="d-crash-1")
    store: dict[str, dict[str, Any]] = {}

    def save_then_die(delivery_id: str, state: dict[str, Any], token: int | None = None) -> None:
        store[delivery_id] = state
        if state.get("uploads") or state.get("children") or state.get("container_id"):
            raise Crash

    rig.adapter.save_progress = save_then_die
    with pytest.raises(Crash):
        rig.adapter.publish(two)
    assert rig.count() == 0
    done = rig.steps()
    assert done >= 1 and store["d-crash-1"]
    # The next run: a new process, the delivery as the store has it.
    fresh = rig.rebuild()
    fresh.save_progress = lambda did, state, token=None: store.__setitem__(did, state)
    try:
        published = fresh.publish(replace(two, remote_state=store["d-crash-1"]))
    finally:
        fresh.close()
    assert published.remote_id
    assert rig.count() == 1
    # Only the missing steps were done: one more image (and, for a carousel, the parent).
    expected_more = 2 if case.name in ("instagram", "threads") else 1
    assert rig.steps() == done + expected_more


def test_check_asks_by_the_recorded_id_whatever_the_listing_shows(case: Case, rig: Rig, post):
    if case.name == "webhook":
        pytest.skip(WEBHOOK)
    if case.name == "outbox":
        pytest.skip("the folder is the record; there is no listing to lag")
    kept: dict[str, dict[str, Any]] = {}
    rig.adapter.save_progress = lambda did, state, token=None: kept.__setitem__(did, state)
    published = rig.adapter.publish(post)
    assert kept[post.delivery_id]["remote_id"] == published.remote_id
    rig.fake.listing_lag = 3600  # the listing will not show it for an hour
    fresh = rig.rebuild()
    try:
        found = fresh.check(replace(post, remote_state=kept[post.delivery_id]))
    finally:
        fresh.close()
    assert found is not None and found.remote_id == published.remote_id
