"""Tracked links: UTM tags on allowed links, counted after tagging, listed by queue show."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from scheduler.content.tracking import tag_links, tag_url
from scheduler.platforms import count_graphemes, count_x
from scheduler.timeutil import get_zone
from tests.project import Project

LONDON = get_zone("Europe/London")
UTM = """
[links]
utm = { source = "{channel}", medium = "social", campaign = "{id}" }
utm_channels.x = { source = "twitter", content = "{language}" }
"""
PARAMS = {"utm_source": "x", "utm_medium": "social"}


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def careers(project: Project, channels: str, body: str = "Join us.") -> None:
    project.careers(**{"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12),
                       "[outbox]": channels, "Join us.": body})


def test_tag_url_keeps_query_fragment_and_own_tags() -> None:
    assert tag_url("https://www.example.gov.uk/a?b=1#top", PARAMS) == (
        "https://www.example.gov.uk/a?b=1&utm_source=x&utm_medium=social#top")
    assert tag_url("https://www.example.gov.uk/a?utm_source=own", PARAMS) == (
        "https://www.example.gov.uk/a?utm_source=own&utm_medium=social")
    assert tag_url("example.gov.uk", PARAMS) == "example.gov.uk/?utm_source=x&utm_medium=social"


def test_hosts_outside_the_allow_list_are_never_tagged() -> None:
    text = "See https://www.example.gov.uk/x and https://other.example.org/y."
    assert tag_links(text, PARAMS, ["www.example.gov.uk"]) == (
        "See https://www.example.gov.uk/x?utm_source=x&utm_medium=social and "
        "https://other.example.org/y.")


def test_each_channel_gets_its_tags_and_queue_show_lists_them(project: Project) -> None:
    project.write_config(UTM)
    careers(project, "[outbox, x]")
    assert project.run("queue", "add", "posts/io.md").exit_code == 0
    shown = project.run("queue", "show", "io", "--json")
    links = {d["channel"]: d["links"] for d in json.loads(shown.stdout)["deliveries"]}
    assert links == {
        "outbox": ["https://www.example.gov.uk/careers/io?utm_source=outbox&utm_medium=social"
                   "&utm_campaign=io"],
        "x": ["https://www.example.gov.uk/careers/io?utm_source=twitter&utm_medium=social"
              "&utm_campaign=io&utm_content=en"],
    }
    text = project.run("queue", "show", "io").stdout
    assert ("  link: https://www.example.gov.uk/careers/io?utm_source=twitter&utm_medium=social"
            "&utm_campaign=io&utm_content=en") in text.splitlines()


def test_counted_after_tagging_x_counts_a_link_as_23(project: Project) -> None:
    project.write_config(UTM)
    # 233 characters of words, the link and "#careers". Untagged, Bluesky would count 282
    # of 300; tagged, the link counts in full there and the caption is refused. X counts
    # any link as 23, tagged or not: 233 + 2 + 23 + 2 + 8 = 268.
    body = ("Apply today. " * 18).strip()
    careers(project, "[x, bluesky]", body)
    result = project.run("validate")
    tagged = (f"{body}\n\nhttps://www.example.gov.uk/careers/io?utm_source=bluesky"
              "&utm_medium=social&utm_campaign=io\n\n#careers")
    assert count_graphemes(tagged.split("?")[0] + "\n\n#careers") == 282
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "caption" in line] == [
        f"posts/io.md:14: caption: the caption for bluesky is {count_graphemes(tagged)} "
        "graphemes long; bluesky allows 300"]
    careers(project, "[x]", body)
    assert project.run("queue", "add", "posts/io.md").exit_code == 0
    (x,) = json.loads(project.run("queue", "show", "io", "--json").stdout)["deliveries"]
    assert x["caption"] == tagged.replace("utm_source=bluesky", "utm_source=twitter").replace(
        "utm_campaign=io", "utm_campaign=io&utm_content=en")
    assert count_x(x["caption"]) == 268


def test_a_broken_template_names_the_file_and_key(project: Project) -> None:
    project.write_config('[links]\nutm = { source = "{chanel}" }\n')
    careers(project, "[x]")
    result = project.run("validate")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {project.config}: links.utm: source: the template '{{chanel}}' has an unknown "
        "or broken placeholder ('chanel'); use {channel}, {platform}, {id}, {kind}, "
        "{language}\n")
