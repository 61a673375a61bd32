"""Hostile post files and settings: each test is one attack on the content side.

Every test runs the real command line over a real project folder and asserts the exact
sentence a person sees. Read the test names as the list of attacks postq withstands.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import hypothesis
import pytest
from hypothesis import strategies as st

from tests.project import BASE_CONFIG, Project


def errors(project: Project, *args: str) -> list[str]:
    result = project.run("validate", *args)
    assert result.exit_code == 1, result.output
    return [line for line in result.stderr.splitlines()
            if not line.endswith("file(s).") and not line.startswith("warning: ")]


def careers(project: Project, **replace: str) -> None:
    project.careers(**replace)


# -- 9.2: YAML types -------------------------------------------------------------------

def test_binary_apply_url_is_refused(project: Project) -> None:
    evil = base64.b64encode(b"https://evil.example/phish").decode()
    careers(project, **{"apply_url: https://www.example.gov.uk/careers/io":
                        f"apply_url: !!binary {evil}"})
    assert errors(project) == [
        "posts/io.md:8: apply_url: YAML tag !!binary is not allowed; post files hold text, "
        "numbers, true/false, dates, lists and key: value maps only"]


@pytest.mark.parametrize(("value", "tag"), [
    ("!!set {a: null}", "!!set"),
    ("!!python/name:os.system", "!!python/name:os.system"),
    ("!!omap [{a: 1}]", "!!omap"),
    ("!custom x", "!custom"),
])
def test_non_plain_yaml_tags_are_refused(project: Project, value: str, tag: str) -> None:
    careers(project, **{"role: Intelligence Officer": f"role: {value}"})
    assert errors(project) == [
        f"posts/io.md:6: role: YAML tag {tag} is not allowed; post files hold text, "
        "numbers, true/false, dates, lists and key: value maps only"]


# -- 13.2: numbers where text is meant ----------------------------------------------------

def test_numbers_in_text_fields_are_kept_as_written(project: Project) -> None:
    project.post("ex.md", """\
---
kind: archive_exhibit
id: ex
publish_at: 2026-12-08 12:30
channels: [outbox]
exhibit: Cipher machine
era: 1943
catalogue_ref: 0042
cleared_for_release: true
clearance_ref: 7
images:
  - path: photo.jpg
    alt: 1.50
