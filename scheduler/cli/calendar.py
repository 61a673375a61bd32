"""``postq calendar``: the coming weeks as a terminal grid or an HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from scheduler.cli._common import load_read_settings, load_settings, run_guarded


@click.command()
@click.option("--weeks", type=click.IntRange(min=1, max=52), default=4, show_default=True,
              metavar="N", help="How many weeks, starting with this one.")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Write an HTML page (thumbnails embedded) instead of "
                                   "printing the grid.")
@click.pass_context
@run_guarded
def calendar(ctx: click.Context, weeks: int, html_file: Path | None) -> None:
    """Show what goes out on each day of the coming weeks."""
    from scheduler.errors import UsageError
    from scheduler.store.calendar import calendar_text, calendar_text_by_post, window
    from scheduler.store.report import terminal_width

    if html_file is None:
        # The grid shows no pictures: the light reader serves it (see store/fastread.py).
        from scheduler.blackouts import configured
        from scheduler.store.fastread import SqliteReader, open_reader

        light = load_read_settings(ctx)  # the whole file is checked if the Store is needed
        reader = open_reader(light)
        today = reader.clock.now().astimezone(light.zone).date()
        monday, start, end = window(today, weeks, light.zone)
        periods = sorted([*configured(light), *reader.stored_blackouts()],
                         key=lambda b: (b.start, b.name))
        # Names come from files and commands: show() writes any control as an escape.
        from scheduler.textsafety import show

        width = terminal_width()
        text = None
        if isinstance(reader, SqliteReader):  # a row per post, not per delivery
            text = calendar_text_by_post(reader.grid_posts(start, end), monday, weeks,
                                         light.zone, width, periods)
        if text is None:
            text = calendar_text(reader.grid(start, end), monday, weeks, light.zone, width,
                                 periods)
        click.echo(show(text))
        return
    from scheduler.store import Store
    from scheduler.store.calendar_page import calendar_html, milestones

    settings = load_settings(ctx)
    store = Store.open(settings)
    today = store.clock.now().astimezone(settings.zone).date()
    monday, start, end = window(today, weeks, settings.zone)
    rows = store.upcoming(start, end)
    marks = milestones(store.milestones(start, end), settings.zone)
    page = calendar_html(rows, monday, weeks, settings.zone, today, marks, store.blackouts())
    try:
        html_file.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {html_file}: {exc.strerror or exc}") from None
    click.echo(f"wrote {html_file} ({len(rows)} deliveries)")
