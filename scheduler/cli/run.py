"""``postq run``: the publisher, as a service, once (cron), or as a dry run."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import click

from scheduler.cli._common import load_settings, run_guarded
from scheduler.errors import UsageError


@click.command()
@click.option("--once", is_flag=True, help="Publish what is due now, wait for it, and exit.")
@click.option("--dry-run", is_flag=True,
              help="Show every request that would be sent now (secrets redacted); change "
                   "nothing and send nothing.")
@click.option("-v", "--verbose", is_flag=True,
              help="Log debugging detail too (APScheduler's job runs, HTTP connections).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Log lines on stderr as text, or one JSON object per "
                                      "line (for journald, Loki or ELK).")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="N",
              help="Serve Prometheus metrics on http://HOST:N/metrics while running.")
@click.option("--metrics-host", default="127.0.0.1", show_default=True,
              help="Address the metrics server listens on.")
@click.option("--tick", type=float, default=1.0, hidden=True,
              help="Seconds between looks for due deliveries.")
@click.option("--reconcile-every", type=float, default=15.0, hidden=True,
              help="Seconds between looks for abandoned deliveries.")
@click.pass_context
@run_guarded
def run(ctx: click.Context, once: bool, dry_run: bool, verbose: bool, log_format: str,
        metrics_port: int | None, metrics_host: str, tick: float,
        reconcile_every: float) -> None:
    """Run the publisher.

    Without options it runs until stopped (SIGTERM or Ctrl-C finish the call in flight,
    then stop), publishing each delivery within about a second of its time. --once
    publishes what is due and exits 1 if anything failed, was held back or needs a check.

    Each event (published, retry scheduled, failed, needs a check, missed, paused,
    resumed, start and stop) is one line on stderr.
    """
    from scheduler.ops.logs import secret_values, setup_logging

    settings = load_settings(ctx)
    handler = setup_logging(log_format, verbose=verbose,
                            secrets=secret_values(settings.model_dump(), os.environ))
    try:
        _run(settings, once, dry_run, metrics_port, metrics_host, tick, reconcile_every)
    finally:
        logging.getLogger().removeHandler(handler)


def _run(settings: Any, once: bool, dry_run: bool, metrics_port: int | None,
         metrics_host: str, tick: float, reconcile_every: float) -> None:
    from scheduler.ops.events import EventReporter, PauseWatcher
    from scheduler.publish.notify import attach
    from scheduler.publish.service import record_stop, serve
    from scheduler.publish.worker import Publisher
    from scheduler.store import Store
    from scheduler.textsafety import show

    store = Store.open(settings, pooled=not dry_run)
    publisher = Publisher(settings, store)
    reporter = EventReporter(store, publisher.clock)
    publisher.on_event = reporter
    if dry_run:
        plans = publisher.plan_due()
        if not plans:
            click.echo("Nothing is due now.")
        from scheduler.platforms import title_of
        from scheduler.team.gate import why_held

        for row, post, requests in plans:
            held = why_held(store, row)
            if held is not None:
                click.echo(f"{row.ref}  due {store.local(row.due_at)}  would be HELD: {held}")
                continue
            click.echo(f"{row.ref}  due {store.local(row.due_at)}  attempt {row.attempts + 1}")
            # The platform's own count, the number validate checked against the same limit.
            profile = publisher.registry.channel_profile(settings.channels[row.channel])
            click.echo(f"  caption: {profile.count(post.caption)} of {profile.text_limit} "
                       f"{profile.counting}, as {title_of(profile)} counts:")
            for line in post.caption.split("\n"):
                click.echo(f"    | {show(line)}")
            if not requests:
                click.echo("  (no HTTP request: this adapter writes locally)")
            for req in requests:
                click.echo(f"  {req.method} {req.url}")
                for k, v in req.headers.items():
                    click.echo(f"    {k}: {v}")
                if req.body is not None:
                    body = json.dumps(req.body, ensure_ascii=False, indent=2, default=str)
                    for line in body.splitlines():
                        click.echo(f"    {show(line)}")
        publisher.close()
        return
    from scheduler.credentials.tokens import check_key

    check_key(settings, store.engine)
    attach(publisher)
    if metrics_port is not None:
        from scheduler.ops.metrics import Metrics

        metrics = Metrics(store, settings)
        reporter.listeners.append(metrics)
        try:
            metrics.serve(metrics_port, metrics_host)
        except OSError as exc:
            raise UsageError(f"--metrics-port {metrics_port}: cannot listen on "
                             f"{metrics_host}:{metrics_port} ({exc.strerror or exc})") from None
    if once:
        outcomes = publisher.run_once()
        publisher.close()
        record_stop(publisher, "run --once finished", outcomes)
        for o in outcomes:
            click.echo(f"{o.ref}: {o.state}" + (f" ({o.detail})" if o.detail else ""))
        if not outcomes:
            click.echo("Nothing was due.")
        if any(o.state in ("failed", "needs_check", "held") for o in outcomes):
            sys.exit(1)
        return
    serve(publisher, tick_seconds=tick, reconcile_seconds=reconcile_every,
          watchers=[PauseWatcher(store)])
