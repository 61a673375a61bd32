"""``postq status``: is anything paused, how much is queued, is the publisher alive."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from scheduler.cli._common import load_read_settings, run_guarded

if TYPE_CHECKING:
    from scheduler.store.chain import TrailCheck

#: What ``status`` checks, to answer at once on a long trail: the newest signatures and
#: the newest events' chain. ``postq log --verify`` checks everything.
RECENT = 20
NEWEST = 500


@click.command()
@click.option("--next", "count", type=click.IntRange(min=0), default=5, show_default=True,
              metavar="N", help="How many next due deliveries to show.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"pauses": [...], "counts": {state: n}, "next_due": [...], '
                   '"publishers": [{"worker", "seen_at", "alive", "info"}], '
                   '"approvals": "signed"|"login_name", "trail": {"verifies", "events", '
                   '"signatures", "problem"}}.')
@click.pass_context
@run_guarded
def status(ctx: click.Context, count: int, as_json: bool) -> None:
    """Pause state, deliveries per state, the next due, and publisher heartbeats.

    A publisher is alive if its last heartbeat is less than 30 seconds old.
    """
    from scheduler.store.fastread import open_reader
    from scheduler.store.report import status_text
    from scheduler.team.trail import trail_line
    from scheduler.timeutil import utc_iso

    settings = load_read_settings(ctx)  # the whole file is checked if the Store is needed
    store = open_reader(settings)
    pauses, counts = store.pauses(), store.counts()
    due, beats = store.next_due(count), store.heartbeats()
    now = store.clock.now()
    approvals, trail = _team_lines(settings, store)
    if as_json:
        click.echo(json.dumps({
            "pauses": [p.as_dict() for p in pauses],
            "counts": counts,
            "next_due": [d.as_dict() for d in due],
            "publishers": [{"worker": b.worker, "seen_at": utc_iso(b.seen_at),
                            "alive": b.alive(now), "info": b.info} for b in beats],
            "approvals": "signed" if settings.allowed_signers else "login_name",
            "trail": {"verifies": trail.ok, "events": trail.events,
                      "signatures": trail.signatures, "problem": trail.problem},
        }, indent=2))
        return
    click.echo(status_text(pauses, counts, due, beats, now, settings.zone))
    click.echo(f"\nApprovals: {approvals}")
    line = trail_line(trail, bool(settings.allowed_signers), RECENT, NEWEST)
    click.echo(f"Audit trail: {line}")


def _team_lines(settings: Any, store: Any) -> tuple[str, TrailCheck]:
    """How approvals are identified, and the audit trail's check (its newest part)."""
    from scheduler.team.trail import check_trail

    events = store.events(newest=NEWEST)
    whole = len(events) < NEWEST  # then the first event must link to the start
    if not settings.allowed_signers:
        return ("by login name only (no [team] in postq.toml): anyone who can set "
                "POSTQ_USER or write the queue database can approve",
                check_trail(events, None, from_start=whole))
    signers = settings.root / settings.allowed_signers
    return (f"signed with SSH keys listed in {signers}",
            check_trail(events, signers, recent=RECENT, from_start=whole))
