"""``postq pause`` and ``postq resume``: the emergency switch.

A pause is stored in the queue database, so it stops every publisher sharing it at once,
and it stays on until someone resumes, even across restarts.
"""

from __future__ import annotations

import sys

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.option("--channel", metavar="C", help="Pause only this channel (default: all).")
@click.option("--reason", required=True, metavar="TEXT", help="Why, shown by 'postq status'.")
@click.option("--retract-since", "since", metavar="DURATION",
              help="Also retract everything published in the last DURATION ('2h'), after "
                   "showing the list and asking.")
@click.option("--yes", is_flag=True, help="Do not ask before retracting.")
@click.pass_context
@run_guarded
def pause(ctx: click.Context, channel: str | None, reason: str, since: str | None,
          yes: bool) -> None:
    """Stop publishing on a channel or everywhere, until 'postq resume'.

    With --retract-since, the incident switch: pause everything and take down what went
    out in the last DURATION.
    """
    from scheduler.store import Store

    settings = load_settings(ctx)
    if channel:
        settings.channel(channel)  # an unknown channel is an error, with a hint
    store = Store.open(settings)
    rows = []
    if since is not None:
        from scheduler.errors import UsageError
        from scheduler.timeutil import format_duration, parse_duration

        try:
            window = parse_duration(since)
        except ValueError as exc:
            raise UsageError(f"--retract-since: {exc}") from None
        if window.total_seconds() <= 0:
            raise UsageError(f"--retract-since: '{since}' is not a length of time back; "
                             "write e.g. 2h")
        rows = [r for r in store.published_since(store.clock.now() - window)
                if channel is None or r.channel == channel]
        if not rows:
            click.echo(f"nothing was published in the last {format_duration(window)}")
        else:
            click.echo(f"published in the last {format_duration(window)}:")
            for r in rows:
                click.echo(f"  {r.ref}  {store.local(r.published_at)}  "
                           f"{r.remote_url or r.remote_id}")
            if not yes and not click.confirm(f"Pause and retract these {len(rows)}?"):
                click.echo("nothing changed")
                sys.exit(1)
    p = store.pause(channel, reason)
    where = f"channel {channel}" if channel else "every channel"
    click.echo(f"paused {where}: {p.reason}")
    if rows:
        from scheduler.publish.retract import describe, retract_now

        ids: list[str] = []
        for r in rows:
            ids += [x.id for x in store.request_retract(f"{r.post_id}@{r.channel}", reason,
                                                        cancel_open=False)]
        retract_now(settings, store, ids)
        done = store.retraction_rows(ids)
        for row in done:
            for line in describe(row, store.local):
                click.echo(line)
        if any(r.state == "retract_failed" for r in done):
            sys.exit(1)


@click.command()
@click.option("--channel", metavar="C", help="Lift the pause of this channel only.")
@click.pass_context
@run_guarded
def resume(ctx: click.Context, channel: str | None) -> None:
    """Lift a pause; without --channel, lift the pause on every channel."""
    from scheduler.store import Store

    store = Store.open(load_settings(ctx))
    store.resume(channel)
    click.echo(f"resumed {'channel ' + channel if channel else 'publishing'}")
    for p in store.pauses():
        click.echo(f"still paused: channel {p.channel} ({p.reason})")
