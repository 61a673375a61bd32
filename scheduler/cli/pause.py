"""``postq pause`` and ``postq resume``: the emergency switch.

A pause is stored in the queue database, so it stops every publisher sharing it at once,
and it stays on until someone resumes, even across restarts.
"""

from __future__ import annotations

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.option("--channel", metavar="C", help="Pause only this channel (default: all).")
@click.option("--reason", required=True, metavar="TEXT", help="Why, shown by 'postq status'.")
@click.pass_context
@run_guarded
def pause(ctx: click.Context, channel: str | None, reason: str) -> None:
    """Stop publishing on a channel or everywhere, until 'postq resume'."""
    from scheduler.store import Store

    settings = load_settings(ctx)
    if channel:
        settings.channel(channel)  # an unknown channel is an error, with a hint
    p = Store.open(settings).pause(channel, reason)
    where = f"channel {channel}" if channel else "every channel"
    click.echo(f"paused {where}: {p.reason}")


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
