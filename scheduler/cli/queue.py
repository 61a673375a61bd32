"""``postq queue ...`` and ``postq slots``: add posts, read the queue, change deliveries."""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from scheduler.cli._common import echo_lines, load_read_settings, load_settings, run_guarded

_STATES = ("awaiting_approval, scheduled, publishing, published, retry_wait, failed, "
           "needs_check, cancelled, missed, retracting, retracted, retract_failed, "
           "retract_manual")


def _open(ctx: click.Context) -> tuple[Any, Any]:
    from scheduler.store import Store

    settings = load_settings(ctx)
    return settings, Store.open(settings)


@click.group()
def queue() -> None:
    """Add, list, show and change queued posts.

    A queued post is a snapshot: every channel's caption and rendered images as they were
    when queued. Editing the file afterwards changes nothing until 'queue add --replace'.
    """


@queue.command("add")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--at", "at", metavar="WHEN",
              help="When to publish: '2026-12-01 09:00' (local), ISO-8601 with an offset, "
                   "'+2h' or 'tomorrow 09:00'. Default: the post's publish_at.")
@click.option("--next-slot", is_flag=True,
              help="Take each channel's next free slot from [slots] in postq.toml.")
@click.option("--replace", is_flag=True,
              help="Queue this version instead of the one already queued (needs a new "
                   "approval; the old version stays in the history).")
@click.option("--republish", is_flag=True,
              help="Publish a post that is already published once more, as a new "
                   "revision (needs a new approval).")
@click.option("--correct", is_flag=True,
              help="Retract the published version at once and queue this one as a new "
                   "revision that needs approval.")
@click.pass_context
@run_guarded
def add(ctx: click.Context, paths: tuple[str, ...], at: str | None, next_slot: bool,
        replace: bool, republish: bool, correct: bool) -> None:
    """Validate, render and snapshot posts, then queue one delivery per channel.

    A Q&A announcement with reminders also queues one delivery per channel at each
    reminder; a reminder whose time has passed is skipped with a warning. Everything is
    queued in one transaction: if any post fails, nothing is queued.
    """
    from scheduler.cli.channels import describe_channels
    from scheduler.content.pipeline import build_snapshots

    if at is not None and next_slot:
        raise click.UsageError("give either --at or --next-slot, not both")
    settings = load_settings(ctx)
    with _importing_meanwhile("scheduler.store.store", "scheduler.store.planning"):
        snaps = build_snapshots(settings, paths)
    from scheduler.store import Store
    from scheduler.store.planning import plan_due_times

    store = Store.open(settings)
    now = store.clock.now()
    if correct:
        _add_correction(settings, store, snaps, at, next_slot)
        return
    if next_slot:  # slots are chosen inside the write transaction, never beside it
        rows = store.add_many([(s, None) for s in snaps], replace=replace, republish=republish,
                              require_approval=settings.postq.require_approval,
                              plan=lambda taken: plan_due_times(
                                  settings, store, snaps, at=None, next_slot=True, now=now,
                                  taken=taken))
    else:
        due = plan_due_times(settings, store, snaps, at=at, next_slot=False, now=now)
        rows = store.add_many(list(zip(snaps, due, strict=True)), replace=replace,
                              republish=republish, require_approval=settings.postq.require_approval)
    # Readiness of the post's channels only: checking a channel loads its adapter.
    used = {c.channel for s in snaps for c in s.channels}
    ours = settings.model_copy(update={"channels": {n: settings.channels[n] for n in used}})
    for row in describe_channels(ours):
        for problem in row["problems"]:
            click.echo(f"warning: channel '{row['channel']}' is not ready: {problem}", err=True)
        for lapse in row.get("warnings", []):
            click.echo(f"warning: {lapse}", err=True)
    for s in snaps:
        for c in s.channels:
            for w in c.warnings:
                click.echo(f"warning: {s.post_id}@{c.channel}: {w}", err=True)
    from scheduler.store.queue import skipped_reminders

    for s in snaps:
        for line in skipped_reminders(s, rows, store.clock.now(), store.local):
            click.echo(f"warning: {line}", err=True)
    for r in rows:
        state = r.state.replace("_", " ")
        click.echo(f"queued {r.ref} for {store.local(r.due_at)} ({state})")


