"""Threads in post files: +++ lines or thread:, each part counted, all parts hashed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from scheduler.config import load
from scheduler.content.pipeline import build_snapshots
from scheduler.platforms import THREAD_SEPARATOR, count_x
from scheduler.timeutil import get_zone
from tests.project import Project

LONDON = get_zone("Europe/London")
BODY = "Life as an officer, a thread.\n+++\nPart two: training.\n+++\nPart three: apply."


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def careers(project: Project, channels: str, body: str, extra: str = "") -> None:
    project.careers(**{"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12),
                       "[outbox]": channels, "Join us.": body,
                       "hashtags: [careers]": f"hashtags: [careers]{extra}"})


def test_thread_platforms_get_parts_others_one_post(project: Project) -> None:
    careers(project, "[x, outbox]", BODY)
    assert project.run("queue", "add", "posts/io.md").exit_code == 0
    shown = json.loads(project.run("queue", "show", "io", "--json").stdout)
    captions = {d["channel"]: d["caption"] for d in shown["deliveries"]}
    assert captions["x"].split(THREAD_SEPARATOR) == [
        "Life as an officer, a thread.\n\nhttps://www.example.gov.uk/careers/io\n\n#careers",
        "Part two: training.", "Part three: apply."]
    assert captions["outbox"] == (
        "Life as an officer, a thread.\n\nPart two: training.\n\nPart three: apply.\n\n"
        "https://www.example.gov.uk/careers/io\n\n#careers")


def test_front_matter_thread_is_the_same_thread(project: Project) -> None:
    careers(project, "[x]", BODY)
    by_lines = build_snapshots(load(project.config), [project.root / "posts" / "io.md"])
    careers(project, "[x]", "Life as an officer, a thread.",
            '\nthread: ["Part two: training.", "Part three: apply."]')
    settings = load(project.config)
    by_key = build_snapshots(settings, [project.root / "posts" / "io.md"])
    assert by_key[0].channels[0].caption == by_lines[0].channels[0].caption
    careers(project, "[x]", BODY.replace("apply.", "apply today."))
    changed = build_snapshots(settings, [project.root / "posts" / "io.md"])
    assert changed[0].content_hash() != by_lines[0].content_hash()


def test_each_part_is_counted_on_its_own(project: Project) -> None:
    long_part = "Part two " + "word " * 55  # 284 characters
    careers(project, "[x]", f"Short first part.\n+++\n{long_part}\n+++\nPart three.")
    result = project.run("validate")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "thread" in line] == [
        f"posts/io.md:14: caption: part 2 of 3 of the thread for x is "
        f"{count_x(long_part.strip())} weighted (URL 23, CJK and emoji 2) long; x allows 280"]
