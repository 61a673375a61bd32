"""``postq status``: is anything paused, how much is queued, is the publisher alive."""

from __future__ import annotations

import json

import click

from scheduler.cli._common import load_read_settings, run_guarded


@click.command()
@click.option("--next", "count", type=click.IntRange(min=0), default=5, show_default=True,
              metavar="N", help="How many next due deliveries to show.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"pauses": [...], "counts": {state: n}, "next_due": [...], '
                   '"publishers": [{"worker", "seen_at", "alive", "info"}]}.')
@click.pass_context
@run_guarded
def status(ctx: click.Context, count: int, as_json: bool) -> None:
    """Pause state, deliveries per state, the next due, and publisher heartbeats.

    A publisher is alive if its last heartbeat is less than 30 seconds old.
    """
    from scheduler.store.fastread import open_reader
    from scheduler.store.report import status_text
    from scheduler.timeutil import utc_iso

    settings = load_read_settings(ctx)  # the whole file is checked if the Store is needed
    store = open_reader(settings)
    pauses, counts = store.pauses(), store.counts()
    due, beats = store.next_due(count), store.heartbeats()
    now = store.clock.now()
    from scheduler.credentials.expiry import status_section

    creds, cred_lines, cred_warnings = status_section(settings)
    if as_json:
        click.echo(json.dumps({
            "pauses": [p.as_dict() for p in pauses],
            "counts": counts,
            "next_due": [d.as_dict() for d in due],
            "publishers": [{"worker": b.worker, "seen_at": utc_iso(b.seen_at),
                            "alive": b.alive(now), "info": b.info} for b in beats],
            "credentials": creds, "warnings": cred_warnings,
        }, indent=2))
        return
    click.echo(status_text(pauses, counts, due, beats, now, settings.zone))
    if cred_lines:
        click.echo("Credentials:")
        for line in cred_lines:
            click.echo(f"  {line}")
    for warning in cred_warnings:
        click.echo(f"warning: {warning}")
