"""Every post-file rule: a failing file and the exact message the user sees."""

from __future__ import annotations

import os
import time

import pytest

from tests.project import CAREERS, Project

QA = """\
---
kind: qa_announcement
id: qa
publish_at: 2026-12-03 17:00
channels: [outbox]
topic: Life as an officer
event_at: 2026-12-10 18:00
host: a serving officer
venue: Instagram Live
---
Ask us anything.
"""

EXHIBIT = """\
---
kind: archive_exhibit
id: ex
publish_at: 2026-12-08 12:30
channels: [outbox]
exhibit: Cipher machine
era: 1940s
catalogue_ref: ARC-1
cleared_for_release: true
clearance_ref: CLR-1
images:
  - path: photo.jpg
    alt: A cipher machine.
---
From the archive.
"""


def errors(project: Project, *args: str) -> list[str]:
    result = project.run("validate", *args)
    assert result.exit_code == 1, result.output
    return [line for line in result.stderr.splitlines()
            if not line.endswith("file(s).") and not line.startswith("warning: ")]


def test_valid_post_passes(project: Project) -> None:
    project.careers(**{"2026-12-01 09:00": "2036-12-01 09:00", "2026-12-14": "2036-12-14"})
    result = project.run("validate")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 post(s) checked: all good."


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("closing_date:", "closing_dat:",
         "posts/io.md:7: closing_dat: unknown key; did you mean 'closing_date'?"),
        ("closing_date: 2026-12-14", "closing_date: soon",
         "posts/io.md:7: closing_date: input should be a valid date or datetime, input is too "
         "short"),
        ("role: Intelligence Officer\n", "",
         "posts/io.md:2: role: missing: required for careers_promo"),
        ("closing_date: 2026-12-14", "closing_date: 2026-12-01",
         "posts/io.md:7: closing_date: 2026-12-01 is on or before the publish time 2026-12-01 "
         "09:00; a careers post is never published on or after its closing date"),
        ("https://www.example.gov.uk/careers/io", "http://www.example.gov.uk/careers/io",
         "posts/io.md:8: apply_url: link http://www.example.gov.uk/careers/io is not https"),
        ("https://www.example.gov.uk/careers/io",
         "https://www.example.gov.uk.attacker.example/careers/io",
         "posts/io.md:8: apply_url: link host 'www.example.gov.uk.attacker.example' is not on "
         "the allow-list ([policy] link_hosts: example.gov.uk, www.example.gov.uk)"),
        ("Join us.", "Join us.\nIt is TOP secret.",
         "posts/io.md:15: caption: contains the deny-listed term 'top secret'"),
        ("alt: A desk with case notes.", "alt: A desk with the codeword on it.",
         "posts/io.md:11: images[0].alt: contains the deny-listed term 'codeword'"),
        ("hashtags: [careers]", "hashtags: [careers]\noverlay: {headline: CODEWORD}",
         "posts/io.md:13: overlay.headline: contains the deny-listed term 'codeword'"),
        ("    alt: A desk with case notes.\n", "",
         "posts/io.md:10: images[0].alt: missing alt text: every image needs a description"),
        ("path: photo.jpg", "path: ../postq.toml",
         "posts/io.md:10: images[0].path: '../postq.toml' contains '..'; give a path inside "
         "assets/"),
        ("path: photo.jpg", "path: /etc/passwd",
         "posts/io.md:10: images[0].path: '/etc/passwd' is absolute; give a path inside assets/"),
        ("path: photo.jpg", "path: missing.jpg",
         "posts/io.md:10: images[0].path: no image at assets/missing.jpg"),
        ("publish_at: 2026-12-01 09:00", "publish_at: 2027-03-28 01:30",
         "posts/io.md:4: publish_at: 2027-03-28 01:30 does not exist in Europe/London (the "
         "clocks go forward); use 00:30 or 02:30"),
        ("publish_at: 2026-12-01 09:00", "publish_at: 2026-10-25 01:30",
         "posts/io.md:4: publish_at: 2026-10-25 01:30 happens twice in Europe/London (the clocks "
         "go back); write it with an offset: 2026-10-25T01:30+01:00 (first) or "
         "2026-10-25T01:30+00:00 (second)"),
        ("channels: [outbox]", "channels: [outbx]",
         "posts/io.md:5: channels[0]: no channel 'outbx' in postq.toml (configured: bluesky, "
         "instagram, mastodon, outbox, threads, x); did you mean 'outbox'?"),
        ("kind: careers_promo", "kind: careers",
         "posts/io.md:2: kind: 'careers' is not a kind; use careers_promo, archive_exhibit or "
         "qa_announcement"),
    ],
)
def test_rule_messages(project: Project, old: str, new: str, expected: str) -> None:
    assert old in CAREERS
    project.careers(**{old: new})
    assert expected in errors(project)