---
From the archive.
""")
    careers(project, **{"role: Intelligence Officer": "role: Analyst\nsalary: 40000"})
    result = project.run("validate")
    assert result.exit_code == 0, result.output
    from scheduler.content.loader import read_post

    raw = read_post(project.root / "posts" / "ex.md").model
    assert (raw.era, raw.catalogue_ref, raw.clearance_ref, raw.images[0].alt) == (
        "1943", "0042", "7", "1.50")


# -- 9.11: YAML bombs --------------------------------------------------------------------

def test_yaml_alias_bomb_is_refused_at_once(project: Project) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}]\n" for i in range(9))
    project.post("bomb.md", "---\nkind: careers_promo\n" + bomb + "---\nx\n")
    started = time.perf_counter()
    lines = errors(project)
    assert time.perf_counter() - started < 2.0
    assert lines == ["posts/bomb.md:4: YAML aliases (*name) are not allowed; write the "
                     "value out"]


def test_merge_key_is_refused(project: Project) -> None:
    careers(project, **{"role: Intelligence Officer": "role: Intelligence Officer\n"
                        "<<: {location: London}"})
    assert errors(project) == [
        "posts/io.md:7: YAML merge keys (<<) are not allowed; write the keys out"]


# -- 9.15: duplicate keys ----------------------------------------------------------------

def test_duplicate_key_is_an_error(project: Project) -> None:
    careers(project, **{"role: Intelligence Officer":
                        "role: Intelligence Officer\napply_url: https://evil.example/x"})
    assert errors(project) == ["posts/io.md:9: apply_url: duplicate key; each key may "
                               "appear once"]


def test_duplicate_key_in_nested_map_is_an_error(project: Project) -> None:
    careers(project, **{"    alt: A desk with case notes.":
                        "    alt: A desk with case notes.\n    alt: Codeword"})
    assert errors(project) == ["posts/io.md:12: images[0].alt: duplicate key; each key may "
                               "appear once"]


# -- 9.5: deny-list evasion --------------------------------------------------------------

@pytest.mark.parametrize("disguised", [
    "C\u043edeword",  # Cyrillic o
    "\uff23\uff4f\uff44\uff45\uff57\uff4f\uff52\uff44",  # fullwidth
    "\U0001d402\U0001d428\U0001d41d\U0001d41e\U0001d430\U0001d428\U0001d42b\U0001d41d",  # bold
    "Co\u0301deword",  # combining accent
])
def test_deny_term_disguised_with_lookalike_letters(project: Project, disguised: str) -> None:
    careers(project, **{"Join us.": f"Join us. {disguised} today."})
    assert errors(project) == ["posts/io.md:14: caption: contains the deny-listed term "
                               "'codeword'"]


def test_deny_term_split_by_spaces_and_line_breaks(project: Project) -> None:
    careers(project, **{"Join us.": "Join us, we are not\nTOP \u00a0\n   SECRET at all."})
    assert errors(project) == ["posts/io.md:15: caption: contains the deny-listed term "
                               "'top secret'"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("hashtags: [careers]",
     "hashtags: [careers]\noverrides:\n  outbox:\n    caption: C\u043eDE\u00a0 WORD inside",
     "posts/io.md:15: overrides.outbox.caption: contains the deny-listed term 'code word'"),
    ("hashtags: [careers]",
     "hashtags: [careers]\noverrides:\n  outbox:\n    hashtags: [\u0421odeword]",
     "posts/io.md:15: overrides.outbox.hashtags[0]: contains the deny-listed term "
     "'codeword'"),
    ("alt: A desk with case notes.", "alt: A desk with c\u043ede\n      word notes.",
     "posts/io.md:11: images[0].alt: contains the deny-listed term 'code word'"),
    ("hashtags: [careers]", "hashtags: [careers]\noverlay: {headline: \"C\u043ede word\"}",
     None),
])
def test_deny_term_in_overrides_hashtags_alt_and_overlay(
        project: Project, old: str, new: str, expected: str | None) -> None:
    project.write_config(base=BASE_CONFIG.replace(
        'deny_terms_file = "policy/deny-terms.txt"', 'deny_terms = ["code word", "codeword"]'))
    careers(project, **{old: new})
    lines = errors(project)
    if expected is None:
        assert lines == ["posts/io.md:13: overlay.headline: contains the deny-listed term "
                         "'code word'"]
    else:
        assert lines == [expected]


@pytest.mark.parametrize(("char", "name"), [
    ("\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("\u00ad", "U+00AD (SOFT HYPHEN)"),
    ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\u2066", "U+2066 (LEFT-TO-RIGHT ISOLATE)"),
])
def test_invisible_and_bidi_characters_are_an_error(project: Project, char: str,
                                                    name: str) -> None:
    careers(project, **{"Intelligence Officer": f"Intelligence{char} Officer"})
    assert errors(project) == [
        f"posts/io.md:6: role: contains {name}: control, invisible and bidirectional "
        "characters can hide text from reviewers and rules; remove them"]


def test_emoji_joiners_and_the_welsh_flag_are_text(project: Project) -> None:
    careers(project, **{"Join us.": "Join us \U0001f469\u200d\U0001f4bb "
                        "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073"
                        "\U000e007f"})
    result = project.run("validate")
    assert result.exit_code == 0, result.output


# -- 9.7: control characters ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [
    ("Join us.\x1b[8m hidden", "U+001B (control character \\x1b)"),
    ("Join us.\x00", "U+0000 (control character \\x00)"),
    ("Join us.\rOverwritten", "U+000D (control character \\x0d)"),
    ("Join us.\x85", "U+0085 (control character \\x85)"),
])
def test_control_characters_in_the_caption_are_an_error(project: Project, text: str,
                                                       name: str) -> None:
    careers(project, **{"Join us.": text})
    assert errors(project) == [
        f"posts/io.md:14: caption: contains {name}: control, invisible and bidirectional "
        "characters can hide text from reviewers and rules; remove them"]


def test_escape_sequence_written_as_yaml_escape_is_an_error(project: Project) -> None:
    careers(project, **{"role: Intelligence Officer": 'role: "Officer\\e[8m secret"'})
    assert errors(project) == [
        "posts/io.md:6: role: contains U+001B (control character \\x1b): control, invisible "
        "and bidirectional characters can hide text from reviewers and rules; remove them"]


# -- 9.6 and 10.6: links without https:// ---------------------------------------------------

@pytest.mark.parametrize(("caption", "host"), [
    ("Apply at evil.example/apply today.", "evil.example"),
    ("Apply at www.evil-careers.co.uk today.", "www.evil-careers.co.uk"),
    ("Apply at //evil.example today.", "evil.example"),
    ("Apply at evil-careers.com.", "evil-careers.com"),
])
def test_links_without_https_still_meet_the_allow_list(project: Project, caption: str,
                                                       host: str) -> None:
    careers(project, **{"Join us.": caption})
    assert errors(project) == [
        f"posts/io.md:14: caption: link host '{host}' is not on the allow-list ([policy] "
        "link_hosts: example.gov.uk, www.example.gov.uk)"]


def test_apply_url_with_a_second_link_after_a_space(project: Project) -> None:
    careers(project, **{"apply_url: https://www.example.gov.uk/careers/io":
                        "apply_url: https://www.example.gov.uk/careers/io evil.example/x"})
    assert errors(project) == [
        "posts/io.md:8: apply_url: must be one https link and nothing else, e.g. "
        "https://www.example.gov.uk/careers",
        "posts/io.md:8: apply_url: link host 'evil.example' is not on the allow-list "
        "([policy] link_hosts: example.gov.uk, www.example.gov.uk)"]


def test_x_counts_a_bare_domain_as_23_characters(project: Project) -> None:
    # 253 letters, a space and a bare link (23 on X) = 277; the apply_url adds 2 + 23.
    body = "a" * 253 + " www.example.gov.uk/careers"
    careers(project, **{"channels: [outbox]": "channels: [x]", "Join us.": body,
                        "hashtags: [careers]": "hashtags: []",
                        "images:\n  - path: photo.jpg\n    alt: A desk with case notes.\n":
                        ""})
    assert errors(project) == ["posts/io.md:11: caption: the caption for x is 302 weighted "
                               "(URL 23, CJK and emoji 2) long; x allows 280"]


def test_threads_counts_bare_domains_towards_five_links(project: Project) -> None:
    links = " ".join(f"www.example.gov.uk/{n}" for n in range(5))
    careers(project, **{"channels: [outbox]": "channels: [threads]",
                        "Join us.": links, "hashtags: [careers]": "hashtags: []"})
    assert errors(project) == ["posts/io.md:14: caption: threads allows 5 links; the caption "
                               "has 6"]


def test_bluesky_caption_over_3000_bytes(project: Project) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 25 bytes, 1
    careers(project, **{"channels: [outbox]": "channels: [bluesky]",
                        "Join us.": family * 125, "hashtags: [careers]": "hashtags: []"})
    assert errors(project) == ["posts/io.md:14: caption: the caption for bluesky is 3,164 "
                               "bytes in UTF-8; bluesky allows 3,000"]


# -- 9.2: the rules run on the values the snapshot sends ------------------------------------

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@hypothesis.settings(max_examples=40, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture,
                                            hypothesis.HealthCheck.filter_too_much])
@hypothesis.given(body=_TEXT, role=_TEXT, override=_TEXT, tags=st.lists(
    st.from_regex(r"[A-Za-z\u00c0-\u024f][A-Za-z0-9_\u00c0-\u024f]{0,10}", fullmatch=True),
    max_size=3))
def test_policy_checks_see_exactly_the_strings_the_snapshot_sends(
        project: Project, body: str, role: str, override: str, tags: list[str]) -> None:
    from scheduler.config import load
    from scheduler.content.loader import read_post
    from scheduler.content.pipeline import snapshot_post
    from scheduler.content.rules import RuleContext, run_rules
    from scheduler.content.validate import CheckedPost

    path = project.post("p.md", f"""\
