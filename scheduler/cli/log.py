"""``postq log``: the audit trail, every state change with who, when and why."""

from __future__ import annotations

from itertools import chain

import click

from scheduler.cli._common import echo_lines, load_settings, run_guarded


@click.command()
@click.argument("post_id", metavar="[ID]", required=False)
@click.option("--csv", "as_csv", is_flag=True,
              help="Print CSV: id, at (UTC, ISO-8601), who, action, post_id, delivery_id, "
                   "channel, state_before, state_after, reason.")
@click.option("--verify", is_flag=True,
              help="Check the whole trail's hash chain and every signature; exit 1 naming "
                   "the first event that was changed, deleted or inserted.")
@click.pass_context
@run_guarded
def log(ctx: click.Context, post_id: str | None, as_csv: bool, verify: bool) -> None:
    """Show the audit trail of one post, or of everything, oldest first."""
    from scheduler.store import Store
    from scheduler.store.report import event_csv_lines, event_lines
    from scheduler.textsafety import show

    settings = load_settings(ctx)
    store = Store.open(settings)
    if verify:
        from scheduler.errors import StoreError
        from scheduler.team.trail import check_trail, trail_line

        signers = store.team.allowed_signers if store.team is not None else None
        result = check_trail(store.events(), signers)
        if not result.ok:
            raise StoreError(trail_line(result, signers is not None))
        click.echo(trail_line(result, signers is not None))
        return
    # Events are printed as they are read, so a trail of millions lists in flat memory;
    # the first is read before anything is printed (an unknown post id is an error).
    events = store.stream_events(post_id)
    first = next(events, None)
    every = chain((first,), events) if first is not None else iter(())
    if as_csv:
        # Line by line: show() looks at each character only when a line is not plain
        # printable ASCII, and a line's own newline would make every line look so.
        echo_lines((show(line[:-1]) + "\n" for line in event_csv_lines(every)), nl=False)
    elif first is not None:
        echo_lines(map(show, event_lines(every, settings.zone)))
    else:
        click.echo("The audit trail is empty.")
