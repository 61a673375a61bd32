"""``postq log``: the audit trail, every state change with who, when and why."""

from __future__ import annotations

from itertools import chain

import click

from scheduler.cli._common import echo_lines, load_read_settings, load_settings, run_guarded


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
    from scheduler.store.report import event_lines, safe_csv
    from scheduler.textsafety import show

    if verify:
        from scheduler.errors import StoreError
        from scheduler.store import Store
        from scheduler.team.trail import check_trail, trail_line

        store = Store.open(load_settings(ctx))
        signers = store.team.allowed_signers if store.team is not None else None
        result = check_trail(store.events(), signers)
        if not result.ok:
            raise StoreError(trail_line(result, signers is not None))
        click.echo(trail_line(result, signers is not None))
        return
    from scheduler.store.fastread import open_reader

    settings = load_read_settings(ctx)  # the whole file is checked if the Store is needed
    reader = open_reader(settings)
    if as_csv:
        # Pieces of many rows as they are read: a trail of millions lists in flat memory.
        # The header is read before anything is printed (an unknown post id is an error).
        pieces = reader.event_csv(post_id)
        header = next(pieces)
        click.echo(safe_csv(header), nl=False)
        for piece in pieces:
            click.echo(safe_csv(piece), nl=False)
        return
    # Events are printed as they are read; the first is read before anything is printed.
    events = reader.stream_events(post_id)
    first = next(events, None)
    if first is None:
        click.echo("The audit trail is empty.")
        return
    echo_lines(map(show, event_lines(chain((first,), events), settings.zone)))