---
kind: careers_promo
id: p
publish_at: 2026-12-01 09:00
channels: [outbox, x, mastodon]
role: {json.dumps(role)}
closing_date: 2026-12-14
apply_url: https://www.example.gov.uk/careers/io
hashtags: {json.dumps(tags)}
overrides:
  x:
    caption: {json.dumps(override)}
---
{body}
""")
    settings = load(project.config)
    ctx = RuleContext.create(settings)
    loaded = read_post(path)
    times = run_rules(loaded, ctx)
    hypothesis.assume(not loaded.problems)
    snapshot = snapshot_post(CheckedPost(loaded, times), settings, ctx.registry)
    sent = {c.caption for c in snapshot.channels} | {i.alt for c in snapshot.channels
                                                     for i in c.images}
    assert sent <= ctx.checked_texts


# -- 9.13: inputs that gave a traceback --------------------------------------------------

@pytest.mark.parametrize(("path", "expected"), [
    ('"photo\\0.jpg"', "posts/io.md:10: images[0].path: contains U+0000 (control character "
     "\\x00): control, invisible and bidirectional characters can hide text from reviewers "
     "and rules; remove them"),
    ("a" * 6000 + ".jpg", "posts/io.md:10: images[0].path: '" + "a" * 40 + "...' is not a "
     "usable file name (at most 1024 characters, no NUL)"),
    ("a" * 300 + ".jpg", "posts/io.md:10: images[0].path: cannot open assets/" + "a" * 300
     + ".jpg: File name too long"),
])
def test_nul_and_very_long_image_paths(project: Project, path: str, expected: str) -> None:
    careers(project, **{"path: photo.jpg": f"path: {path}"})
    assert errors(project) == [expected]


def test_reminder_of_ninety_nine_billion_days(project: Project) -> None:
    project.post("qa.md", """\
