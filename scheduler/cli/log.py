"""``postq log``: the audit trail, every state change with who, when and why."""

from __future__ import annotations

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.argument("post_id", metavar="[ID]", required=False)
@click.option("--csv", "as_csv", is_flag=True,
              help="Print CSV: id, at (UTC, ISO-8601), who, action, post_id, delivery_id, "
                   "channel, state_before, state_after, reason.")
@click.pass_context
@run_guarded
def log(ctx: click.Context, post_id: str | None, as_csv: bool) -> None:
    """Show the audit trail of one post, or of everything, oldest first."""
    from scheduler.store import Store
    from scheduler.store.report import event_csv, event_table
    from scheduler.textsafety import show

    settings = load_settings(ctx)
    events = Store.open(settings).events(post_id)
    if as_csv:
        click.echo(show(event_csv(events)), nl=False)
    elif events:
        click.echo(show(event_table(events, settings.zone)))
    else:
        click.echo("The audit trail is empty.")
