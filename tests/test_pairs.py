"""Welsh/English pairs: each validation error, queued and approved once, one slot, and
the combined form."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from scheduler.timeutil import get_zone
from tests.project import BASE_CONFIG, Project

LONDON = get_zone("Europe/London")
PAIR_CONFIG = '[links]\nlanguage_paths = { cy = "/cy/" }\n'


def day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date().isoformat()


def english(project: Project, **replace: str) -> None:
    text = {"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12),
            "[outbox]": "[outbox, x]", "role: Intelligence Officer":
            "role: Intelligence Officer\nlanguage: en\ntranslation: io-cy", **replace}
    project.careers("io.md", "io", **text)


def welsh(project: Project, **replace: str) -> None:
    text = {"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12),
            "[outbox]": "[outbox, x]",
            "role: Intelligence Officer": "role: Swyddog Cudd-wybodaeth\nlanguage: cy\n"
                                          "translation: io",
            "https://www.example.gov.uk/careers/io": "https://www.example.gov.uk/cy/gyrfaoedd/io",
            "alt: A desk with case notes.": "alt: Desg gyda nodiadau achos.",
            "Join us.": "Ymunwch â ni.", **replace}
    project.careers("io-cy.md", "io-cy", **text)


def errors(project: Project, *paths: str) -> list[str]:
    result = project.run("validate", *paths)
    assert result.exit_code == 1, result.output
    return [line for line in result.stderr.splitlines()
            if not line.endswith("file(s).") and not line.startswith("warning: ")]


def test_a_pair_is_queued_together_approved_once_in_one_slot(project: Project) -> None:
    project.write_config(PAIR_CONFIG)
    english(project)
    welsh(project)
    assert project.run("validate").stdout.strip() == "2 post(s) checked: all good."
    added = project.run("queue", "add", "posts/io.md", "--next-slot")  # the partner comes too
    assert added.exit_code == 0, added.output
    rows = json.loads(project.run("queue", "list", "--json").stdout)["deliveries"]
    assert sorted((r["post_id"], r["channel"]) for r in rows) == [
        ("io", "outbox"), ("io", "x"), ("io-cy", "outbox"), ("io-cy", "x")]
    assert len({r["due_at"] for r in rows}) == 1  # one slot for both, on every channel
    approved = project.run("approve", "io-cy", env={"POSTQ_USER": "bob"})
    assert approved.exit_code == 0, approved.output
    states = {(r["post_id"], r["channel"]): r["state"]
              for r in json.loads(project.run("queue", "list", "--json").stdout)["deliveries"]}
    assert set(states.values()) == {"scheduled"}


def test_combined_is_one_bilingual_post_welsh_first(project: Project) -> None:
    project.write_config(PAIR_CONFIG)
    english(project, **{"hashtags: [careers]": "hashtags: [careers]\nbilingual: combined"})
    welsh(project)
    assert project.run("queue", "add", "posts/io-cy.md").exit_code == 0
    rows = json.loads(project.run("queue", "list", "--json").stdout)["deliveries"]
    assert sorted((r["post_id"], r["channel"]) for r in rows) == [("io-cy", "outbox"),
                                                                  ("io-cy", "x")]
    (x,) = [d for d in json.loads(project.run("queue", "show", "io-cy@x", "--json").stdout)
            ["deliveries"] if d["channel"] == "x"]
    assert x["caption"] == (
        "Ymunwch â ni.\n\nhttps://www.example.gov.uk/cy/gyrfaoedd/io\n\n#careers\n\n"
        "Join us.\n\nhttps://www.example.gov.uk/careers/io\n\n#careers")


def test_combined_english_first_when_configured(project: Project) -> None:
    project.write_config(PAIR_CONFIG + "[captions]\nwelsh_first = false\n")
    english(project, **{"[outbox, x]": "[x]", "translation: io-cy":
                        "translation: io-cy\nbilingual: combined"})
    welsh(project, **{"[outbox, x]": "[x]"})
    assert project.run("queue", "add", "posts/io.md").exit_code == 0
    (x,) = json.loads(project.run("queue", "show", "io", "--json").stdout)["deliveries"]
    assert x["caption"].startswith("Join us.\n\nhttps://www.example.gov.uk/careers/io\n\n"
                                   "#careers\n\nYmunwch â ni.")
    assert project.run("queue", "show", "io-cy").exit_code == 1  # nothing of its own


@pytest.mark.parametrize(("setup", "expected"), [
    ("missing", ["posts/io.md:8: translation: its partner 'io-cy' is not found (looked in "
                 "posts/); a post in a pair is queued only with its partner"]),
    ("time", [f"posts/io-cy.md:4: publish_at: {day(5)} 10:00 differs from its partner 'io' "
              f"(posts/io.md: {day(5)} 09:00); both versions are published in the same slot",
              f"posts/io.md:4: publish_at: {day(5)} 09:00 differs from its partner 'io-cy' "
              f"(posts/io-cy.md: {day(5)} 10:00); both versions are published in the same "
              "slot"]),
    ("link", ["posts/io-cy.md:10: apply_url: link https://www.example.gov.uk/careers/io goes "
              "to a page in another language; a post in Welsh links to the page in Welsh "
              "(its address has /cy/)"]),
    ("english-link", ["posts/io.md:10: apply_url: link https://www.example.gov.uk/cy/io goes "
                      "to a page in another language; a post in en links to the page in en"]),
    ("require", ["posts/io.md:1: translation: [policy] require_welsh: this post has no Welsh "
                 "version; add translation: ID of its Welsh post, or translations: "
                 "{cy: posts/FILE.md}"]),
])
def test_each_pair_error(project: Project, setup: str, expected: list[str]) -> None:
    project.write_config(PAIR_CONFIG)
    if setup == "missing":
        english(project)
    elif setup == "time":
        english(project)
        welsh(project, **{f"{day(5)} 09:00": f"{day(5)} 10:00"})
    elif setup == "link":
        english(project)
        welsh(project, **{"https://www.example.gov.uk/cy/gyrfaoedd/io":
                          "https://www.example.gov.uk/careers/io"})
    elif setup == "english-link":
        english(project, **{"https://www.example.gov.uk/careers/io":
                            "https://www.example.gov.uk/cy/io"})
        welsh(project)
    else:
        project.write_config(base=BASE_CONFIG.replace("[policy]\n",
                                                      "[policy]\nrequire_welsh = true\n"))
        project.careers(**{"2026-12-01 09:00": f"{day(5)} 09:00", "2026-12-14": day(12)})
    assert errors(project) == expected


def test_translations_names_the_partner_file(project: Project) -> None:
    english(project, **{"translation: io-cy": "translations: {cy: posts/io-cy.md}"})
    welsh(project)
    assert project.run("validate", "posts/io.md").stdout.strip() == \
        "2 post(s) checked: all good."


def test_a_pair_is_previewed_side_by_side(project: Project) -> None:
    project.write_config(PAIR_CONFIG)
    english(project)
    welsh(project)
    result = project.run("preview", "posts/io.md", "--out", "preview")
    assert result.exit_code == 0, result.output
    page = (project.root / "preview" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r'<div class="pair" data-channel="([^"]+)">(.*?)</div>', page, re.S)
    assert [(ch, re.findall(r'data-post="([^"]+)"', body)) for ch, body in rows] == [
        ("outbox", ["io-cy", "io"]), ("x", ["io-cy", "io"])]


def test_approving_one_version_by_its_hash_leaves_the_unreviewed_partner_waiting(
        project: Project) -> None:
    """``approve io-cy --hash`` binds the approval to what was reviewed: io-cy. The
    English version, whose content the approver never saw, is not approved with it."""
    project.write_config(PAIR_CONFIG)
    english(project)
    welsh(project)
    assert project.run("queue", "add", "posts/io.md", "--next-slot").exit_code == 0
    shown = json.loads(project.run("queue", "show", "io-cy", "--json").stdout)
    approved = project.run("approve", "io-cy", "--hash", shown["content_hash"],
                           env={"POSTQ_USER": "bob"})
    assert approved.exit_code == 0, approved.output
    states = {(r["post_id"], r["channel"]): r["state"]
              for r in json.loads(project.run("queue", "list", "--json").stdout)["deliveries"]}
    assert states == {("io-cy", "outbox"): "scheduled", ("io-cy", "x"): "scheduled",
                      ("io", "outbox"): "awaiting_approval", ("io", "x"): "awaiting_approval"}
    assert "'io' (the other version of the pair) still needs approval" in approved.output
