"""``postq watch``: tell people through ``[notify]`` when nothing publishes what is due."""

from __future__ import annotations

import sys

import click

from scheduler.cli._common import load_settings, run_guarded
from scheduler.errors import ConfigError


@click.command()
@click.pass_context
@run_guarded
def watch(ctx: click.Context) -> None:
    """Send a notice when deliveries are overdue by more than late_grace.

    For a systemd timer or cron, independent of the publisher: a dead or stuck `postq run`
    is noticed by people. Each overdue delivery is told about once. Exits 0 when nothing
    is overdue, 2 when something is, 1 when the notice could not be sent.
    """
    from scheduler.ops.watch import watch as look
    from scheduler.publish.notify import Notifier
    from scheduler.publish.worker import Publisher
    from scheduler.store import Store

    settings = load_settings(ctx)
    store = Store.open(settings)
    publisher = Publisher(settings, store, worker="postq-watch")
    notifier = Notifier(publisher)
    if not settings.notify.channel:
        raise ConfigError("is not set, so `postq watch` has nobody to tell", settings.path,
                          "notify.channel")
    settings.channel(settings.notify.channel)  # an unknown channel is named now
    try:
        result = look(settings, store, notifier, store.clock.now())
    finally:
        publisher.close()
    if not result.overdue:
        click.echo("Nothing is overdue.")
        return
    click.echo(result.notice and f"Sent: {result.notice}"
               or f"{len(result.overdue)} overdue; people were already told.")
    sys.exit(2)
