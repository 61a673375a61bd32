"""The ``postq`` command line: a thin skin over the core.

Commands live in small modules and are imported only when invoked, so ``postq --help``
answers without importing Pillow, SQLAlchemy, APScheduler or requests. Every
:class:`~scheduler.errors.PostqError` becomes a message on stderr and exit code 1 in one
place (:func:`scheduler.cli._common.run_guarded`).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (module, attribute, one-line help shown by `postq --help` without importing it)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("scheduler.cli.validate", "validate", "Check post files against every rule."),
    "preview": ("scheduler.cli.preview", "preview", "Render images and an HTML preview page."),
    "queue": ("scheduler.cli.queue", "queue", "Add, list, show and change queued posts."),
    "approve": ("scheduler.cli.review", "approve", "Approve a queued post (not your own)."),
    "reject": ("scheduler.cli.review", "reject", "Reject a queued post with a reason."),
    "pause": ("scheduler.cli.pause", "pause", "Stop publishing on a channel or everywhere."),
    "resume": ("scheduler.cli.pause", "resume", "Lift a pause."),
    "blackout": ("scheduler.cli.blackout", "blackout", "Periods in which nothing is published."),
    "slots": ("scheduler.cli.queue", "slots", "List the coming free posting slots."),
    "calendar": ("scheduler.cli.calendar", "calendar", "The coming weeks at a glance."),
    "run": ("scheduler.cli.run", "run", "Run the publisher."),
    "status": ("scheduler.cli.status", "status", "Publisher heartbeat, pauses, counts, next due."),
    "watch": ("scheduler.cli.watch", "watch", "Notify people when nothing publishes what is due."),
    "channels": ("scheduler.cli.channels", "channels", "Configured channels and readiness."),
    "log": ("scheduler.cli.log", "log", "The audit trail."),
    "demo": ("scheduler.cli.demo", "demo", "Run the whole pipeline on the bundled examples."),
    "init": ("scheduler.cli.init", "init", "Start a new postq folder with examples."),
    "retract": ("scheduler.cli.retract", "retract", "Take published posts down again."),
    "archive": ("scheduler.cli.archive", "archive", "Write what went out as BagIt bags."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        cmd: click.Command = getattr(module, spec[1])
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # `postq --help` lists commands from the table, importing none of their modules.
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="postq.toml to use (default: POSTQ_CONFIG, then the nearest postq.toml upwards).",
)
@click.version_option(package_name="postq", prog_name="postq")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """postq: schedule, check, approve and publish recruitment posts.

    Posts are Markdown files with YAML front matter in posts/; images live in assets/.
    """
    from scheduler.redaction import install_log_redaction

    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    install_log_redaction()


def main(argv: list[str] | None = None) -> Any:
    return cli.main(args=argv, prog_name="postq")
