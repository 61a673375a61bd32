"""Q&A reminders: extra deliveries before the event, one snapshot with the announcement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scheduler.timeutil import get_zone, localize

LONDON = get_zone("Europe/London")


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def local(text: str) -> str:
    moment = localize(datetime.fromisoformat(text), LONDON)
    return moment.strftime("%Y-%m-%d %H:%M %Z")


PUBLISH = f"{day(3)} 09:00"
EVENT = f"{day(6)} 18:00"
QA = """\
---
kind: qa_announcement
id: qa
publish_at: {publish}
channels: [outbox, instagram]
language: {language}
topic: Life as an officer
event_at: {event}
host: a serving officer
venue: Instagram Live
questions_url: https://www.example.gov.uk/careers/questions
reminders: {reminders}
images:
  - path: photo.jpg
    alt: An empty studio.
hashtags: [AskUs]
---
Join a serving officer live and ask anything.
"""


def qa_post(project: object, reminders: str = '["-1d", "-1h"]', language: str = "en",
            event: str = EVENT) -> Path:
    return project.post("qa.md", QA.format(  # type: ignore[attr-defined]
        publish=PUBLISH, event=event, reminders=reminders, language=language))


def minus(text: str, delta: timedelta) -> str:
    moment = localize(datetime.fromisoformat(text), LONDON) - delta
    return moment.astimezone(LONDON).strftime("%Y-%m-%d %H:%M %Z")


def test_reminders_queue_one_delivery_per_channel_and_offset(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = qa_post(project, '["-1d", "-1h", "-4d", "-30d"]')
    r = run("queue", "add", str(path), env={"POSTQ_USER": "alice"})
    assert r.exit_code == 0, r.stderr
    due, day_before, hour_before = local(PUBLISH), minus(EVENT, timedelta(days=1)), minus(
        EVENT, timedelta(hours=1))
    assert r.stdout == (
        f"queued qa@instagram for {due} (awaiting approval)\n"
        f"queued qa@outbox for {due} (awaiting approval)\n"
        f"queued qa@instagram~-1d for {day_before} (awaiting approval)\n"
        f"queued qa@outbox~-1d for {day_before} (awaiting approval)\n"
        f"queued qa@instagram~-1h for {hour_before} (awaiting approval)\n"
        f"queued qa@outbox~-1h for {hour_before} (awaiting approval)\n"
    )
    four, thirty = minus(EVENT, timedelta(days=4)), minus(EVENT, timedelta(days=30))
    warnings = [line for line in r.stderr.splitlines() if "reminder" in line]
    assert warnings == [
        f"warning: qa@outbox~-30d: reminder for {thirty} skipped: that time has passed",
        f"warning: qa@outbox~-4d: reminder for {four} skipped: it would not come after "
        f"the post itself ({due})",
        f"warning: qa@instagram~-30d: reminder for {thirty} skipped: that time has passed",
        f"warning: qa@instagram~-4d: reminder for {four} skipped: it would not come after "
        f"the post itself ({due})",
    ]
    shown = json.loads(run("queue", "show", "qa", "--json").stdout)
    captions = {(d["channel"], d["reminder"]): d["caption"] for d in shown["deliveries"]}
    assert captions[("outbox", "-1h")] == (
        "Starting in 1 hour: Life as an officer — Instagram Live\n\n"
        "https://www.example.gov.uk/careers/questions\n\n#AskUs")
    assert captions[("instagram", "-1d")] == (
        "Starting in 1 day: Life as an officer — Instagram Live\n\n"
        "Send your questions through the link in our bio.\n\n#AskUs")
    # The same renders as the announcement on each channel.
    media = {(d["channel"], d["reminder"]): [m["sha256"] for m in d["media"]]
             for d in shown["deliveries"]}
    assert media[("outbox", "-1h")] == media[("outbox", None)]
    assert media[("instagram", "-1d")] == media[("instagram", None)]

    # One approval covers the series.
    ok = run("approve", "qa", env={"POSTQ_USER": "bob"})
    assert ok.exit_code == 0, ok.stderr
    listed = json.loads(run("queue", "list", "--json").stdout)["deliveries"]
    assert [(d["channel"], d["reminder"], d["state"]) for d in listed] == [
        ("instagram", None, "scheduled"), ("outbox", None, "scheduled"),
        ("instagram", "-1d", "scheduled"), ("outbox", "-1d", "scheduled"),
        ("instagram", "-1h", "scheduled"), ("outbox", "-1h", "scheduled"),
    ]

    # queue show groups each channel's reminders under its announcement.
    text = run("queue", "show", "qa@outbox").stdout
    heads = [line for line in text.splitlines() if line.lstrip().startswith("[")]
    assert [h.split(" scheduled")[0] for h in heads] == [
        "[outbox]", "  [outbox] reminder -1d", "  [outbox] reminder -1h"]

    # The announcement cannot be moved past its own reminders.
    late = f"{day(6)} 12:00"
    moved = run("queue", "reschedule", "qa", "--at", late)
    assert (moved.exit_code, moved.stderr) == (1, (
        f"error: cannot move 'qa' to {local(late)}: its reminder qa@instagram~-1d is due at "
        f"{day_before}, before that; cancel the reminder first "
        "(postq queue cancel qa@instagram~-1d)\n"))
    # Rescheduling the post moves the announcements; reminders stay tied to the event.
    earlier = f"{day(2)} 09:00"
    r = run("queue", "reschedule", "qa", "--at", earlier)
    assert r.stdout == (f"rescheduled qa@instagram to {local(earlier)}\n"
                        f"rescheduled qa@outbox to {local(earlier)}\n")

    # Cancelling one channel cancels its reminders with it.
    r = run("queue", "cancel", "qa@outbox")
    assert r.stdout == ("cancelled qa@outbox\ncancelled qa@outbox~-1d\n"
                        "cancelled qa@outbox~-1h\n")
    r = run("queue", "cancel", "qa@instagram~-1h")
    assert r.stdout == "cancelled qa@instagram~-1h\n"


def test_welsh_reminder_uses_the_welsh_template(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    r = run("queue", "add", str(qa_post(project, '["-2h"]', language="cy")))
    assert r.exit_code == 0, r.stderr
    shown = json.loads(run("queue", "show", "qa@outbox~-2h", "--json").stdout)
    assert [d["caption"] for d in shown["deliveries"]] == [
        "Yn dechrau mewn 2 awr: Life as an officer — Instagram Live\n\n"
        "https://www.example.gov.uk/careers/questions\n\n#AskUs"]


def test_reminder_template_comes_from_captions_and_moves_with_the_event(
        project: object) -> None:
    project.write_config(  # type: ignore[attr-defined]
        '[captions]\nreminder = { en = "In {offset} at {time}: {topic}" }\n')
    run = project.run  # type: ignore[attr-defined]
    path = qa_post(project, '["-1h"]')
    assert run("queue", "add", str(path)).exit_code == 0
    later = f"{day(7)} 19:30"
    qa_post(project, '["-1h"]', event=later)
    r = run("queue", "add", "--replace", str(path))
    assert r.exit_code == 0, r.stderr
    assert f"queued qa@outbox~-1h for {minus(later, timedelta(hours=1))}" in r.stdout
    shown = json.loads(run("queue", "show", "qa@outbox~-1h", "--json").stdout)
    assert [d["caption"].split("\n")[0] for d in shown["deliveries"]] == [
        "In 1 hour at 19:30: Life as an officer"]


def test_a_broken_reminder_template_names_the_setting(project: object) -> None:
    project.write_config('[captions]\nreminder = { en = "In {when}" }\n')  # type: ignore[attr-defined]
    r = project.run("validate")  # type: ignore[attr-defined]
    assert r.exit_code == 1
    assert r.stderr == (
        f"error: {project.config}: captions.reminder: en: the template 'In {{when}}' has an "  # type: ignore[attr-defined]
        "unknown or broken placeholder ('when'); use {offset}, {topic}, {venue}, {host}, "
        "{date} or {time}\n")


def test_preview_shows_each_reminder_with_its_caption(project: object) -> None:
    qa_post(project, '["-1h"]')
    r = project.run("preview", "--out", "out", "--channel", "outbox")  # type: ignore[attr-defined]
    assert r.exit_code == 0, r.stderr
    page = (project.root / "out" / "index.html").read_text()  # type: ignore[attr-defined]
    card = page.split('data-reminder="-1h">', 1)[1].split("</article>", 1)[0]
    due = minus(EVENT, timedelta(hours=1))
    at = datetime.strptime(due[:16], "%Y-%m-%d %H:%M")
    assert f"Reminder -1h before the event: {at:%a %d %b %Y %H:%M} {due[17:]}" in card
    assert ('<pre class="caption" lang="en">Starting in 1 hour: Life as an officer — '
            "Instagram Live\n\nhttps://www.example.gov.uk/careers/questions\n\n#AskUs</pre>"
            ) in card
