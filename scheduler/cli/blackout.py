"""``postq blackout add/list/remove``: periods in which nothing is published.

Periods known ahead belong in ``[[blackouts]]`` of postq.toml; these commands are for
short notice (national mourning), stored in the queue database and audited like a pause.
"""

from __future__ import annotations

import json

import click

from scheduler.cli._common import load_settings, run_guarded


@click.group()
def blackout() -> None:
    """Periods in which nothing is published (pre-election, national mourning).

    A delivery due inside one waits until it ends, or is 'missed' when that is later
    than late_grace; '--next-slot' passes over them; 'queue add' refuses a time inside.
    """


@blackout.command("add")
@click.argument("name")
@click.option("--start", required=True, metavar="WHEN",
              help="When it starts: '2027-04-08 00:00' (local), ISO-8601, 'now' or '+2h'.")
@click.option("--end", required=True, metavar="WHEN", help="When it ends (not included).")
@click.option("--channel", "channels", multiple=True, metavar="C",
              help="Only this channel (repeat for more; default: every channel).")
@click.option("--allow-kind", "allow_kinds", multiple=True, metavar="KIND",
              help="A post kind still published inside it (repeatable).")
@click.option("--reason", default="", metavar="TEXT", help="Why, shown with the period.")
@click.pass_context
@run_guarded
def add(ctx: click.Context, name: str, start: str, end: str, channels: tuple[str, ...],
        allow_kinds: tuple[str, ...], reason: str) -> None:
    """Add a blackout period NAME from --start to --end."""
    from scheduler.blackouts import Blackout
    from scheduler.content.model import KINDS
    from scheduler.errors import UsageError
    from scheduler.store import Store
    from scheduler.store.planning import parse_at

    settings = load_settings(ctx)
    for ch in channels:
        settings.channel(ch)  # an unknown channel is an error, with a hint
    for kind in allow_kinds:
        if kind not in KINDS:
            raise UsageError(f"--allow-kind: '{kind}' is not a post kind "
                             f"({', '.join(sorted(KINDS))})")
    store = Store.open(settings)
    now = store.clock.now()
    begins = now if start.strip() == "now" else parse_at(start, settings, now)
    period = Blackout(name.strip(), begins, parse_at(end, settings, now), tuple(channels),
                      tuple(allow_kinds), reason=reason.strip())
    added = store.add_blackout(period)
    click.echo(f"blackout {added.describe(settings.zone)}")


@blackout.command("list")
@click.option("--json", "as_json", is_flag=True,
              help='Print [{"name", "start", "end", "channels", "allow_kinds", "source", '
                   '"added_by", "added_at", "reason"}].')
@click.pass_context
@run_guarded
def list_(ctx: click.Context, as_json: bool) -> None:
    """Every blackout period, from postq.toml and added by command."""
    from scheduler.store import Store

    settings = load_settings(ctx)
    periods = Store.open(settings).blackouts()
    if as_json:
        click.echo(json.dumps([b.as_dict() for b in periods], indent=2, ensure_ascii=False))
        return
    if not periods:
        click.echo("no blackout periods")
    for b in periods:
        click.echo(b.describe(settings.zone))


@blackout.command("remove")
@click.argument("name")
@click.pass_context
@run_guarded
def remove(ctx: click.Context, name: str) -> None:
    """Lift a period added with 'blackout add' (those in postq.toml are edited there)."""
    from scheduler.store import Store

    store = Store.open(load_settings(ctx))
    store.remove_blackout(name)
    click.echo(f"removed the blackout '{name}'")
