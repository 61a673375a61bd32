"""``postq preview``: renders and an HTML page of cards, no network, no queue writes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--channel", default=None, help="Only this channel's cards.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("preview"), show_default=True, help="Folder for renders and page.")
@click.pass_context
@run_guarded
def preview(ctx: click.Context, paths: tuple[str, ...], channel: str | None,
            out_dir: Path) -> None:
    """Render every image for every channel and write one HTML page of cards.

    Each card shows the image, the caption exactly as it will be sent with its count
    against the limit, the alt text, the local publish time and any warnings. Posts with
    problems get a card listing them, and the command exits 1.
    """
    from scheduler.content.preview import build_preview

    settings = load_settings(ctx)
    result = build_preview(settings, list(paths), out_dir, channel=channel)
    for problem in result.problems:
        click.echo(str(problem), err=True)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    cards = sum(len(s.channels) + len(s.reminders) for s in result.snapshots)
    click.echo(f"{len(result.snapshots)} post(s), {cards} card(s), "
               f"{len(result.files)} image(s) rendered.")
    click.echo(f"Preview: {result.page.resolve()}")
    if result.problems:
        sys.exit(1)
