"""The store contract, run against every database in ``db_url`` (SQLite, and PostgreSQL when
``POSTQ_TEST_DATABASE_URLS`` names one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, select

from scheduler.errors import StoreError, UsageError
from scheduler.store import STATES, Store
from scheduler.store.schema import SCHEMA_VERSION, T, build_metadata
from scheduler.timeutil import FixedClock, get_zone
from tests.test_store_support import DB_PARAMS, image, make_db_url, snap

LONDON = get_zone("Europe/London")
NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
CLOSES = datetime(2026, 12, 14, 0, 0, tzinfo=UTC)


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def media_dir(tmp_path: Path) -> Path:
    return tmp_path / "media"


@pytest.fixture
def alice(db_url: str, media_dir: Path, clock: FixedClock) -> Store:
    # The test's clock also stands in for the database's (claims, heartbeats).
    return Store(db_url, media_dir, clock=clock, user="alice", zone=LONDON, claim_clock=clock)


@pytest.fixture
def bob(db_url: str, media_dir: Path, clock: FixedClock, alice: Store) -> Store:
    return Store(db_url, media_dir, clock=clock, user="bob", zone=LONDON, claim_clock=clock)


def media_files(media_dir: Path) -> list[Path]:
    return sorted(p for p in media_dir.rglob("*") if p.is_file()) if media_dir.exists() else []


def queued_and_approved(alice: Store, bob: Store, post_id: str = "io",
                        channels: tuple[str, ...] = ("outbox",)) -> None:
    alice.add(snap(post_id, channels, publish_before=CLOSES), due_at=DUE)
    bob.approve(post_id)


# -- adding ---------------------------------------------------------------------------------
def test_add_snapshots_every_channel_awaiting_approval(alice: Store, media_dir: Path) -> None:
    rows = alice.add(snap(channels=("outbox", "bluesky")), due_at=DUE)
    assert [(r.channel, r.state, r.due_at) for r in rows] == [
        ("bluesky", "awaiting_approval", DUE), ("outbox", "awaiting_approval", DUE)]
    assert {r.id for r in rows} == {"io@outbox#r1", "io@bluesky#r1"}
    # one content-addressed file shared by both channels
    files = media_files(media_dir)
    assert len(files) == 1 and files[0].name == f"{image().sha256}.png"
    assert files[0].read_bytes() == image().data
    view = alice.show("io")
    assert view.deliveries[0].caption == "Join us. (bluesky)"
    assert view.content_hash == snap(channels=("outbox", "bluesky")).content_hash()
    assert [e.action for e in alice.events("io")] == ["queue", "queue"]
    assert alice.source_text("io").startswith("---\nid: io")


def test_per_channel_due_times_and_no_approval(alice: Store) -> None:
    later = DUE + timedelta(hours=3)
    rows = alice.add(snap(channels=("outbox", "x")), due_at={"outbox": DUE, "x": later},
                     require_approval=False)
    assert {(r.channel, r.state, r.due_at) for r in rows} == {
        ("outbox", "scheduled", DUE), ("x", "scheduled", later)}


def test_media_is_shared_between_posts(alice: Store, media_dir: Path) -> None:
    alice.add(snap("a"), due_at=DUE)
    alice.add(snap("b"), due_at=DUE)
    assert len(media_files(media_dir)) == 1


def test_add_is_all_or_nothing_when_a_media_write_fails(alice: Store, media_dir: Path) -> None:
    first, second = image("#111111"), image("#222222")
    # Something squats where the second render must go: writing it fails after the first
    # file has been written.
    squat = alice.media.path_for(second.sha256, ".png")
    squat.mkdir(parents=True)
    with pytest.raises(StoreError, match="cannot write the media file"):
        alice.add(snap(images=(first, second)), due_at=DUE)
    squat.rmdir()
    assert media_files(media_dir) == []
    assert alice.list_deliveries() == [] and alice.events() == []


def test_add_is_all_or_nothing_when_the_database_refuses(alice: Store, media_dir: Path) -> None:
    alice.add(snap("kept", images=(image("#000000"),)), due_at=DUE)
    before = media_files(media_dir)
    bad = snap("io", channels=("outbox", "outbox"), images=(image("#abcdef"),))
    with pytest.raises(StoreError):
        alice.add(bad, due_at=DUE)
    assert media_files(media_dir) == before
    assert [r.post_id for r in alice.list_deliveries()] == ["kept"]


def test_add_many_is_one_transaction(alice: Store, media_dir: Path) -> None:
    alice.add(snap("b", images=(image("#000001"),)), due_at=DUE)
    before = media_files(media_dir)
    with pytest.raises(UsageError, match="post 'b' is already queued"):
        alice.add_many([(snap("a", images=(image("#000002"),)), DUE),
                        (snap("b"), DUE)])
    assert media_files(media_dir) == before
    assert [r.post_id for r in alice.list_deliveries()] == ["b"]


def test_add_refuses_past_time_and_times_beyond_the_deadline(alice: Store) -> None:
    with pytest.raises(UsageError) as exc:
        alice.add(snap(), due_at=NOW - timedelta(minutes=1))
    assert str(exc.value) == ("cannot queue 'io' for 2026-11-02 09:59 GMT: that time is in "
                              "the past")
    with pytest.raises(UsageError) as exc:
        alice.add(snap(publish_before=CLOSES), due_at=CLOSES)
    assert str(exc.value) == ("cannot queue 'io' for 2026-12-14 00:00 GMT: it must be out "
                              "before 2026-12-14 00:00 GMT (closing date)")
    assert alice.list_deliveries() == []


def test_an_id_already_queued_needs_replace(alice: Store) -> None:
    alice.add(snap(), due_at=DUE)
    with pytest.raises(UsageError) as exc:
        alice.add(snap(), due_at=DUE)
    assert str(exc.value) == ("post 'io' is already queued; use --replace to queue this "
                              "version instead")


# -- approval -------------------------------------------------------------------------------
def test_the_author_cannot_approve(alice: Store, bob: Store) -> None:
    alice.add(snap(), due_at=DUE)
    with pytest.raises(UsageError) as exc:
        alice.approve("io")
    assert str(exc.value) == "you queued 'io' yourself; someone else must approve it"
    rows = bob.approve("io")
    assert [r.state for r in rows] == ["scheduled"]
    view = bob.show("io")
    assert (view.approved_by, view.approved_hash) == ("bob", view.content_hash)
    assert view.approved
    with pytest.raises(UsageError, match=r"already approved \(by bob\)"):
        bob.approve("io")


def test_unknown_ids_are_one_sentence(alice: Store) -> None:
    for call in (lambda: alice.approve("nope"), lambda: alice.cancel("nope@x"),
                 lambda: alice.show("nope"), lambda: alice.events("nope")):
        with pytest.raises(UsageError) as exc:
            call()
        assert str(exc.value) == "no queued post has the id 'nope'"
    alice.add(snap(), due_at=DUE)
    with pytest.raises(UsageError) as exc:
        alice.cancel("io@x")
    assert str(exc.value) == "post 'io' is not queued on channel 'x' (it is on outbox)"


def test_replace_voids_approval_and_keeps_history(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob)
    first = alice.show("io")
    rows = alice.add(snap(caption="Join us today."), due_at=DUE, replace=True)
    assert [(r.id, r.state) for r in rows] == [("io@outbox#r2", "awaiting_approval")]
    view = alice.show("io")
    assert view.revision == 2 and not view.approved and view.approved_by is None
    assert view.content_hash != first.content_hash
    assert alice.get_delivery("io@outbox#r1").state == "cancelled"
    assert [e.action for e in alice.events("io")] == [
        "queue", "approve", "replace", "queue"]
    # the list shows the current revision only; the old one is still in the database
    assert [r.id for r in alice.list_deliveries()] == ["io@outbox#r2"]
    assert alice.counts()["cancelled"] == 1


def test_reject_cancels_with_the_reason(alice: Store, bob: Store) -> None:
    alice.add(snap(), due_at=DUE)
    with pytest.raises(UsageError, match="needs a reason"):
        bob.reject("io", " ")
    assert [r.state for r in bob.reject("io", "wrong salary")] == ["cancelled"]
    assert alice.events("io")[-1].reason == "wrong salary"
    assert alice.events("io")[-1].who == "bob"


# -- changing -------------------------------------------------------------------------------
def test_cancel_a_published_delivery_is_refused(alice: Store, bob: Store,
                                                 clock: FixedClock) -> None:
    queued_and_approved(alice, bob)
    clock.at = DUE
    (claimed,) = bob.claim_due(DUE, worker="w1")
    bob.mark_published(claimed.id, "remote-1", "https://example.org/p/1")
    with pytest.raises(UsageError) as exc:
        alice.cancel("io@outbox")
    assert str(exc.value) == "io@outbox cannot be cancelled: it is already published"
    with pytest.raises(UsageError) as exc:
        alice.cancel("io")
    assert str(exc.value) == "post 'io' has nothing left to cancel (outbox published)"


def test_cancel_one_channel(alice: Store) -> None:
    alice.add(snap(channels=("outbox", "x")), due_at=DUE)
    assert [r.ref for r in alice.cancel("io@x")] == ["io@x"]
    assert {r.channel: r.state for r in alice.list_deliveries()} == {
        "outbox": "awaiting_approval", "x": "cancelled"}


def test_reschedule_rechecks_the_rules(alice: Store) -> None:
    alice.add(snap(publish_before=CLOSES), due_at=DUE)
    with pytest.raises(UsageError) as exc:
        alice.reschedule("io", CLOSES + timedelta(hours=9))
    assert str(exc.value) == ("cannot move 'io' to 2026-12-14 09:00 GMT: it must be out "
                              "before 2026-12-14 00:00 GMT (closing date)")
    with pytest.raises(UsageError) as exc:
        alice.reschedule("io@outbox", NOW - timedelta(days=1))
    assert str(exc.value) == ("cannot move 'io@outbox' to 2026-11-01 10:00 GMT: that time "
                              "is in the past")
    new = DUE + timedelta(days=2)
    assert [r.due_at for r in alice.reschedule("io", new)] == [new]
    assert alice.events("io")[-1].action == "reschedule"


def test_retry_failed_and_needs_check(alice: Store, bob: Store, clock: FixedClock) -> None:
    queued_and_approved(alice, bob, channels=("outbox", "x"))
    clock.at = DUE
    a, b = bob.claim_due(DUE, worker="w1")
    bob.mark_failed(a.id, "rejected by the platform")
    bob.mark_needs_check(b.id, "connection cut")
    with pytest.raises(UsageError) as exc:
        alice.retry(b.ref, confirm_needs_check=False)
    assert str(exc.value) == ("io@x needs a check: it may already be on x; look there "
                              "first, then retry with --yes")
    assert [r.state for r in alice.retry(a.ref, confirm_needs_check=False)] == ["scheduled"]
    assert [r.state for r in alice.retry(b.ref, confirm_needs_check=True)] == ["scheduled"]
    again = bob.claim_due(DUE, worker="w1")
    assert sorted(r.attempts for r in again) == [1, 1]
    with pytest.raises(UsageError, match="only failed or needs_check"):
        alice.retry("io@x", confirm_needs_check=True)


# -- publisher side -------------------------------------------------------------------------
def test_claim_due_rechecks_approval_pause_and_deadlines(alice: Store, bob: Store,
                                                         clock: FixedClock) -> None:
    alice.add(snap("waiting"), due_at=DUE)                      # never approved
    queued_and_approved(alice, bob, "paused", ("x",))
    queued_and_approved(alice, bob, "late")
    queued_and_approved(alice, bob, "closed")
    queued_and_approved(alice, bob, "ok")
    queued_and_approved(alice, bob, "future")
    bob.reschedule("late", DUE - timedelta(days=1))
    bob.reschedule("future", DUE + timedelta(days=1))
    bob.pause("x", "account under review")
    # the closing date of "closed" is moved before its due time by a later revision
    alice.add(snap("closed", publish_before=DUE + timedelta(minutes=5)),
              due_at=DUE - timedelta(minutes=10), replace=True)
    bob.approve("closed")
    now = DUE + timedelta(minutes=5)
    claimed = bob.claim_due(now, worker="w1")
    assert [(c.post_id, c.state, c.attempts, c.claimed_by) for c in claimed] == [
        ("ok", "publishing", 1, "w1")]
    state = {r.post_id: r.state for r in alice.list_deliveries()}
    assert state == {"waiting": "awaiting_approval", "paused": "scheduled", "late": "missed",
                     "closed": "missed", "ok": "publishing", "future": "scheduled"}
    reasons = {e.post_id: e.reason for e in alice.events() if e.action == "miss"}
    assert reasons["late"] == "found 1d5m late, more than the grace of 30m"
    assert reasons["closed"] == "not out before 2026-11-10 09:05 GMT (closing date)"
    bob.pause(None, "incident")
    bob.resume("x")
    assert bob.claim_due(now + timedelta(days=1), worker="w1") == []
    bob.resume(None)
    # a pause holds deliveries back; lifted too late, the grace still applies
    claimed = bob.claim_due(now + timedelta(days=1), worker="w1")
    assert [c.post_id for c in claimed] == ["future"]
    assert alice.list_deliveries(channel="x")[0].state == "missed"


def test_claim_is_exclusive(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob)
    assert len(bob.claim_due(DUE, worker="w1")) == 1
    assert alice.claim_due(DUE, worker="w2") == []


def test_outcomes_and_invalid_transitions(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob, channels=("outbox", "x", "bluesky"))
    a, b, c = bob.claim_due(DUE, worker="w1")
    retry_at = DUE + timedelta(minutes=2)
    r = bob.mark_retry(a.id, "503 from the platform", retry_at)
    assert (r.state, r.next_attempt_at, r.last_error) == (
        "retry_wait", retry_at, "503 from the platform")
    assert bob.claim_due(DUE + timedelta(minutes=1), worker="w1") == []
    (again,) = bob.claim_due(retry_at, worker="w1")
    assert (again.id, again.attempts) == (a.id, 2)
    p = bob.mark_published(again.id, "42", "https://example.org/42")
    assert (p.state, p.remote_url, p.published_at) == ("published", "https://example.org/42", NOW)
    with pytest.raises(UsageError) as exc:
        bob.mark_published(again.id, "43")
    assert str(exc.value) == (f"delivery {again.ref} is published; it cannot become "
                              "published from there")
    bob.mark_needs_check(b.id, "timeout mid-call")
    assert bob.mark_published(b.id, "44").state == "published"  # settled by check()
    assert bob.mark_missed(c.id, "gave up").state == "missed"
    trail = [(e.who, e.action, e.state_before, e.state_after) for e in alice.events()
             if e.delivery_id == a.id]
    assert trail[-4:] == [("w1", "claim", "scheduled", "publishing"),
                          ("w1", "retry_later", "publishing", "retry_wait"),
                          ("w1", "claim", "retry_wait", "publishing"),
                          ("w1", "publish", "publishing", "published")]


def test_outgoing_is_the_snapshot_and_checks_the_files(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob)
    (c,) = bob.claim_due(DUE, worker="w1")
    out = bob.outgoing(c)
    assert (out.delivery_id, out.post_id, out.channel, out.caption, out.attempt) == (
        "io@outbox#r1", "io", "outbox", "Join us. (outbox)", 1)
    assert out.content_hash == snap(publish_before=CLOSES).content_hash()
    (img,) = out.images
    assert img.read_bytes() == image().data and img.sha256 == image().sha256
    assert img.alt == "A desk with case notes." and img.focus == (0.5, 0.4)
    img.path.write_bytes(b"tampered")
    if bob.media.shared is None:
        with pytest.raises(StoreError, match="has changed since it was queued"):
            bob.outgoing(c.id)
        return
    # With media shared through the database (PostgreSQL's default) the local file is a
    # cache: the verified copy is fetched again, and a changed shared copy is refused.
    assert bob.outgoing(c.id).images[0].read_bytes() == image().data
    with bob.engine.begin() as conn:
        conn.execute(T["media_blobs"].update().values(data=b"tampered"))
    img.path.unlink()
    with pytest.raises(StoreError, match="in the queue database does not match its hash"):
        bob.outgoing(c.id)


def test_remote_state_stale_publishing_and_heartbeats(alice: Store, bob: Store,
                                                      clock: FixedClock) -> None:
    queued_and_approved(alice, bob)
    clock.at = DUE
    (c,) = bob.claim_due(DUE, worker="w1")
    bob.save_remote_state(c.id, {"container": "abc"})
    # The claim hands out what its transaction read; the saved progress is in the row,
    # for the delivery read again (the next attempt's claim reads it the same way).
    assert bob.outgoing(c).remote_state == {}
    assert bob.outgoing(c.id).remote_state == {"container": "abc"}
    assert [r.id for r in bob.stale_publishing()] == [c.id]
    assert bob.stale_publishing(DUE - timedelta(seconds=1)) == []
    assert [r.id for r in bob.stale_publishing(DUE + timedelta(minutes=5))] == [c.id]
    bob.heartbeat("w1", {"pid": 1})
    bob.heartbeat("w1", {"pid": 2})
    (hb,) = bob.heartbeats()
    assert (hb.worker, hb.info, hb.alive(DUE + timedelta(seconds=29)),
            hb.alive(DUE + timedelta(seconds=31))) == ("w1", {"pid": 2}, True, False)


def test_reading(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob, "a", ("outbox", "x"))
    alice.add(snap("b"), due_at=DUE + timedelta(hours=1))
    assert alice.counts() == {**dict.fromkeys(STATES, 0), "scheduled": 2,
                              "awaiting_approval": 1}
    assert [r.ref for r in alice.list_deliveries(channel="outbox")] == ["a@outbox", "b@outbox"]
    assert [r.ref for r in alice.list_deliveries(state="awaiting_approval")] == ["b@outbox"]
    assert len(alice.list_deliveries(limit=2)) == 2
    assert [r.ref for r in alice.next_due(2)] == ["a@outbox", "a@x"]
    assert alice.taken_times("x") == [DUE]
    with pytest.raises(UsageError, match="'done' is not a delivery state"):
        alice.list_deliveries(state="done")


def test_pauses(alice: Store, bob: Store) -> None:
    alice.pause("x", "account locked")
    bob.pause(None, "incident")
    assert [(p.channel, p.paused_by, p.reason) for p in alice.pauses()] == [
        (None, "bob", "incident"), ("x", "alice", "account locked")]
    alice.resume(None)
    with pytest.raises(UsageError) as exc:
        alice.resume("bluesky")
    assert str(exc.value) == "channel 'bluesky' is not paused"
    assert [(e.who, e.action, e.channel) for e in alice.events()] == [
        ("alice", "pause", "x"), ("bob", "pause", None), ("alice", "resume", None)]


# -- schema ---------------------------------------------------------------------------------
def test_a_database_made_by_schema_v1_upgrades_in_place(db_url: str, media_dir: Path,
                                                        clock: FixedClock) -> None:
    from scheduler.store.schema import create_schema

    engine = create_engine(db_url)
    with engine.begin() as conn:
        create_schema(conn, version=1)
        v1 = build_metadata(1).tables
        conn.execute(v1["posts"].insert().values(
            id=1, post_id="old", revision=1, current=True, kind="careers_promo",
            language="en", source_path="posts/old.md", source_text="text",
            content_hash="h" * 64, details="{}", approval_required=True, queued_by="carol",
            queued_at=NOW, approved_by="dave", approved_at=NOW, approved_hash="h" * 64))
        conn.execute(v1["deliveries"].insert().values(
            id="old@outbox#r1", post_row=1, post_id="old", channel="outbox",
            adapter="outbox", revision=1, caption="Hello", state="scheduled", due_at=DUE,
            wake_at=DUE, attempts=0, updated_at=NOW))
    assert "remote_state" not in {c["name"] for c in inspect(engine).get_columns("deliveries")}
    engine.dispose()

    store = Store(db_url, media_dir, clock=clock, user="erin")
    with store.engine.connect() as conn:
        assert conn.execute(select(T["meta"].c.value)).scalar() == str(SCHEMA_VERSION)
    assert "ix_events_post" in {i["name"] for i in inspect(store.engine).get_indexes("events")}
    # The claim's (wake_at, id) order is the index's own from schema 9 on.
    (claim_index,) = [i for i in inspect(store.engine).get_indexes("deliveries")
                      if i["name"] == "ix_deliveries_state_wake"]
    assert claim_index["column_names"] == ["state", "wake_at", "id"]
    (row,) = store.list_deliveries()
    assert (row.ref, row.state, row.caption, row.due_at) == ("old@outbox", "scheduled",
                                                             "Hello", DUE)
    store.save_remote_state(row.id, {"k": 1})
    assert store.get_delivery(row.id).remote_state == {"k": 1}
    # opening again is a no-op
    assert Store(db_url, media_dir, clock=clock).show("old").approved_by == "dave"


def test_a_newer_schema_is_refused(db_url: str, media_dir: Path, alice: Store) -> None:
    with alice.engine.begin() as conn:
        conn.execute(T["meta"].update().values(value="99"))
    with pytest.raises(StoreError) as exc:
        Store(db_url, media_dir)
    assert str(exc.value) == ("the queue database has schema version 99, newer than this "
                              f"postq understands ({SCHEMA_VERSION}); upgrade postq")


def test_what_the_publisher_needs_beyond_claiming(alice: Store, bob: Store) -> None:
    queued_and_approved(alice, bob, "a", ("outbox", "x"))
    queued_and_approved(alice, bob, "late")
    bob.reschedule("late", DUE - timedelta(hours=2))
    # a dry run sees what would go out, and changes nothing
    preview = bob.due_preview(DUE)
    assert [r.ref for r in preview] == ["a@outbox", "a@x"] and preview[0].media
    assert alice.counts()["scheduled"] == 3
    # channels the worker is still busy with are left for the next pass
    (c,) = bob.claim_due(DUE, worker="w1", exclude_channels={"x"})
    assert c.ref == "a@outbox"
    assert [(r.ref, r.last_error) for r in bob.take_missed(worker="w1")] == [
        ("late@outbox", "found 2h late, more than the grace of 30m")]
    assert bob.take_missed(worker="w1") == []
    # a worker's own in-flight deliveries are not stale to itself
    assert bob.stale_publishing(DUE + timedelta(hours=1), exclude_worker="w1") == []
    assert [r.ref for r in bob.stale_publishing(DUE + timedelta(hours=1),
                                                exclude_worker="w2")] == ["a@outbox"]
    # settling unknown outcomes after asking the platform
    bob.mark_needs_check(c.id, "publisher w1 stopped mid-call")
    again = bob.settle_not_published(c.id, DUE + timedelta(minutes=1))
    assert (again.state, again.wake_at, again.claimed_by) == (
        "scheduled", DUE + timedelta(minutes=1), None)
    (x, c2) = bob.claim_due(DUE + timedelta(minutes=1), worker="w1")
    assert (c2.id, c2.attempts) == (c.id, 2)
    bob.mark_needs_check(c2.id, "timeout")
    done = bob.settle_published(c2.id, "r9", "https://example.org/r9")
    assert (done.state, done.remote_url) == ("published", "https://example.org/r9")
    with pytest.raises(UsageError, match="cannot become published from there"):
        bob.settle_published(x.id, "r10")
    checks = [e for e in alice.events("a") if e.action == "check"]
    assert [(e.state_before, e.state_after) for e in checks] == [
        ("needs_check", "scheduled"), ("needs_check", "published")]
