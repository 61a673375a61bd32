"""What a member of staff sees: link-in-bio lines, wrapped text, times in the past."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

from scheduler.content.compose import join_paragraphs
from tests.test_queue_cli_add import LONDON, careers
from tests.test_reminders import qa_post


def test_instagram_qa_caption_asks_for_questions_not_applications(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    path = qa_post(project, "[]")
    assert run("queue", "add", str(path)).exit_code == 0
    shown = json.loads(run("queue", "show", "qa@instagram", "--json").stdout)
    assert shown["deliveries"][0]["caption"] == (
        "Join a serving officer live and ask anything.\n\n"
        "Send your questions through the link in our bio.\n\n#AskUs")
    qa_post(project, "[]", language="cy")
    r = run("queue", "add", "--replace", str(path))
    assert r.exit_code == 0, r.stderr
    shown = json.loads(run("queue", "show", "qa@instagram", "--json").stdout)
    assert "\n\nAnfonwch eich cwestiynau drwy'r ddolen yn ein bio.\n\n" in (
        shown["deliveries"][0]["caption"])


def test_link_in_bio_is_configured_per_kind_and_language(project: object) -> None:
    project.write_config(  # type: ignore[attr-defined]
        '[captions]\nlink_in_bio = { careers_promo = { en = "Apply: link in bio." }, '
        'qa_announcement = { en = "Questions: link in bio." } }\n')
    run = project.run  # type: ignore[attr-defined]
    careers(project, channels="[instagram]")
    qa_post(project, "[]")
    r = run("queue", "add", "posts/io.md", "posts/qa.md")
    assert r.exit_code == 0, r.stderr
    io = json.loads(run("queue", "show", "io", "--json").stdout)["deliveries"][0]
    qa = json.loads(run("queue", "show", "qa@instagram", "--json").stdout)["deliveries"][0]
    assert io["caption"] == "Join us.\n\nApply: link in bio.\n\n#careers"
    assert qa["caption"].split("\n\n")[1] == "Questions: link in bio."


def test_hard_wrapped_lines_are_joined_as_markdown_does() -> None:
    text = ("What is a working day\nreally like?\n\nBring your\\\nquestions.  \n"
            "We cover:\n- messy\n  data sets\n- people\n")
    assert join_paragraphs(text) == (
        "What is a working day really like?\n\nBring your\nquestions.\n"
        "We cover:\n- messy data sets\n- people")


def test_preview_and_queue_show_the_joined_caption(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    careers(project, body="Help us find the needle in\nmessy\ndata sets.\n\nApply now.")
    r = run("preview", "--out", "out")
    assert r.exit_code == 0, r.stderr
    page = (project.root / "out" / "index.html").read_text()  # type: ignore[attr-defined]
    assert ('<pre class="caption" lang="en">Help us find the needle in messy data sets.\n\n'
            "Apply now.\n\nhttps://www.example.gov.uk/careers/io\n\n#careers</pre>") in page


def test_a_publish_time_in_the_past_is_a_warning_and_marked_in_preview(
        project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).astimezone(LONDON)
    stamp = f"{yesterday:%Y-%m-%d} 09:00"
    careers(project)
    post = project.root / "posts" / "io.md"  # type: ignore[attr-defined]
    text = re.sub(r"publish_at: .*", f"publish_at: {stamp}", post.read_text())
    post.write_text(text)
    zone = yesterday.replace(hour=9, minute=0).strftime("%Z")
    r = run("validate")
    assert (r.exit_code, r.stdout, r.stderr) == (
        0, "1 post(s) checked: all good (1 warning(s)).\n",
        f"warning: posts/io.md:4: publish_at: {stamp} {zone} is in the past; queue it with "
        "--at or --next-slot, or change publish_at\n")
    r = run("preview", "--out", "out")
    assert r.exit_code == 0
    page = (project.root / "out" / "index.html").read_text()  # type: ignore[attr-defined]
    assert '<p class="summary">0 post(s) ready, 1 with a time in the past</p>' in page
    assert ('<p class="when"><strong class="past">In the past: give --at or --next-slot '
            "when queueing</strong> · ") in page


def test_due_times_within_the_hour_show_seconds(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    careers(project)
    r = run("queue", "add", "--at", "+20m", "posts/io.md")
    assert r.exit_code == 0, r.stderr
    row = json.loads(run("queue", "list", "--json").stdout)["deliveries"][0]
    due = datetime.fromisoformat(row["due_at"]).astimezone(LONDON)
    listed = run("queue", "list").stdout.splitlines()[1]
    assert listed.startswith(f"{due:%Y-%m-%d %H:%M:%S %Z}  io ")
    assert r.stdout == f"queued io@outbox for {due:%Y-%m-%d %H:%M:%S %Z} (awaiting approval)\n"
    assert f"[outbox] awaiting approval, due {due:%a %d %b %Y %H:%M:%S %Z}, attempts 0" in (
        run("queue", "show", "io").stdout)


def test_unknown_platform_channel_says_how_to_add_a_real_one(project: object) -> None:
    project.write_config(  # type: ignore[attr-defined]
        "", base="[channels.outbox]\nadapter = \"outbox\"\n\n"
                 "[channels.instagram-rehearsal]\nadapter = \"outbox\"\nprofile = \"instagram\"\n")
    careers(project, channels="[instagram]")
    r = project.run("validate")  # type: ignore[attr-defined]
    assert r.stderr.splitlines()[0] == (
        "posts/io.md:5: channels[0]: no channel 'instagram' in postq.toml (configured: "
        "instagram-rehearsal, outbox); did you mean 'instagram-rehearsal'?; to publish to a "
        "real Instagram account, enable the commented [channels.instagram] block in "
        "postq.toml, set the environment variable it names, and check it with "
        "'postq channels --check'")


def test_dry_run_counts_the_caption_as_the_platform_does(project: object) -> None:
    project.write_config(  # type: ignore[attr-defined]
        '[channels.x-rehearsal]\nadapter = "outbox"\nprofile = "x"\n')
    run = project.run  # type: ignore[attr-defined]
    careers(project, channels="[x-rehearsal]")
    assert run("queue", "add", "--at", "+1s", "posts/io.md",
               env={"POSTQ_USER": "alice"}).exit_code == 0
    assert run("approve", "io", env={"POSTQ_USER": "bob"}).exit_code == 0
    time.sleep(1.2)
    r = run("run", "--dry-run")
    caption = "Join us.\n\nhttps://www.example.gov.uk/careers/io\n\n#careers"
    assert len(caption) == 57  # what the old label said
    assert r.stdout.splitlines()[1] == (
        "  caption: 43 of 280 weighted (URL 23, CJK and emoji 2), as X counts:")


def test_channels_table_has_a_header_and_aligns_long_names(project: object) -> None:
    project.write_config(  # type: ignore[attr-defined]
        '[channels.instagram-rehearsal-for-the-careers-team]\nadapter = "outbox"\n'
        'profile = "instagram"\n', base='[channels.outbox]\nadapter = "outbox"\n')
    r = project.run("channels", env={"COLUMNS": "200"})  # type: ignore[attr-defined]
    assert r.stdout.splitlines() == [
        "CHANNEL                                   ADAPTER  STATE  LIMITS",
        "instagram-rehearsal-for-the-careers-team  outbox   ready  2200 characters, 10 image(s)",
        "    video: Instagram Reels, 3–900 s, up to 300 MB, 1080x1920, captions burned in",
        "outbox                                    outbox   ready  10000 characters, 10 image(s)",
        "    video: the outbox, 0.1–3600 s, up to 2000 MB, 1080x1920, captions as a file",
    ]


def test_queue_list_fits_the_terminal_and_keeps_the_end_of_a_url(project: object) -> None:
    from scheduler.store.report import delivery_table, elide_middle

    assert elide_middle("https://www.example.gov.uk/careers/posts/12345", 20) == (
        "https://w…osts/12345")
    from scheduler.store.rows import DeliveryRow

    due = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    row = DeliveryRow(
        id="a-very-long-post-id-for-the-winter-campaign@outbox#r1",
        post_id="a-very-long-post-id-for-the-winter-campaign", channel="outbox",
        adapter="outbox", revision=1, state="published", due_at=due, wake_at=due,
        attempts=1, caption="", remote_url="https://social.example/@team/posts/1234567890")
    text = delivery_table([row], LONDON, now=due + timedelta(days=1), width=100)
    assert text.splitlines() == [
        "DUE                   POST                      CHANNEL  STATE      TRIES  NOTE",
        "2026-12-10 09:00 GMT  a-very-long…ter-campaign  outbox   published  1      "
        "https://soci…s/1234567890",
    ]
    assert max(len(line) for line in text.splitlines()) <= 100
    wide = delivery_table([row], LONDON, now=due + timedelta(days=1), width=200)
    assert wide.splitlines()[1].endswith(
        "a-very-long-post-id-for-the-winter-campaign  outbox   published  1      "
        "https://social.example/@team/posts/1234567890")


def test_queue_show_takes_id_at_channel(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    careers(project, channels="[outbox, x]")
    assert run("queue", "add", "posts/io.md").exit_code == 0
    text = run("queue", "show", "io@x").stdout
    assert "[x] awaiting approval" in text and "[outbox]" not in text
    shown = json.loads(run("queue", "show", "io@x", "--json").stdout)
    assert [d["channel"] for d in shown["deliveries"]] == ["x"]
    r = run("queue", "show", "io@nope")
    assert (r.exit_code, r.stderr) == (
        1, "error: post 'io' is not queued on channel 'nope' (it is on outbox, x)\n")
