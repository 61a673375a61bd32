"""``postq channels``: each configured channel, its adapter, readiness and limits."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from scheduler.cli._common import load_settings, run_guarded


def describe_channels(settings: Any, check: bool = False, dry_run: bool = False
                      ) -> list[dict[str, Any]]:
    """One row per channel; secrets are reported as set or unset, never shown."""
    import os

    from scheduler.adapters import AdapterRegistry
    from scheduler.credentials import uses_store
    from scheduler.errors import PostqError

    registry = AdapterRegistry.from_entry_points()
    store = _credential_store(settings)
    rows = []
    for name, ch in sorted(settings.channels.items()):
        row: dict[str, Any] = {"channel": name, "adapter": ch.adapter, "installed": False,
                               "ready": False, "problems": [], "env": {}, "limits": None}
        try:
            profile = registry.channel_profile(ch)
            row["limits"] = {"text": profile.text_limit, "counting": profile.counting,
                             "images": profile.max_images, "image_bytes": profile.image_max_bytes}
            row["video"] = _video_limits(settings, name, profile)
        except PostqError as exc:
            row["problems"].append(str(exc))
        try:
            cls = registry.get(ch.adapter)
            row["installed"] = True
            adapter_settings = cls.parse_settings(name, ch.model_dump())
            adapter = cls(name, adapter_settings, data_dir=settings.data_dir)
            row["env"] = {var: bool(os.environ.get(var, "").strip())
                          for var in adapter.secret_names().values()}
            row["problems"].extend(adapter.readiness())
            if store is not None and uses_store(adapter.settings):
                from scheduler.credentials.expiry import channel_credential

                row["credential"], problems, row["warnings"] = channel_credential(
                    settings, adapter, store)
                row["problems"].extend(problems)
            if check and (dry_run or not row["problems"]):
                row.update(_verify(adapter, dry_run))
            adapter.close()
        except PostqError as exc:
            row["problems"].append(str(exc))
        row["ready"] = row["installed"] and not row["problems"]
        rows.append(row)
    if store is not None:
        store.close()
    return rows


def _video_limits(settings: Any, channel: str, profile: Any) -> dict[str, Any] | None:
    """What the channel takes as a video (the limits ``validate`` and the renders use), or
    None when its platform takes none."""
    from scheduler.content.video import channel_video_profile

    vp = channel_video_profile(settings, channel, profile)
    if vp is None:
        return None
    return {"title": vp.title, "min_seconds": vp.min_seconds, "max_seconds": vp.max_seconds,
            "max_bytes": vp.max_bytes, "frame": list(vp.render_size),
            "aspect": [round(vp.aspect_min, 3), round(vp.aspect_max, 3)],
            "fps": [vp.fps_min, vp.fps_max],
            "captions": "file" if vp.captions_sidecar else "burned in"}


def video_line(video: dict[str, Any] | None) -> str:
    """``video: Instagram Reels, 3–900 s, up to 300 MB, 1080x1920, captions burned in``."""
    if video is None:
        return "video: not taken"
    size = video["max_bytes"]
    shown = f"{size / 1024 ** 3:.0f} GiB" if size >= 1024 ** 3 and size % 1024 ** 3 == 0 \
        else f"{size / 1024 ** 2:.0f} MiB" if size % 1024 ** 2 == 0 else f"{size / 1e6:g} MB"
    return (f"video: {video['title']}, {video['min_seconds']:g}–{video['max_seconds']:g} s, "
            f"up to {shown}, {video['frame'][0]}x{video['frame'][1]}, captions "
            f"{'as a file' if video['captions'] == 'file' else 'burned in'}")


def _credential_store(settings: Any) -> Any:
    """The queue store when some channel keeps its tokens there (``auth = "oauth2"``)."""
    from scheduler.credentials import uses_store

    if not any(uses_store(ch) for ch in settings.channels.values()):
        return None
    from scheduler.store import Store

    return Store.open(settings)


def _verify(adapter: Any, dry_run: bool) -> dict[str, Any]:
    """One harmless authenticated call, or (dry run) the call it would make."""
    from scheduler.adapters.http import DryRunStop
    from scheduler.errors import PostqError

    http = getattr(adapter, "http", None)
    if dry_run:
        if http is None:
            return {"would_call": None}
        http.dry_run = True
    try:
        return {"check": adapter.verify()}
    except DryRunStop as stop:
        return {"would_call": stop.planned.as_dict()}
    except PostqError as exc:
        return {"check_failed": str(exc)}
    except ValueError:  # requests' JSONDecodeError: an answer that is not JSON at all
        return {"check_failed": _unreadable(adapter, "which is not JSON")}
    except (KeyError, TypeError, AttributeError, IndexError):
        return {"check_failed": _unreadable(adapter, "in a shape this adapter does not know")}


def _unreadable(adapter: Any, what: str) -> str:
    """One sentence for an answer the adapter could not read: the request and what came back.

    Kept to this channel's row so one odd server does not hide every other channel's result.
    """
    from scheduler.redaction import redact

    http = getattr(adapter, "http", None)
    answer = getattr(http, "last_answer", "") or f"channel '{adapter.channel}' got an answer"
    who = getattr(http, "platform", f"channel '{adapter.channel}'")
    return redact(f"{who}: {answer}, {what}; is the channel's address right?",
                  adapter.secrets())


class _ChannelsGroup(click.Group):
    """``channels`` lists; its sub-commands (the credential store) load only when named."""

    _SUBCOMMANDS = ("login", "logout", "new-key")

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self._SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._SUBCOMMANDS:
            return None
        from scheduler.cli import credentials

        cmd: click.Command = getattr(credentials, cmd_name.replace("-", "_"))
        return cmd


@click.group(cls=_ChannelsGroup, invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.option("--check", is_flag=True,
              help="Make one harmless authenticated call per ready channel and report "
                   "expired or soon-expiring tokens.")
@click.option("--dry-run", is_flag=True, help="With --check: show the calls instead of making them.")
@click.pass_context
@run_guarded
def channels(ctx: click.Context, as_json: bool, check: bool, dry_run: bool) -> None:
    """List channels, their adapters, whether their credentials are set, and limits.

    Environment variables named by the configuration are reported as set or not set;
    their values are never printed.
    """
    if ctx.invoked_subcommand:
        return
    settings = load_settings(ctx)
    rows = describe_channels(settings, check=check, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("No channels configured.")
        return
    from scheduler.store.report import table, terminal_width

    cells = []
    for row in rows:
        limits = row["limits"]
        cells.append([row["channel"], row["adapter"], "ready" if row["ready"] else "NOT READY",
                      f"{limits['text']} {limits['counting']}, {limits['images']} image(s)"
                      if limits else "unknown limits"])
    lines = table(["CHANNEL", "ADAPTER", "STATE", "LIMITS"], cells, width=terminal_width(),
                  flexible=(3,)).splitlines()
    click.echo(lines[0])
    for row, line in zip(rows, lines[1:], strict=True):
        click.echo(line)
        if row["limits"] is not None:
            click.echo(f"    {video_line(row.get('video'))}")
        for var, present in row["env"].items():
            click.echo(f"    {var}: {'set' if present else 'not set'}")
        if row.get("credential"):
            click.echo(f"    credential: {row['credential']['line']}")
        for problem in row["problems"]:
            click.echo(f"    problem: {problem}")
        for warning in row.get("warnings", []):
            click.echo(f"    warning: {warning}")
        if row.get("check"):
            click.echo(f"    check: {row['check']}")
        if row.get("check_failed"):
            click.echo(f"    check FAILED: {row['check_failed']}")
        if "would_call" in row:
            call = row["would_call"]
            if call is None:
                click.echo("    would call: nothing (this adapter makes no network call)")
            else:
                click.echo(f"    would call: {call['method']} {call['url']}")
                for k, v in call["headers"].items():
                    click.echo(f"      {k}: {v}")
    failed = any(not r["ready"] or r.get("check_failed") for r in rows)
    if check and not dry_run and failed:
        sys.exit(1)