def test_symlink_leaving_assets(project: Project) -> None:
    secret = project.root / "outside.jpg"
    (project.root / "assets" / "photo.jpg").rename(secret)
    os.symlink(secret, project.root / "assets" / "photo.jpg")
    project.careers()
    assert errors(project) == [
        "posts/io.md:10: images[0].path: 'photo.jpg' is a link that leads outside assets/"
    ]


def test_every_problem_reported_not_only_the_first(project: Project) -> None:
    project.careers(**{
        "closing_date:": "closing_dat:",
        "https://www.example.gov.uk/careers/io": "http://evil.example/io",
        "Join us.": "Codeword inside.",
    })
    lines = errors(project)
    assert len(lines) == 4
    assert lines[0].startswith("posts/io.md:2: closing_date: missing")


def test_qa_event_before_publish_and_named_host(project: Project) -> None:
    project.post("qa.md", QA.replace("2026-12-10 18:00", "2026-12-02 18:00")
                 .replace("a serving officer", "Jane Smith"))
    assert errors(project) == [
        "posts/qa.md:7: event_at: the event (2026-12-02 18:00) is at or before the publish "
        "time (2026-12-03 17:00); announce it before it happens",
        "posts/qa.md:8: host: 'Jane Smith' looks like a person's name; describe a role instead, "
        "such as 'a serving officer'",
    ]


def test_exhibit_not_cleared(project: Project) -> None:
    project.post("ex.md", EXHIBIT.replace("cleared_for_release: true",
                                          "cleared_for_release: false"))
    assert errors(project) == [
        "posts/ex.md:9: cleared_for_release: must be true: an exhibit without clearance for "
        "release is never queued"
    ]


def test_exhibit_needs_clearance_fields_and_an_image(project: Project) -> None:
    text = EXHIBIT.replace("clearance_ref: CLR-1\n", "")
    text = text.replace("images:\n  - path: photo.jpg\n    alt: A cipher machine.\n", "")
    project.post("ex.md", text)
    assert errors(project) == [
        "posts/ex.md:2: clearance_ref: missing: required for archive_exhibit",
        "posts/ex.md:2: images: an archive exhibit needs at least one image",
    ]


def test_duplicate_ids_across_files(project: Project) -> None:
    project.careers("a.md", "same")
    project.careers("b.md", "same")
    assert errors(project) == ["posts/b.md:3: id: 'same' is already used by posts/a.md"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "posts/bad.md: the file is empty"),
        (b"Just a caption\n", "posts/bad.md:1: no front matter: a post file starts with a line "
                              "'---', then YAML, then another '---' line"),
        (b"---\nkind: careers_promo\n\xff\xfe\n---\n",
         "posts/bad.md:3: not UTF-8 text (byte 0xff at offset 24); save the file as UTF-8"),
        (b"---\nkind: careers_promo\nchannels: [outbox\nrole: x\n---\n",
         "posts/bad.md:4: malformed YAML: did not find expected ',' or ']'"),
        (b"---\nkind: careers_promo\nx: !!python/object/apply:os.system ['touch pwned']\n---\n",
         "posts/bad.md:3: x: YAML tag !!python/object/apply:os.system is not allowed; post "
         "files hold text, numbers, true/false, dates, lists and key: value maps only"),
        (b"---\n- a\n- b\n---\n",
         "posts/bad.md:2: the front matter must be a mapping of key: value lines"),
    ],
)
def test_unreadable_files(project: Project, content: bytes, expected: str) -> None:
    (project.root / "posts" / "bad.md").write_bytes(content)
    assert errors(project) == [expected]
    assert not (project.root / "pwned").exists()


def test_huge_file_refused_quickly(project: Project) -> None:
    big = project.root / "posts" / "big.md"
    big.write_bytes(b"---\nkind: careers_promo\n" + b"x" * (10 * 1024 * 1024))
    started = time.perf_counter()
    lines = errors(project)
    assert time.perf_counter() - started < 2.0
    assert lines == ["posts/big.md: the file is 10,485,784 bytes; post files are limited to "
                     "256 KiB"]