---
kind: qa_announcement
id: qa
publish_at: 2026-12-03 17:00
channels: [outbox]
topic: Life as an officer
event_at: 2026-12-10 18:00
host: a serving officer
venue: Instagram Live
reminders: ["-99999999999d"]
---
Ask us anything.
""")
    assert errors(project) == ["posts/qa.md:10: reminders[0]: '-99999999999d' is longer "
                               "than 36,500 days"]


@pytest.mark.parametrize("when", ["0001-01-01 00:30+01:00", "9999-12-31 23:30-01:00",
                                  "'0001-01-01T00:10:00+00:30'"])
def test_years_1_and_9999_with_offsets(project: Project, when: str) -> None:
    careers(project, **{"publish_at: 2026-12-01 09:00": f"publish_at: {when}"})
    shown = when.strip("'")
    assert errors(project) == [f"posts/io.md:4: publish_at: '{shown}' is outside the years "
                               "1970 to 9998"]


def test_closing_date_in_year_9999(project: Project) -> None:
    careers(project, **{"closing_date: 2026-12-14": "closing_date: 9999-12-31"})
    assert errors(project) == ["posts/io.md:7: closing_date: 9999-12-31 is outside the years "
                               "1970 to 9998"]


def test_queue_add_at_plus_ninety_nine_billion_days(project: Project) -> None:
    project.careers()
    result = project.run("queue", "add", "posts/io.md", "--at", "+99999999999d")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: '99999999999d' is longer than 36,500 days")


@pytest.mark.parametrize("key", ["late_grace", "retry_base", "stale_after"])
def test_huge_durations_in_postq_toml(project: Project, key: str) -> None:
    project.careers()
    project.write_config(base=BASE_CONFIG.replace(
        'data_dir = ".postq"', f'data_dir = ".postq"\n{key} = "99999999999999d"'))
    result = project.run("validate")
    assert result.exit_code == 1
    assert result.stderr.strip().endswith(
        f"postq.toml: postq.{key}: '99999999999999d' is longer than 36,500 days")


# -- 9.15: validate and queue add agree -----------------------------------------------------

def test_quoted_closing_date_before_publishing(project: Project) -> None:
    careers(project, **{"closing_date: 2026-12-14": 'closing_date: "2026-11-14"'})
    assert errors(project) == [
        "posts/io.md:7: closing_date: 2026-11-14 is on or before the publish time 2026-12-01 "
        "09:00; a careers post is never published on or after its closing date"]


@pytest.mark.parametrize("name", ["bad.jpg", "bad.png"])
def test_corrupt_image_that_passes_the_header_probe(project: Project, name: str) -> None:
    from PIL import Image

    good = project.root / "assets" / f"good{name[-4:]}"
    Image.new("RGB", (1600, 1200), "#336699").save(good)
    data = good.read_bytes()
    (project.root / "assets" / name).write_bytes(data[: len(data) // 2])
    careers(project, **{"path: photo.jpg": f"path: {name}"})
    expected = f"{project.root / 'assets' / name}: the image data is truncated or corrupt"
    assert errors(project) == [f"posts/io.md:10: images[0].path: {expected}"]
    added = project.run("queue", "add", "posts/io.md")
    assert added.exit_code == 1
    assert added.stderr.splitlines() == [f"error: posts/io.md:10: images[0].path: {expected}"]


def test_empty_image_path(project: Project) -> None:
    careers(project, **{"path: photo.jpg": 'path: ""'})
    assert errors(project) == ["posts/io.md:10: images[0].path: empty: give the image's file "
                               "name inside assets/"]


@pytest.mark.parametrize("stem", ["job@outbox", "a" * 251])
def test_ids_from_file_names_follow_the_id_rules(project: Project, stem: str) -> None:
    project.careers(f"{stem}.md", **{"id: io\n": ""})
    assert errors(project) == [
        f"posts/{stem}.md:1: id: the file name '{stem}' is not a valid id (lower-case "
        "letters, digits and hyphens, at most 80); rename the file or add an id: line"]


def _write_grey_png(path: Path, side: int) -> None:
    """A large grey PNG written row by row, so making it costs no memory of its own."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    squeeze = zlib.compressobj(9)
    row = b"\0" + b"\x80" * side
    idat = b"".join(squeeze.compress(row) for _ in range(side)) + squeeze.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n"
                     + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def test_png_header_probe_does_not_decode_the_image(tmp_path: Path) -> None:
    from scheduler.media import probe_image

    big = tmp_path / "big.png"
    _write_grey_png(big, 9000)
    started = time.perf_counter()
    info = probe_image(big)
    assert time.perf_counter() - started < 0.25
    assert (info.width, info.height, info.format) == (9000, 9000, "png")