def _add_correction(settings: Any, store: Any, snaps: list[Any], at: str | None,
                    next_slot: bool) -> None:
    """``queue add --correct``: queue the new revision, retract the published one now."""
    from scheduler.publish.retract import describe, retract_now
    from scheduler.store.planning import plan_due_times

    due = plan_due_times(settings, store, snaps, at=at, next_slot=next_slot,
                         now=store.clock.now())
    rows, asked = store.correct(list(zip(snaps, due, strict=True)))
    for r in rows:
        click.echo(f"queued {r.ref} for {store.local(r.due_at)} (revision {r.revision}, "
                   f"{r.state.replace('_', ' ')})")
    ids = [r.id for r in asked]
    retract_now(settings, store, ids)
    done = store.retraction_rows(ids)
    for row in done:
        for line in describe(row, store.local):
            click.echo(f"{line} (revision {row.revision})" if not line.startswith(" ")
                       else line)
    if any(r.state == "retract_failed" for r in done):
        sys.exit(1)


@contextmanager
def _importing_meanwhile(*modules: str) -> Iterator[None]:
    """Import ``modules`` on another thread while the block runs; wait for it at the end.

    Rendering a post's images is mostly Pillow's C code, which lets other threads run, and
    importing SQLAlchemy for the store is a third of ``queue add``: on a machine with a
    free core the import happens during the rendering instead of after it. A shorter GIL
    switch interval meanwhile keeps the JPEG decoder, which takes the GIL back for every
    chunk, from waiting 5 ms each time. A failed import is left to the ordinary import
    after the block, which reports it as usual.
    """
    import scheduler.media  # noqa: F401 - now, so the two threads do not import Pillow at once

    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # raised again, where it belongs, by the import that follows
                return

    thread = threading.Thread(target=work, name="postq-import", daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    thread.start()
    try:
        yield
    finally:
        thread.join()
        sys.setswitchinterval(interval)


@queue.command("list")
@click.option("--state", metavar="S", help=f"Only deliveries in this state ({_STATES}).")
@click.option("--channel", metavar="C", help="Only deliveries on this channel.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape above).")
@click.pass_context
@run_guarded
def list_(ctx: click.Context, state: str | None, channel: str | None, limit: int | None,
          as_json: bool) -> None:
    """Queued deliveries by due time, in local time, with the pause state.

    \b
    --json prints {"pauses": [PAUSE...], "deliveries": [DELIVERY...]} where
      PAUSE    = {"channel": str|null (null: every channel), "reason", "paused_by",
                  "paused_at"}
      DELIVERY = {"delivery_id", "post_id", "channel", "adapter", "revision", "state",
                  "due_at", "next_attempt_at", "attempts", "remote_id", "remote_url",
                  "last_error", "published_at", "reminder"}
    "reminder" is a Q&A reminder's offset before the event ("-1h"), null for the post
    itself. Published deliveries of earlier revisions stay listed.
    Times are ISO-8601 in UTC with an offset; absent values are null.
    """
    from itertools import chain

    from scheduler.store.fastread import open_reader
    from scheduler.store.report import delivery_lines, json_lines, pause_lines, terminal_width
    from scheduler.textsafety import show as show_text

    settings = load_read_settings(ctx)  # the whole file is checked if the Store is needed
    store = open_reader(settings)
    pauses = store.pauses()
    # Rows are printed as they are read: a queue of a million deliveries lists in flat
    # memory.
    if as_json:
        rows = store.stream_deliveries(state=state, channel=channel, limit=limit)
        echo_lines(json_lines({"pauses": [p.as_dict() for p in pauses]}, "deliveries",
                              (r.as_dict() for r in rows)))
        return
    lines = store.stream_listing(state=state, channel=channel, limit=limit)
    for line in pause_lines(pauses, settings.zone):
        click.echo(show_text(line))
    first = next(lines, None)
    if first is None:
        click.echo("Nothing queued.")
        return
    # A note is the platform's answer: show() writes its controls as escapes.
    echo_lines(map(show_text, delivery_lines(chain((first,), lines), settings.zone, pauses,
                                             now=store.clock.now(), width=terminal_width())))



@queue.command("show")
@click.argument("ref", metavar="ID[@CHANNEL]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape above).")
@click.pass_context
@run_guarded
def show(ctx: click.Context, ref: str, as_json: bool) -> None:
    """One post: each channel's caption, media files, state, attempts, URL and history.

    ID@CHANNEL shows that channel's delivery (and its reminders) only.

    \b
    --json prints {"post_id", "revision", "kind", "language", "source_path",
      "content_hash", "publish_at", "publish_before", "publish_before_reason",
      "queued_by", "queued_at",
      "approval": {"required", "approved", "by", "at", "content_hash"},
      "deliveries": [DELIVERY + {"caption", "links", "media": [{"path", "sha256", "mime", "alt",
                     "width", "height", "source"}], "approval": str|null (who approved
                     it and whether the signature verifies now)}],
      "events": [{"id", "at", "who", "action", "post_id", "delivery_id", "channel",
                  "state_before", "state_after", "reason"}]}
    DELIVERY is the shape of 'queue list --json'. Times are ISO-8601 UTC with an offset.
    """
    from scheduler.store.report import caption_links, post_text
    from scheduler.team.gate import approval_note
    from scheduler.textsafety import show as visible

    settings, store = _open(ctx)
    view = store.show(ref)
    notes = {d.id: approval_note(store, d.id) for d in view.deliveries}
    if as_json:
        js = view.as_dict()
        for d in js["deliveries"]:
            d["approval"] = notes.get(d["delivery_id"])
            d["links"] = caption_links(d["caption"])
        click.echo(json.dumps(js, indent=2, ensure_ascii=False))
    else:
        click.echo(visible(post_text(view, settings.zone, store.clock.now(), notes)))


@queue.command("cancel")
@click.argument("ref", metavar="ID[@CHANNEL]")
@click.pass_context
@run_guarded
def cancel(ctx: click.Context, ref: str) -> None:
    """Cancel a post's open deliveries, or one of them with ID@CHANNEL."""
    _settings, store = _open(ctx)
    for r in store.cancel(ref):
        click.echo(f"cancelled {r.ref}")


@queue.command("reschedule")
@click.argument("ref", metavar="ID[@CHANNEL]")
@click.option("--at", "at", metavar="WHEN", required=True,
              help="The new time, in any form 'queue add --at' accepts.")
@click.pass_context
@run_guarded
def reschedule(ctx: click.Context, ref: str, at: str) -> None:
    """Move deliveries to another time, re-checking closing dates and event times."""
    from scheduler.store.planning import parse_at

    settings, store = _open(ctx)
    moment = parse_at(at, settings, store.clock.now())
    for r in store.reschedule(ref, moment):
        click.echo(f"rescheduled {r.ref} to {store.local(r.due_at)}")


@queue.command("retry")
@click.argument("ref", metavar="ID[@CHANNEL]")
@click.option("--yes", is_flag=True,
              help="Retry deliveries that need a check without asking (only after looking "
                   "on the platform: the post may already be there).")
@click.pass_context
@run_guarded
def retry(ctx: click.Context, ref: str, yes: bool) -> None:
    """Send failed (or needs_check) deliveries again as soon as the publisher runs."""
    from scheduler.errors import UsageError

    _settings, store = _open(ctx)
    try:
        rows = store.retry(ref, confirm_needs_check=yes)
    except UsageError as exc:
        if yes or "needs a check" not in str(exc) or not _interactive():
            raise
        click.echo(str(exc), err=True)
        if not click.confirm("Have you checked, and is it not there?", default=False):
            raise
        rows = store.retry(ref, confirm_needs_check=True)
    for r in rows:
        click.echo(f"{r.ref} will be retried")


def _interactive() -> bool:
    return sys.stdin.isatty()


@click.command()
@click.option("--next", "count", type=click.IntRange(min=1), default=10, show_default=True,
              metavar="N", help="How many slots to list.")
@click.option("--channel", metavar="C", help="Only slots free on this channel.")
@click.pass_context
@run_guarded
def slots(ctx: click.Context, count: int, channel: str | None) -> None:
    """List the coming posting slots from [slots] and the channels free at each."""
    from scheduler.store.planning import free_slots

    settings, store = _open(ctx)
    if channel:
        settings.channel(channel)
    found = free_slots(settings, store, now=store.clock.now(), count=count,
                       channels=[channel] if channel else None)
    for moment, free in found:
        click.echo(f"{store.local(moment)}  free: {', '.join(free)}")
