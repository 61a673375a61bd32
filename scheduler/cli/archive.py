"""``postq archive``: write what went out as BagIt bags with an offline index page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False),
              help="The archive folder; bags already there are kept.")
@click.option("--since", metavar="DATE", help="Only deliveries published on or after DATE "
                                              "(YYYY-MM-DD, local).")
@click.option("--until", metavar="DATE", help="Only deliveries published on or before DATE.")
@click.pass_context
@run_guarded
def archive(ctx: click.Context, out: str, since: str | None, until: str | None) -> None:
    """Write every published (and retracted) delivery as a BagIt bag.

    Each bag holds the exact caption sent, the media bytes, alt text, the remote id and
    URL, the platform's answer, who queued and approved, and every event, with a
    checksum manifest. Running it again into the same folder adds only what is new.
    """
    from pathlib import Path

    from scheduler.records.archive import write_archive
    from scheduler.store import Store

    settings = load_settings(ctx)
    start = _day(since, "--since", settings.zone)
    end = _day(until, "--until", settings.zone, next_day=True)
    result = write_archive(Store.open(settings), Path(out), start, end)
    click.echo(f"archived {len(result.added)} new deliveries to {result.out} "
               f"({result.kept} already there)")
    click.echo(f"Archive: {result.index.resolve()}")


def _day(text: str | None, option: str, zone: Any, next_day: bool = False) -> datetime | None:
    from scheduler.errors import UsageError

    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{option}: '{text}' is not a date; write YYYY-MM-DD") from None
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(0), zone)
