"""``postq demo``: queue and publish the bundled examples into a temporary outbox."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from scheduler.cli._common import run_guarded


@click.command()
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Build the demo project in this folder instead of a temporary one.")
@click.option("--spacing", type=float, default=2.0, show_default=True,
              help="Seconds between the posts' publish times.")
@run_guarded
def demo(keep: Path | None, spacing: float) -> None:
    """Run the whole pipeline on the bundled examples.

    Validates and renders every example post, queues them a few seconds apart, approves
    them as a second person, runs the publisher until every delivery is in the outbox,
    and prints a summary. Nothing outside the demo folder is touched; no network is used.
    """
    from scheduler.publish.demo import run_demo
    from scheduler.store.report import table

    result = run_demo(spacing=spacing, keep=keep, say=click.echo)
    zone = result.settings.zone
    rows = [
        [r.post_id, r.channel, r.state, r.due_at.astimezone(zone).strftime("%H:%M:%S"),
         r.published_at.astimezone(zone).strftime("%H:%M:%S") if r.published_at else "-",
         f"{(r.published_at - r.due_at).total_seconds():.1f}s" if r.published_at else "-"]
        for r in result.rows
    ]
    click.echo("")
    click.echo(table(["post", "channel", "state", "due", "published", "late by"], rows))
    done = sum(1 for r in result.rows if r.state == "published")
    click.echo("")
    click.echo(f"{done} of {len(result.rows)} deliveries published in {result.seconds:.1f} s.")
    click.echo(f"Outbox (one folder per delivery): {result.outbox}")
    click.echo(f"Audit trail:  postq --config {result.root / 'postq.toml'} log")
    click.echo(f"Queue:        postq --config {result.root / 'postq.toml'} queue list")
    from scheduler.publish.demo import retract_and_archive

    retracted, index = retract_and_archive(result)
    if retracted is not None:
        click.echo(f"Retracted {retracted.ref} ({retracted.state}): its folder moved to "
                   f"{result.outbox / 'retracted'}")
    click.echo(f"Archive (BagIt bags; open in a browser): {index}")
    if done != len(result.rows):
        sys.exit(1)