# -- 9.11: settings that point at endless or huge files -----------------------------------

@pytest.mark.parametrize(("section", "key", "setting"), [
    ("[policy]", "deny_terms_file", "policy.deny_terms_file"),
    ("[brand]", "font", "[brand] font"),
    ("[brand]", "logo", "[brand] logo"),
])
def test_settings_pointing_at_dev_zero(project: Project, section: str, key: str,
                                       setting: str) -> None:
    project.careers()
    base = BASE_CONFIG.replace('deny_terms_file = "policy/deny-terms.txt"\n', "")
    if section == "[brand]":
        base += f'\n[brand]\n{key} = "/dev/zero"\n'
    else:
        base = base.replace("[policy]\n", f'[policy]\n{key} = "/dev/zero"\n')
    project.write_config(base=base)
    started = time.perf_counter()
    result = project.run("validate")
    assert time.perf_counter() - started < 5.0
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {project.config}: {setting}: /dev/zero is not a regular file"]


def test_deny_terms_file_of_two_megabytes(project: Project) -> None:
    project.careers()
    (project.root / "policy" / "deny-terms.txt").write_bytes(b"x\n" * (1024 * 1024))
    result = project.run("validate")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: {project.config}: policy.deny_terms_file: "
        f"{project.root / 'policy' / 'deny-terms.txt'} is 2,097,152 bytes; the limit is "
        "1,048,576"]


# -- 9.7: commands print control characters visibly -----------------------------------------

