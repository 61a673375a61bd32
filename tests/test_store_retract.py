# ruff: noqa: F811 - the store fixtures are imported by name from tests/test_store.py
"""The retraction side of the store on every database (SQLite, and PostgreSQL when
``POSTQ_TEST_DATABASE_URLS`` names one): asking, claiming with a fencing token, settling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.errors import ClaimLost, UsageError
from scheduler.store import Store
from tests.test_store import CLOSES, DUE, alice, bob, clock, db_url, media_dir  # noqa: F401
from tests.test_store_support import snap


def _published(alice: Store, bob: Store, clock) -> str:
    alice.add(snap("io", ("outbox", "x"), publish_before=CLOSES), due_at=DUE)
    bob.approve("io")
    clock.advance(DUE - clock.now())
    claimed = alice.claim_due(DUE, worker="w1")
    for row in claimed:
        alice.mark_published(row.id, f"remote-{row.channel}", f"https://p/{row.channel}",
                             token=row.claim_token)
    return "io"


def test_retraction_is_claimed_once_and_fenced(alice: Store, bob: Store, clock) -> None:
    _published(alice, bob, clock)
    asked = bob.request_retract("io@x", "wrong date")
    assert [(r.ref, r.state, r.claimed_by) for r in asked] == [("io@x", "retracting", None)]
    assert asked[0].remote_state["retraction"]["reason"] == "wrong date"
    now = clock.now()
    first = alice.claim_retractions(now, worker="w1", stale_after=timedelta(seconds=30))
    again = bob.claim_retractions(now, worker="w2", stale_after=timedelta(seconds=30))
    assert [r.ref for r in first] == ["io@x"] and again == []
    # Silent for longer than stale_after: another process takes it over; the first
    # claimant can no longer record anything.
    later = now + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1))
    taken = bob.claim_retractions(later, worker="w2", stale_after=timedelta(seconds=30))
    assert [r.claim_token for r in taken] == [first[0].claim_token + 1]
    with pytest.raises(ClaimLost):
        alice.mark_retracted(first[0].id, "gone", who="w1", token=first[0].claim_token)
    done = bob.mark_retracted(taken[0].id, "confirmed gone", who="w2",
                              token=taken[0].claim_token)
    assert done.state == "retracted"
    states = {r.channel: r.state for r in alice.list_deliveries()}
    assert states == {"outbox": "published", "x": "retracted"}
    assert [e.action for e in alice.events("io") if "retract" in e.action] == [
        "retract", "claim_retract", "claim_retract", "retracted"]


def test_nothing_published_is_nothing_to_retract(alice: Store) -> None:
    alice.add(snap("io", ("outbox",), publish_before=CLOSES), due_at=DUE)
    with pytest.raises(UsageError) as caught:
        alice.request_retract("io", "wrong")
    assert str(caught.value) == (
        "nothing of 'io' is published, so nothing to retract (io@outbox awaiting_approval); "
        "`postq queue cancel io` stops what has not gone out")
    assert alice.list_deliveries()[0].state == "awaiting_approval"  # nothing changed
    with pytest.raises(UsageError) as caught:
        alice.request_retract("nope", "wrong")
    assert str(caught.value) == "no queued post has the id 'nope'"
