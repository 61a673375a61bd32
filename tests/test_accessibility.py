"""Accessible-writing checks: each one with the exact message the user sees."""

from __future__ import annotations

import pytest

from tests.project import BASE_CONFIG, Project

LATER = {"2026-12-01 09:00": "2036-12-01 09:00", "2026-12-14": "2036-12-14"}


def warnings(project: Project, **replace: str) -> list[str]:
    project.careers(**LATER, **replace)
    result = project.run("validate")
    assert result.exit_code == 0, result.output
    return [line.removeprefix("warning: ") for line in result.stderr.splitlines()
            if line.startswith("warning: ")]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("hashtags: [careers]", "hashtags: [securityservicejobs]",
         "posts/io.md:14: caption: hashtag #securityservicejobs runs words together in lower "
         "case: screen readers read it as one long word; capitalise each word (CamelCase): "
         "#SecurityServiceJobs"),
        ("Join us.", "Join us 🚀 🚀 🚀 🚀 today.",
         "posts/io.md:14: caption: 4 emoji; screen readers read out each one's full name, so "
         "use at most 3 ([policy] max_emoji)"),
        ("Join us.", "Join us 🚀 today.",
         "posts/io.md:14: caption: emoji 🚀 in the middle of a sentence: a screen reader stops "
         "to read its name and the sentence loses its thread; move it to the end"),
        ("Join us.", "Join 𝐮𝐬 today.",
         "posts/io.md:14: caption: '𝐮𝐬' is written in styled Unicode letters: screen readers "
         "spell them out one by one or skip them, and search cannot find them; use ordinary "
         "letters"),
        ("Join us.", "Join us TODAY, or APPLY by Friday.",
         "posts/io.md:14: caption: 'TODAY' is in capitals: capitals are harder to read and "
         "some screen readers spell them out letter by letter; write it in ordinary case"),
        ("Join us.", "Join us " + "and help " * 12 + "today.",
         "posts/io.md:14: caption: the sentence starting 'Join us and help and' has 27 words: "
         "long sentences are hard to follow; split it into sentences of at most 25 words"),
        ("Join us.", "Join us. Read https://www.example.gov.uk/about first.",
         "posts/io.md:14: caption: 2 links: each one is read out in full and the reader must "
         "choose; keep one link and move the others to the page it leads to"),
        ("alt: A desk with case notes.", "alt: Image of a desk with case notes.",
         "posts/io.md:11: images[0].alt: alt text starts 'Image of': screen readers already "
         "say it is an image; start with what it shows"),
        ("alt: A desk with case notes.", "alt: Join us at the careers fair.",
         "posts/io.md:11: images[0].alt: the alt text repeats the caption: a screen-reader user "
         "hears it twice and learns nothing about the picture; describe what the image shows"),
    ],
)
def test_each_check_says_why_and_how(project: Project, old: str, new: str,
                                     expected: str) -> None:
    if "careers fair" in new:
        project.careers(**LATER)  # caption and alt text say the same thing
        replace = {old: new, "Join us.": "Join us at the careers fair."}
    else:
        replace = {old: new}
    assert warnings(project, **replace) == [expected]


@pytest.mark.parametrize("tag", ["apprenticeships", "careers", "gyrfaoedd", "CyberJobs", "jobs"])
def test_single_words_and_other_languages_are_not_flagged(project: Project, tag: str) -> None:
    assert warnings(project, **{"hashtags: [careers]": f"hashtags: [{tag}]"}) == []


def test_emoji_at_the_end_and_acronyms_pass(project: Project) -> None:
    assert warnings(project, **{"Join us.": "Join GCHQ and MI5 at the NHS fair. 🚀"}) == []


def test_error_policy_makes_them_problems(project: Project) -> None:
    project.write_config(base=BASE_CONFIG.replace("[policy]\n",
                                                  '[policy]\naccessibility = "error"\n'))
    project.careers(**LATER, **{"Join us.": "Join us TODAY."})
    result = project.run("validate")
    assert result.exit_code == 1
    assert ("posts/io.md:14: caption: 'TODAY' is in capitals: capitals are harder to read and "
            "some screen readers spell them out letter by letter; write it in ordinary case"
            ) in result.stderr.splitlines()