@pytest.fixture
def hidden_caption(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """'io' queued (as a store written by an older version or by hand would hold it) with
    an escape sequence that would hide the rest of the line in a terminal."""
    from datetime import UTC, datetime, timedelta

    from scheduler.config import load_settings
    from scheduler.store import Store
    from tests.test_store_support import snap

    monkeypatch.setenv("POSTQ_USER", "alice")
    store = Store.open(load_settings(project.config))
    due = datetime.now(UTC) + timedelta(days=3)
    store.add(snap("io", ("outbox",), caption="Join us.\x1b[8m hidden\u202e"), due_at=due)
    store.close()
    monkeypatch.delenv("POSTQ_USER")
    return project


def test_escape_sequence_in_queue_show(hidden_caption: Project) -> None:
    out = hidden_caption.run("queue", "show", "io").stdout
    assert "\x1b" not in out and "\u202e" not in out
    assert "Join us.\\x1b[8m hidden\\u202e (outbox)" in out


def test_escape_sequence_in_run_dry_run(hidden_caption: Project,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTQ_USER", "bob")
    assert hidden_caption.run("approve", "io").exit_code == 0
    from datetime import UTC, datetime, timedelta

    from scheduler.config import load_settings
    from scheduler.store import Store

    store = Store.open(load_settings(hidden_caption.config))
    store.reschedule("io", datetime.now(UTC) + timedelta(seconds=1))
    store.close()
    time.sleep(1.2)
    out = hidden_caption.run("run", "--dry-run").stdout
    assert "\x1b" not in out
    assert "    | Join us.\\x1b[8m hidden\\u202e (outbox)" in out.splitlines()


def test_formula_and_escape_in_log_and_csv(hidden_caption: Project,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTQ_USER", "bob")
    reason = '=HYPERLINK("https://evil.example","x")\x1b[8m'
    assert hidden_caption.run("reject", "io", "--reason", reason).exit_code == 0
    table = hidden_caption.run("log", "io").stdout
    assert "\x1b" not in table and '\\x1b[8m' in table
    rows = hidden_caption.run("log", "io", "--csv").stdout
    assert "\x1b" not in rows
    assert ('"\'=HYPERLINK(""https://evil.example"",""x"")\\x1b[8m"' in rows)


@pytest.mark.parametrize("value", ["www.example.gov.uk/careers/io", "//www.example.gov.uk/io"])
def test_apply_url_without_a_scheme(project: Project, value: str) -> None:
    careers(project, **{"apply_url: https://www.example.gov.uk/careers/io":
                        f"apply_url: {value}"})
    assert errors(project) == [
        f"posts/io.md:8: apply_url: write the link in full: https://{value.strip('/')}"]


def test_publish_time_limits_count_bare_links_and_bluesky_bytes(tmp_path: Path) -> None:
    """The check adapters run on the snapshot just before sending uses the same finder."""
    from datetime import UTC, datetime

    from scheduler.adapters.base import OutgoingPost
    from scheduler.adapters.outbox import OutboxAdapter, OutboxSettings
    from scheduler.platforms import get_profile

    adapter = OutboxAdapter("c", OutboxSettings(adapter="outbox", path=str(tmp_path)))

    def post(caption: str) -> OutgoingPost:
        return OutgoingPost("d", "p", "c", caption, (), "en", "h", datetime.now(UTC))

    threads, bluesky = get_profile("threads"), get_profile("bluesky")
    links = " ".join(f"www.example.gov.uk/{n}" for n in range(6))
    assert adapter.fit_problems(post(links), threads, "Threads") == [
        "6 links; Threads allows 5"]
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert adapter.fit_problems(post(family * 121), bluesky, "Bluesky") == [
        "the caption is 3,025 bytes in UTF-8; Bluesky allows 3,000"]


def test_bluesky_links_a_bare_domain_with_its_https_address() -> None:
    """Bluesky's app links bare domains too; the facet carries the address a browser opens
    and the byte range of the text as written."""
    from scheduler.adapters.facets import build_facets

    text = "Café jobs: www.example.gov.uk/careers."
    (facet,) = build_facets(text)
    start = len("Café jobs: ".encode())
    assert facet == {"index": {"byteStart": start,
                               "byteEnd": start + len(b"www.example.gov.uk/careers")},
                     "features": [{"$type": "app.bsky.richtext.facet#link",
                                   "uri": "https://www.example.gov.uk/careers"}]}


def test_platform_error_with_escapes_in_queue_list_and_status(hidden_caption: Project) -> None:
    """A delivery's note is the platform's answer (last_error) and a pause's reason is
    typed text: ``queue list`` and ``status`` write their controls as escapes."""
    import sqlite3

    db = hidden_caption.root / ".postq" / "queue.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET last_error = 'HTTP 502\x1b[8m hidden\u202e'")
    for command in (("queue", "list"), ("status",)):
        out = hidden_caption.run(*command).stdout
        assert "\x1b" not in out and "\u202e" not in out, command
    assert "HTTP 502\\x1b[8m hidden\\u202e" in hidden_caption.run("queue", "list").stdout
