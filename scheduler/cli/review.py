"""``postq approve`` and ``postq reject``: the second pair of eyes.

Approval is given to one content hash: the one shown on the terminal before asking, or
the one given with ``--hash``, so a ``queue add --replace`` between review and approval is
refused. With ``[team]`` the approver signs it with their SSH key and is whoever that key
belongs to; without it, the OS login name (or ``POSTQ_USER``). Whoever queued a post
cannot approve it.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.argument("post_id", metavar="ID")
@click.option("--hash", "expect_hash", metavar="PREFIX",
              help="The content hash you reviewed ('postq queue show ID'), at least 12 "
                   "hex characters; needed without a terminal when [team] is set.")
@click.pass_context
@run_guarded
def approve(ctx: click.Context, post_id: str, expect_hash: str | None) -> None:
    """Approve a queued post exactly as you reviewed it (not one you queued yourself)."""
    from scheduler.errors import UsageError
    from scheduler.store import Store

    settings = load_settings(ctx)
    store = Store.open(settings)
    partner_hash = None
    if expect_hash is None:
        if sys.stdin.isatty():
            view = store.show(post_id)
            click.echo(_summary(view, store))
            # The other version of a Welsh/English pair is approved with it: shown too.
            partner = store.waiting_partner(post_id)
            other = store.show(partner) if partner else None
            if other is not None:
                click.echo("\nand the other version of the pair:\n" + _summary(other, store))
            what = f"revision {view.revision} of '{post_id}'" + (
                f" and revision {other.revision} of '{other.post_id}'" if other else "")
            if not click.confirm(f"Approve {what}?", default=False):
                raise UsageError(f"'{post_id}' was not approved")
            expect_hash = view.content_hash
            partner_hash = other.content_hash if other is not None else None
        elif store.team is not None:
            raise UsageError(
                "without a terminal, approve needs --hash PREFIX: at least 12 characters of "
                f"the content hash 'postq queue show {post_id}' prints, so that what is "
                "approved is what was reviewed"
            )
    rows = store.approve(post_id, expect_hash=expect_hash, partner_hash=partner_hash)
    left = store.waiting_partner(post_id)
    if left is not None:
        click.echo(f"'{left}' (the other version of the pair) still needs approval: "
                   f"review it and run 'postq approve {left}'", err=True)
    now = store.clock.now()
    signed = f", signed by {store.user}" if store.team is not None else ""
    for r in rows:
        click.echo(f"approved {r.ref}, due {store.local(r.due_at)}{signed}")
        if r.due_at <= now:
            click.echo(f"warning: {r.ref} is already due; it goes out at once if still "
                       "within the late grace, otherwise it will be marked missed", err=True)


def _summary(view: Any, store: Any) -> str:
    """What is about to be approved: revision, hash, each caption and image."""
    lines = [f"{view.post_id}, revision {view.revision}, queued by {view.queued_by}",
             f"content hash: {view.content_hash}"]
    for d in view.deliveries:
        if d.state != "awaiting_approval":
            continue
        lines += ["", f"[{d.channel}] due {store.local(d.due_at)}"]
        lines += [f"    {line}" for line in d.caption.splitlines()]
        lines += [f"  image {m.position + 1}: {m.path.name} ({m.width}x{m.height}) alt: {m.alt}"
                  for m in d.media]
    return "\n".join(lines)


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
