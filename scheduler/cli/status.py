"""``postq status``: is anything paused, how much is queued, is the publisher alive."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

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
              help='Print {"pauses": [...], "blackouts": [...], "counts": {state: n}, '
                   '"next_due": [...], '
                   '"publishers": [{"worker", "seen_at", "alive", "stopped", "info"}], '
                   '"approvals": "signed"|"login_name", "trail": {"verifies", "events", '
                   '"signatures", "problem"}}; with --check: {"status", "exit_code", '
                   '"problems": [{"level", "code", "message", "count"}]}.')
@click.option("--check", is_flag=True,
              help="For monitors: print one line per problem and exit 0 (all well), 1 "
                   "(a warning) or 2 (deliveries due and no publisher alive).")
@click.pass_context
@run_guarded
def status(ctx: click.Context, count: int, as_json: bool, check: bool) -> None:
    """Pause state, deliveries per state, the next due, and publisher heartbeats.

    A publisher is alive if its last heartbeat is less than 30 seconds old; one that
    stopped cleanly is shown with when and why, and the last `run --once` with its result.
    """
    from scheduler.store.fastread import open_reader
    from scheduler.store.report import status_text
    from scheduler.team.trail import trail_line
    from scheduler.timeutil import utc_iso

    settings = load_read_settings(ctx)  # the whole file is checked if the Store is needed
    store = open_reader(settings)
    if check:
        _check(store, store.clock.now(), settings, as_json)
    pauses, counts = store.pauses(), store.counts()
    due, beats = store.next_due(count), store.heartbeats()
    now = store.clock.now()
    from scheduler.blackouts import configured

    periods = sorted([b for b in [*configured(settings), *store.stored_blackouts()]
                      if b.end > now], key=lambda b: (b.start, b.name))
    from scheduler.credentials.expiry import status_section

    creds, cred_lines, cred_warnings = status_section(settings)
    approvals, trail = _team_lines(settings, store)
    if as_json:
        click.echo(json.dumps({
            "pauses": [p.as_dict() for p in pauses],
            "blackouts": [b.as_dict() for b in periods],
            "counts": counts,
            "next_due": [d.as_dict() for d in due],
            "publishers": [{"worker": b.worker, "seen_at": utc_iso(b.seen_at),
                            "alive": b.alive(now), "stopped": b.stopped, "info": b.info}
                           for b in beats],
            "credentials": creds, "warnings": cred_warnings,
            "approvals": "signed" if settings.allowed_signers else "login_name",
            "trail": {"verifies": trail.ok, "events": trail.events,
                      "signatures": trail.signatures, "problem": trail.problem},
        }, indent=2))
        return
    # Notes and pause reasons are outside text: show() writes their controls as escapes.
    from scheduler.textsafety import show

    click.echo(show(status_text(pauses, counts, due, beats, now, settings.zone)))
    if periods:
        click.echo("\nBlackout periods:")
        for b in periods:
            click.echo(f"  {'NOW ' if b.start <= now else ''}{b.describe(settings.zone)}")
    click.echo(f"\nApprovals: {approvals}")
    line = trail_line(trail, bool(settings.allowed_signers), RECENT, NEWEST)
    click.echo(f"Audit trail: {line}")
    if cred_lines:
        click.echo("Credentials:")
        for line in cred_lines:
            click.echo(f"  {line}")
    for warning in cred_warnings:
        click.echo(f"warning: {warning}")


def _check(store: Any, now: datetime, settings: Any, as_json: bool) -> NoReturn:
    from scheduler.ops.health import (
        WARNING,
        Problem,
        credential_problems,
        exit_code,
        find_problems,
    )

    full = settings.full() if hasattr(settings, "full") else settings  # the channels too
    problems = find_problems(store, now, settings.zone)
    problems += credential_problems(full, now.astimezone(settings.zone).date())
    _, trail = _team_lines(settings, store)
    if not trail.ok:
        problems.append(Problem(WARNING, "trail_broken", f"the audit trail does not verify: "
                                f"{trail.problem}; see `postq log --verify`"))
    code = exit_code(problems)
    if as_json:
        click.echo(json.dumps({"status": ("ok", "warning", "critical")[code], "exit_code": code,
                               "problems": [p.as_dict() for p in problems]}, indent=2))
    else:
        for p in problems:
            click.echo(p.line)
        if not problems:
            click.echo("OK: publishing is on track")
    sys.exit(code)


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
