"""``postq approve`` and ``postq reject``: the second pair of eyes.

Approval is given to the queued content hash by the person running the command (their OS
login name, or ``POSTQ_USER``); whoever queued a post cannot approve it.
"""

from __future__ import annotations

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.argument("post_id", metavar="ID")
@click.pass_context
@run_guarded
def approve(ctx: click.Context, post_id: str) -> None:
    """Approve a queued post exactly as it was queued (not one you queued yourself)."""
    from scheduler.store import Store

    store = Store.open(load_settings(ctx))
    rows = store.approve(post_id)
    now = store.clock.now()
    for r in rows:
        click.echo(f"approved {r.ref}, due {store.local(r.due_at)}")
        if r.due_at <= now:
            click.echo(f"warning: {r.ref} is already due; it goes out at once if still "
                       "within the late grace, otherwise it will be marked missed", err=True)


@click.command()
@click.argument("post_id", metavar="ID")
@click.option("--reason", required=True, metavar="TEXT", help="Why, for the audit trail.")
@click.pass_context
@run_guarded
def reject(ctx: click.Context, post_id: str, reason: str) -> None:
    """Reject a queued post: its open deliveries are cancelled and the reason recorded."""
    from scheduler.store import Store

    store = Store.open(load_settings(ctx))
    for r in store.reject(post_id, reason):
        click.echo(f"rejected {r.ref}")
