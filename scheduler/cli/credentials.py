"""``postq channels new-key | login | logout``: the encrypted credential store."""

from __future__ import annotations

import sys

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command("new-key")
@run_guarded
def new_key() -> None:
    """Print a fresh key for the credential store.

    Put it in the variable named by [postq] credentials_key_env (POSTQ_CREDENTIALS_KEY
    by default) wherever postq runs; stored tokens can only be read with it.
    """
    from scheduler.credentials.crypto import new_key as make

    click.echo(make())


@click.command()
@click.argument("channel")
@click.option("--refresh-token-stdin", "from_stdin", is_flag=True,
              help="Read an existing refresh token (Meta, Threads: a token) from standard "
                   "input instead of opening the authorization page.")
@click.pass_context
@run_guarded
def login(ctx: click.Context, channel: str, from_stdin: bool) -> None:
    """Connect CHANNEL: authorize postq and keep its tokens, encrypted, in the queue database.

    Without --refresh-token-stdin, prints the address to open; after approving, paste the
    address the browser was sent to (or just its code).
    """
    from scheduler.credentials.login import login_interactive, login_with_token
    from scheduler.store import Store

    settings = load_settings(ctx)
    settings.channel(channel)
    store = Store.open(settings)
    try:
        if from_stdin:
            result = login_with_token(settings, store, channel, sys.stdin.read())
        else:
            def ask(start: object) -> str:
                click.echo("Open this address, approve postq, then paste the address you "
                           "were sent to (or its code):", err=True)
                click.echo(getattr(start, "url", ""), err=True)
                # Shown as typed: the code works once, and only with this login's verifier.
                return str(click.prompt("Redirected address or code", err=True))

            result = login_interactive(settings, store, channel, ask)
    finally:
        store.close()
    until = store.local(result.expires_at) if result.expires_at else "no stated end"
    renew = "renewed automatically" if result.refreshable else "log in again before it ends"
    click.echo(f"channel '{channel}' connected; access token valid until {until} ({renew})")


@click.command()
@click.argument("channel")
@click.pass_context
@run_guarded
def logout(ctx: click.Context, channel: str) -> None:
    """Forget CHANNEL's stored credential (the platform's own grant stays until revoked)."""
    from scheduler.credentials.login import logout as forget
    from scheduler.store import Store

    settings = load_settings(ctx)
    settings.channel(channel)
    store = Store.open(settings)
    try:
        gone = forget(store, channel)
    finally:
        store.close()
    click.echo(f"channel '{channel}': stored credential forgotten" if gone
               else f"channel '{channel}' had no stored credential")
