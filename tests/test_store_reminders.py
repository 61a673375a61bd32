"""Reminders in the store, on SQLite and every database in POSTQ_TEST_DATABASE_URLS."""
# ruff: noqa: F811 - the store fixtures are imported by name from tests/test_store.py

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.exc import IntegrityError

from scheduler.content.snapshot import ReminderSnapshot
from scheduler.store import Store
from scheduler.store.schema import SCHEMA_VERSION, T, build_metadata, create_schema
from scheduler.timeutil import FixedClock
from tests.test_store import DUE, LONDON, NOW, alice, bob, clock, db_url, media_dir  # noqa: F401
from tests.test_store_support import image, snap

EVENT = DUE + timedelta(days=2)


def qa_snap() -> object:
    base = snap("qa", ("outbox", "x"), kind="qa_announcement", publish_before=EVENT,
                reason="the event starts")
    reminders = tuple(
        ReminderSnapshot(offset, EVENT + delta,
                         replace(ch, caption=f"Starting in {offset[1:]}: the Q&A"))
        for ch in base.channels
        for offset, delta in (("-1d", timedelta(days=-1)), ("-1h", timedelta(hours=-1)))
    )
    return replace(base, event_at=EVENT, reminders=reminders)


def test_a_reminder_is_claimed_and_published_like_any_delivery(
        alice: Store, bob: Store, clock: FixedClock) -> None:
    s = qa_snap()
    rows = alice.add(s, due_at=DUE)
    assert [r.ref for r in rows] == ["qa@outbox", "qa@x", "qa@outbox~-1d", "qa@x~-1d",
                                     "qa@outbox~-1h", "qa@x~-1h"]
    assert s.content_hash() != replace(s, reminders=()).content_hash()
    bob.approve("qa")
    clock.advance(EVENT - timedelta(hours=1) - NOW)
    claimed = bob.claim_due(clock.now(), worker="w1")
    assert [(c.ref, c.caption) for c in claimed] == [
        ("qa@outbox~-1h", "Starting in 1h: the Q&A"), ("qa@x~-1h", "Starting in 1h: the Q&A")]
    assert [m.sha256 for m in claimed[0].media] == [image().sha256]
    bob.mark_published(claimed[0].id, "r1", "https://example/1")
    assert bob.get_delivery("qa@outbox~-1h#r1").state == "published"


def test_reminders_left_out_when_past_or_before_the_post(
        alice: Store) -> None:
    s = qa_snap()
    rows = alice.add(s, due_at=EVENT - timedelta(hours=12))
    assert [r.ref for r in rows] == ["qa@outbox", "qa@x", "qa@outbox~-1h", "qa@x~-1h"]


def test_v2_database_upgrades_keeping_media_and_allowing_reminders(
        db_url: str, media_dir: Path, clock: FixedClock) -> None:
    engine = create_engine(db_url)
    with engine.begin() as conn:
        create_schema(conn, version=2)
        v2 = build_metadata(2).tables
        conn.execute(v2["posts"].insert().values(
            id=1, post_id="old", revision=1, current=True, kind="careers_promo",
            language="en", source_path="posts/old.md", source_text="text",
            content_hash="h" * 64, details="{}", approval_required=False, queued_by="carol",
            queued_at=NOW))
        conn.execute(v2["deliveries"].insert().values(
            id="old@outbox#r1", post_row=1, post_id="old", channel="outbox",
            adapter="outbox", revision=1, caption="Hello", state="scheduled", due_at=DUE,
            wake_at=DUE, attempts=0, updated_at=NOW))
        conn.execute(v2["media"].insert().values(sha256="a" * 64, mime="image/png", size=1,
                                                  file_name="aa/a.png"))
        conn.execute(v2["delivery_media"].insert().values(
            delivery_id="old@outbox#r1", position=0, sha256="a" * 64, alt="Alt", width=1,
            height=1, source="x.png"))
    engine.dispose()

    store = Store(db_url, media_dir, clock=clock, user="erin", zone=LONDON)
    with store.engine.connect() as conn:
        assert conn.execute(select(T["meta"].c.value)).scalar() == str(SCHEMA_VERSION)
    (row,) = store.list_deliveries()
    assert (row.ref, row.reminder) == ("old@outbox", "")
    assert [m.alt for m in store.get_delivery(row.id).media] == ["Alt"]
    uniques = {i["name"] for i in inspect(store.engine).get_indexes("deliveries")
               if i.get("unique")}
    assert "uq_deliveries_slot" in uniques
    # The same channel twice is still refused; the same channel as a reminder is not.
    d = T["deliveries"]
    base = dict(post_row=1, post_id="old", channel="outbox", adapter="outbox", revision=1,
                caption="x", state="scheduled", due_at=DUE, wake_at=DUE, attempts=0,
                updated_at=NOW)
    with store.engine.begin() as conn:
        conn.execute(d.insert().values(id="old@outbox~-1h#r1", reminder="-1h", **base))
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(d.insert().values(id="old@outbox#r1-again", **base))
