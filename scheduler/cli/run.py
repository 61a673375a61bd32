"""``postq run``: the publisher, as a service, once (cron), or as a dry run."""

from __future__ import annotations

import json
import logging
import sys

import click

from scheduler.cli._common import load_settings, run_guarded


@click.command()
@click.option("--once", is_flag=True, help="Publish what is due now, wait for it, and exit.")
@click.option("--dry-run", is_flag=True,
              help="Show every request that would be sent now (secrets redacted); change "
                   "nothing and send nothing.")
@click.option("-v", "--verbose", is_flag=True, help="Log each step to stderr.")
@click.option("--tick", type=float, default=1.0, hidden=True,
              help="Seconds between looks for due deliveries.")
@click.option("--reconcile-every", type=float, default=15.0, hidden=True,
              help="Seconds between looks for abandoned deliveries.")
@click.pass_context
@run_guarded
def run(ctx: click.Context, once: bool, dry_run: bool, verbose: bool, tick: float,
        reconcile_every: float) -> None:
    """Run the publisher.

    Without options it runs until stopped (SIGTERM or Ctrl-C finish the call in flight,
    then stop), publishing each delivery within about a second of its time. --once
    publishes what is due and exits 1 if anything failed, was held back or needs a check.
    """
    from scheduler.publish.notify import attach
    from scheduler.publish.service import serve
    from scheduler.publish.worker import Publisher
    from scheduler.store import Store
    from scheduler.textsafety import show

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings(ctx)
    store = Store.open(settings)
    publisher = Publisher(settings, store)
    if dry_run:
        plans = publisher.plan_due()
        if not plans:
            click.echo("Nothing is due now.")
        from scheduler.platforms import title_of

        for row, post, requests in plans:
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
    if once:
        outcomes = publisher.run_once()
        publisher.close()
        store.forget_heartbeat(publisher.worker)
        for o in outcomes:
            click.echo(f"{o.ref}: {o.state}" + (f" ({o.detail})" if o.detail else ""))
        if not outcomes:
            click.echo("Nothing was due.")
        if any(o.state in ("failed", "needs_check", "held") for o in outcomes):
            sys.exit(1)
        return
    click.echo(f"postq publisher {publisher.worker} running; Ctrl-C or SIGTERM to stop.",
               err=True)
    serve(publisher, tick_seconds=tick, reconcile_seconds=reconcile_every)
