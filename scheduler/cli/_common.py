"""Helpers shared by the commands: loading settings and turning errors into messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from scheduler.errors import PostqError

F = TypeVar("F", bound=Callable[..., Any])


def run_guarded(func: F) -> F:
    """Turn any PostqError into its messages on stderr and its exit code: the one place."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PostqError as exc:
            from scheduler.redaction import redact
            from scheduler.textsafety import show

            for line in exc.messages():
                click.echo(f"error: {show(redact(line))}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def load_settings(ctx: click.Context) -> Any:
    """The settings for this invocation, found by the documented discovery order."""
    from scheduler.config import load

    return load(_config_path(ctx))


def load_read_settings(ctx: click.Context) -> Any:
    """Only where the queue is and its zone, for commands that just read the queue.

    Found the same way as :func:`load_settings`, with the same errors for a missing file,
    bad TOML or an unknown zone, but without pydantic (see
    :func:`scheduler.config.load_read_settings`). Commands that write or publish must use
    :func:`load_settings`, which checks the whole file.
    """
    from scheduler.config import load_read_settings as read

    return read(_config_path(ctx))


def _config_path(ctx: click.Context) -> str | None:
    root = ctx.find_root()
    return (root.obj or {}).get("config_path")


def echo_lines(lines: Iterable[str], *, batch: int = 1000, nl: bool = True) -> None:
    """Print ``lines`` as they come, a thousand to a write: a streamed listing goes out
    while it is read, without a write call per row. ``nl=False`` when each line already
    ends in its newline (CSV)."""
    buf: list[str] = []
    sep = "\n" if nl else ""
    for line in lines:
        buf.append(line)
        if len(buf) >= batch:
            click.echo(sep.join(buf), nl=nl)
            buf.clear()
    if buf:
        click.echo(sep.join(buf), nl=nl)
