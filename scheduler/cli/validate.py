"""``postq validate``: check post files against every rule, report every problem."""

from __future__ import annotations

import json
import sys

import click

from scheduler.cli._common import load_settings, run_guarded

#: Above this many files a progress bar is shown on a terminal.
PROGRESS_FROM = 50


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON report: {ok, files, problems, posts: [{path, id, kind, ok, "
                   "publish_at, problems: [{path, line, field, message, severity}]}]}.")
@click.pass_context
@run_guarded
def validate(ctx: click.Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Check post files (default: posts/) against every rule.

    Every problem in every file is reported as path:line: field: message. Exits 1 when
    any file has a problem, 0 when all pass.
    """
    from scheduler.content.pipeline import brand_file
    from scheduler.content.validate import collect_paths, validate_files
    from scheduler.textsafety import show
    from scheduler.timeutil import Clock

    settings = load_settings(ctx)
    for key in ("font", "logo"):
        brand_file(settings, key)  # a missing brand file names its setting, as preview does
    now = Clock().now()
    files = collect_paths(paths, settings)
    if len(files) >= PROGRESS_FROM and sys.stderr.isatty() and not as_json:
        with click.progressbar(length=len(files), label="Checking", file=sys.stderr) as bar:
            report = validate_files(settings, files, progress=bar.update, now=now)
    else:
        report = validate_files(settings, files, now=now)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(show(str(problem)), err=True)
        for warning in report.warnings:
            click.echo(f"warning: {show(str(warning))}", err=True)
        bad = sum(1 for p in report.posts if not p.ok)
        noted = len(report.warnings)
        if report.ok:
            click.echo(f"{len(report.posts)} post(s) checked: all good"
                       + (f" ({noted} warning(s))." if noted else "."))
        else:
            click.echo(f"{len(report.posts)} post(s) checked: {len(report.problems)} "
                       f"problem(s) in {bad} file(s).", err=True)
    if not report.ok:
        sys.exit(1)
