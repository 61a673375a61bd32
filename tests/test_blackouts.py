"""Blackout periods: config and command, validation, queue add, --next-slot, the publisher."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scheduler.blackouts import Blackout
from scheduler.config import settings_from_dict
from scheduler.errors import UsageError
from scheduler.store import Store
from scheduler.store.planning import plan_due_times
from scheduler.timeutil import FixedClock, get_zone
from tests.project import Project
from tests.test_store_support import DB_PARAMS, make_db_url, snap

LONDON = get_zone("Europe/London")
# Monday 5 April 2027, 18:00 BST; the next slots are Tue 6 April 09:00, 12:30, 17:00.
NOW = datetime(2027, 4, 5, 17, 0, tzinfo=UTC)
TUE_9 = datetime(2027, 4, 6, 8, 0, tzinfo=UTC)
ELECTION = """
[[blackouts]]
name = "Pre-election period"
start = "2027-04-06 00:00"
end = "2027-04-07 12:00"
channels = ["outbox"]
allow_kinds = ["archive_exhibit"]
"""


def settings(extra: dict[str, object] | None = None) -> object:
    return settings_from_dict({
        "postq": {"timezone": "Europe/London"},
        "slots": {"mon-fri": ["09:00", "12:30", "17:00"], "min_gap": "2h"},
        "channels": {"outbox": {"adapter": "outbox"}, "x": {"adapter": "x"}},
        **(extra or {}),
    })


@pytest.fixture(params=DB_PARAMS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    clock = FixedClock(NOW)
    s = Store(make_db_url(request.param, tmp_path), tmp_path / "media", clock=clock,
              user="alice", zone=LONDON, claim_clock=clock)
    s.use_configured_blackouts(settings({"blackouts": [{
        "name": "Pre-election period", "start": "2027-04-06 00:00", "end": "2027-04-07 12:00",
        "channels": ["outbox"], "allow_kinds": ["archive_exhibit"]}]}))
    return s


def test_next_slot_skips_the_period_on_its_channels_only(store: Store) -> None:
    (plan,) = plan_due_times(settings(), store, [snap("io", ("outbox", "x"))], at=None,
                             next_slot=True, now=NOW)
    # outbox waits for the first slot after Wed 7 April 12:00 BST; x is not in the period.
    assert plan == {"outbox": datetime(2027, 4, 7, 11, 30, tzinfo=UTC), "x": TUE_9}
    (kept,) = plan_due_times(settings(), store, [snap("ex", ("outbox",),
                                                      kind="archive_exhibit")],
                             at=None, next_slot=True, now=NOW)
    assert kept == {"outbox": TUE_9}  # an allowed kind goes out inside it


def test_a_time_inside_is_refused_with_the_period_named(store: Store) -> None:
    with pytest.raises(UsageError) as err:
        plan_due_times(settings(), store, [snap("io", ("outbox", "x"))],
                       at="2027-04-06 09:00", next_slot=False, now=NOW)
    assert str(err.value) == (
        "'io' on outbox at 2027-04-06 09:00 BST falls in the blackout 'Pre-election period' "
        "(2027-04-06 00:00 to 2027-04-07 12:00 BST); nothing is published inside a "
        "blackout: give --at a time after it or use --next-slot")


def test_a_queued_delivery_inside_waits_then_goes_out(store: Store) -> None:
    due = datetime(2027, 4, 7, 10, 40, tzinfo=UTC)  # 20 minutes before the period ends
    store.add(snap("io", ("outbox", "x")), due_at=due, require_approval=False)
    claimed = store.claim_due(due, worker="w1")
    assert [c.channel for c in claimed] == ["x"]
    (row,) = [d for d in store.show("io").deliveries if d.channel == "outbox"]
    end = datetime(2027, 4, 7, 11, 0, tzinfo=UTC)
    assert (row.state, row.wake_at, row.last_error) == (
        "scheduled", end,
        "waiting: inside the blackout 'Pre-election period' until 2027-04-07 12:00 BST")
    (wait,) = [e for e in store.events("io") if e.action == "wait"]
    assert (wait.who, wait.state_before, wait.state_after) == ("w1", "scheduled", "scheduled")
    assert store.claim_due(end - timedelta(seconds=1), worker="w1") == []
    assert [c.channel for c in store.claim_due(end, worker="w1")] == ["outbox"]


def test_a_delivery_held_past_the_grace_is_missed_with_the_reason(store: Store) -> None:
    due = datetime(2027, 4, 6, 8, 0, tzinfo=UTC)
    store.add(snap("io", ("outbox",)), due_at=due, require_approval=False)
    assert store.claim_due(due, worker="w1") == []
    (row,) = store.show("io").deliveries
    assert (row.state, row.last_error) == (
        "missed", "inside the blackout 'Pre-election period' until 2027-04-07 12:00 BST, more "
        "than the grace of 30m after its time")
    assert [r.id for r in store.take_missed(worker="w1")] == [row.id]


def test_added_periods_are_stored_audited_and_removed(store: Store) -> None:
    start = datetime(2027, 4, 8, 9, 0, tzinfo=UTC)
    added = store.add_blackout(Blackout("National mourning", start, start + timedelta(days=2),
                                        reason="Death of a public figure"))
    assert (added.added_by, added.source) == ("alice", "postq blackout add")
    assert [b.name for b in store.blackouts()] == ["Pre-election period", "National mourning"]
    assert store.pauses() == []  # a period is no pause
    with pytest.raises(UsageError, match="a blackout named 'National mourning' already"):
        store.add_blackout(Blackout("National mourning", start, start + timedelta(days=1)))
    with pytest.raises(UsageError, match="'Pre-election period' is set in postq.toml"):
        store.remove_blackout("Pre-election period")
    store.remove_blackout("National mourning")
    with pytest.raises(UsageError, match=r"no blackout named 'National mourning' \(added by "
                                         r"command: none\)"):
        store.remove_blackout("National mourning")
    assert [(e.action, e.reason) for e in store.events() if e.action.startswith("blackout")] == [
        ("blackout-add", "'National mourning' 2027-04-08 10:00 to 2027-04-10 10:00 BST: "
                         "Death of a public figure"),
        ("blackout-remove", "'National mourning'")]


def test_an_added_period_holds_every_publisher(store: Store, tmp_path: Path) -> None:
    due = datetime(2027, 4, 9, 8, 0, tzinfo=UTC)
    store.add(snap("io", ("x",)), due_at=due, require_approval=False)
    other = Store(store.url, tmp_path / "media", clock=store.clock, user="bob", zone=LONDON,
                  claim_clock=store.claim_clock)
    store.add_blackout(Blackout("Mourning", due - timedelta(hours=1), due + timedelta(minutes=10)))
    assert other.claim_due(due, worker="w2") == []
    assert other.show("io").deliveries[0].wake_at == due + timedelta(minutes=10)


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def test_cli_validate_queue_add_list_calendar_and_status(project: Project) -> None:
    start = f"{later(4)} 00:00"
    project.write_config(f'[[blackouts]]\nname = "Pre-election period"\nstart = "{start}"\n'
                         f'end = "{later(6)} 00:00"\n')
    project.careers(**{"2026-12-01 09:00": f"{later(5)} 09:00", "2026-12-14": later(12)})
    result = project.run("validate")
    assert result.exit_code == 0
    assert (f"warning: posts/io.md:4: publish_at: {later(5)} 09:00 falls in the blackout "
            f"'Pre-election period' ({start} to {later(6)} 00:00") in result.stderr
    assert "on outbox; nothing is published inside it: change publish_at, or queue it with " \
           "--at or --next-slot" in result.stderr
    refused = project.run("queue", "add", "posts/io.md")
    assert refused.exit_code == 1
    assert "falls in the blackout 'Pre-election period'" in refused.stderr
    assert project.run("queue", "add", "posts/io.md", "--at", f"{later(7)} 09:00"
                       ).exit_code == 0
    added = project.run("blackout", "add", "Mourning", "--start", f"{later(8)} 00:00",
                        "--end", f"{later(9)} 00:00", "--channel", "outbox",
                        "--reason", "National mourning")
    assert added.exit_code == 0, added.output
    listed = json.loads(project.run("blackout", "list", "--json").stdout)
    assert [(b["name"], b["source"], b["channels"]) for b in listed] == [
        ("Pre-election period", "postq.toml", []),
        ("Mourning", "postq blackout add", ["outbox"])]
    calendar = project.run("calendar", "--weeks", "3").stdout
    assert "blackout 'Pre-election period'" in calendar
    status = project.run("status").stdout
    assert "Blackout periods:" in status and "'Mourning'" in status
    assert project.run("blackout", "remove", "Mourning").exit_code == 0
    assert "'Mourning'" not in project.run("blackout", "list").stdout
    bad = project.run("blackout", "add", "X", "--start", "2027-01-02 00:00", "--end",
                      "2027-01-01 00:00")
    assert (bad.exit_code, bad.stderr) == (1, "error: 'X' ends (2027-01-01 00:00 GMT) before "
                                              "it starts (2027-01-02 00:00 GMT)\n")


def test_rescheduling_into_a_period_is_refused(store: Store) -> None:
    store.add(snap("io", ("outbox",)), due_at=datetime(2027, 4, 8, 8, 0, tzinfo=UTC),
              require_approval=False)
    with pytest.raises(UsageError) as err:
        store.reschedule("io", datetime(2027, 4, 6, 8, 0, tzinfo=UTC))
    assert str(err.value) == (
        "cannot move 'io' to 2027-04-06 09:00 BST: it falls in the blackout 'Pre-election "
        "period' (2027-04-06 00:00 to 2027-04-07 12:00 BST) on outbox")


def test_a_period_naming_a_channel_that_is_not_configured_is_refused() -> None:
    """A misspelt channel would leave the real one publishing through the period: the
    configuration is refused with one sentence naming the period and the channel."""
    from scheduler.errors import ConfigError

    period = {"name": "Mourning", "start": "2027-04-06 00:00", "end": "2027-04-07 12:00"}
    with pytest.raises(ConfigError) as exc:
        settings({"blackouts": [{**period, "channels": ["outbx"]}]})
    assert str(exc.value) == ("blackouts[1].channels: 'outbx' in the blackout 'Mourning' "
                              "is not a configured channel (did you mean 'outbox'?)")
    with pytest.raises(ConfigError) as exc:
        settings({"blackouts": [{**period, "allow_kinds": ["archive"]}]})
    assert "blackouts[1].allow_kinds: 'archive' in the blackout 'Mourning' is not a post " \
           "kind" in str(exc.value)


def test_resume_does_not_lift_a_blackout(store: Store) -> None:
    """A period is lifted by 'blackout remove' alone (audited as such): resume, whose
    channel name is not checked against the configuration, must not take it away."""
    store.add_blackout(Blackout("Mourning", NOW, NOW + timedelta(days=2)))
    with pytest.raises(UsageError, match="'Mourning' is a blackout period; lift it with "
                                         "'postq blackout remove Mourning'"):
        store.resume("blackout:Mourning")
    assert [b.name for b in store.stored_blackouts()] == ["Mourning"]
