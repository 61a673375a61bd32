"""``postq init [DIR]``: start a new team's folder."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli._common import run_guarded


@click.command("init")
@click.argument("folder", metavar="[DIR]", default=".", type=click.Path(path_type=Path))
@run_guarded
def init(folder: Path) -> None:
    """Make a working postq folder in DIR (default: here).

    Writes postq.toml (the outbox and rehearsal channels, every platform as a commented
    block), posts/ with one example of each kind, assets/ with their images, a policy file
    and a .gitignore for the queue data. Nothing is overwritten.
    """
    from datetime import date

    from scheduler.scaffold import init_project

    made = init_project(folder, date.today())
    click.echo(f"Made {len(made)} files in {folder.resolve()}:")
    for path in made:
        click.echo(f"  {path.relative_to(folder)}")
    cd = f"cd {folder} && " if str(folder) != "." else ""
    click.echo(f"Next: {cd}postq validate && postq preview && postq queue add posts/*.md")