def test_caption_over_limit_names_channel_count_and_limit(project: Project) -> None:
    project.careers(**{"channels: [outbox]": "channels: [x, bluesky]",
                       "Join us.": "我们正在招聘。" * 20})
    lines = errors(project)
    assert "posts/io.md:14: caption: the caption for x is 315 weighted (URL 23, CJK and emoji " \
           "2) long; x allows 280" in lines
    assert not any("bluesky" in line for line in lines)


def test_instagram_gets_link_in_bio_and_threads_one_hashtag(project: Project) -> None:
    project.careers(**{"channels: [outbox]": "channels: [instagram, threads]",
                       "hashtags: [careers]": "hashtags: [careers, jobs]"})
    lines = errors(project)
    assert lines == ["posts/io.md:12: hashtags: threads allows 1 hashtag(s); the caption has 2"]


def test_json_output(project: Project) -> None:
    import json

    project.careers(**{"closing_date:": "closing_dat:"})
    result = project.run("validate", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["files"] == 1
    assert doc["posts"][0]["problems"][0] == {
        "path": "posts/io.md", "line": 2, "field": "closing_date",
        "message": "missing: required for careers_promo", "severity": "error"}


def test_overlay_false_and_unknown_nested_key(project: Project) -> None:
    project.careers(**{"hashtags: [careers]": "hashtags: [careers]\noverlay: false",
                       "    alt: A desk with case notes.":
                       "    alt: A desk with case notes.\n    fcous: [0.5, 0.5]"})
    assert errors(project) == [
        "posts/io.md:12: images[0].fcous: unknown key; did you mean 'focus'?"
    ]


def test_image_rules_per_platform(project: Project) -> None:
    from tests.project import make_photo

    make_photo(project.root / "assets" / "tiny.jpg", size=(300, 300))
    project.careers(**{
        "channels: [outbox]": "channels: [instagram, x]",
        "path: photo.jpg": "path: tiny.jpg",
        "alt: A desk with case notes.": "alt: " + "A long description. " * 60,
    })
    assert errors(project) == [
        "posts/io.md:10: images[0].path: image is 300x300 pixels; cropped to the 1080:1350 frame "
        "it would be 240 pixels wide, below instagram's minimum of 320 (images are never enlarged)",
        "posts/io.md:10: images[0].path: image is 300x300 pixels; cropped to the 1200:675 frame "
        "it would be 300 pixels wide, below x's minimum of 600 (images are never enlarged)",
        "posts/io.md:11: images[0].alt: alt text is 1199 characters; instagram allows 1000",
        "posts/io.md:11: images[0].alt: alt text is 1199 characters; x allows 1000",
    ]


def test_more_images_than_the_platform_takes(project: Project) -> None:
    extra = "".join(f"  - path: photo.jpg\n    alt: Photo {n}.\n" for n in range(4))
    project.careers(**{"channels: [outbox]": "channels: [x]",
                       "hashtags: [careers]": extra.rstrip("\n") + "\nhashtags: [careers]"})
    assert errors(project) == ["posts/io.md:9: images: x takes at most 4 image(s); the post has 5"]


def test_overlay_character_the_font_cannot_draw(project: Project) -> None:
    project.careers(**{"hashtags: [careers]": "hashtags: [careers]\noverlay: {headline: 招聘 now}"})
    assert errors(project) == [
        "posts/io.md:13: overlay: the font cannot draw '招' (U+62DB), '聘' (U+8058); change the "
        "text or set [brand] font"
    ]


def test_welsh_overlay_renders_without_complaint(project: Project) -> None:
    project.careers(**{"hashtags: [careers]":
                       "hashtags: [careers]\nlanguage: cy\noverlay: {headline: \"Dŵr a thŷ — £5 ‘iawn’ €\"}"})
    result = project.run("validate")
    assert result.exit_code == 0, result.output


def test_caption_line_numbers_skip_blank_lines_after_the_front_matter(project: Project) -> None:
    project.careers(**{"---\nJoin us.": "---\n\n\nJoin us.\nA codeword here."})
    assert errors(project) == ["posts/io.md:17: caption: contains the deny-listed term 'codeword'"]
