"""``postq retract``: take published posts down from the platforms, on the record."""

from __future__ import annotations

import sys

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.argument("ref", metavar="ID[@CHANNEL]")
@click.option("--reason", metavar="TEXT", help="Why; kept in the audit trail and sent on.")
@click.option("--done", is_flag=True,
              help="Record that ID@CHANNEL (retract_manual) was removed by hand.")
@click.pass_context
@run_guarded
def retract(ctx: click.Context, ref: str, reason: str | None, done: bool) -> None:
    """Delete a published post from every platform it is on (or from one channel).

    Nothing of the post that has not gone out yet is published afterwards. Neither
    approval nor a pause holds a retraction back. Platforms without a delete API get
    exact steps for a person; record them with --done. Exits 1 if a platform refused.
    """
    from scheduler.publish.retract import describe, retract_now
    from scheduler.store import Store

    settings = load_settings(ctx)
    store = Store.open(settings)
    if done:
        row = store.mark_retract_done(ref)
        click.echo(f"recorded: {row.ref} was removed by hand")
        return
    if not reason or not reason.strip():
        raise click.UsageError("give the reason: --reason TEXT")
    asked = store.request_retract(ref, reason)
    ids = [r.id for r in asked]
    retract_now(settings, store, ids)
    rows = store.retraction_rows(ids)
    for row in rows:
        for line in describe(row, store.local):
            click.echo(line)
    if any(r.state == "retract_failed" for r in rows):
        sys.exit(1)
