"""Text counting as each platform counts, and the profile table."""

from __future__ import annotations

import pytest

from scheduler.platforms import (
    PROFILES,
    count_graphemes,
    count_mastodon,
    count_threads,
    count_x,
    find_urls,
)

FAMILY = "\U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466"  # ZWJ family emoji


def test_x_weights_cjk_double() -> None:
    assert count_x("abc") == 3
    assert count_x("日本語") == 6


def test_x_counts_a_zwj_emoji_sequence_as_two() -> None:
    assert count_x(FAMILY) == 2
    assert count_x("hi " + FAMILY) == 5


def test_x_counts_every_url_as_23() -> None:
    url = "https://www.example.gov.uk/careers/intelligence-officer?campaign=winter-2026"
    assert count_x(url) == 23
    assert count_x(f"Apply: {url}.") == 7 + 23 + 1


def test_x_normalises_to_nfc_first() -> None:
    # "é" as e + combining acute is one character after NFC.
    assert count_x("e\u0301") == 1


def test_x_light_ranges() -> None:
    assert count_x("\u2014\u201c\u201d") == 3  # em dash and curly quotes weigh 1
    assert count_x("ŵŷ") == 2


def test_bluesky_counts_graphemes() -> None:
    assert count_graphemes(FAMILY) == 1
    assert count_graphemes("🇬🇧") == 1
    assert count_graphemes("Cymraeg ŵ") == 9


def test_mastodon_url_is_23_and_mentions_drop_the_domain() -> None:
    url = "https://www.example.gov.uk/a/very/long/path/indeed/for/counting"
    assert count_mastodon(url) == 23
    assert count_mastodon("hi @careers@mastodon.example") == len("hi @careers")
    assert count_mastodon(FAMILY) == 1


def test_threads_counts_emoji_by_utf8_bytes() -> None:
    assert count_threads("abc") == 3
    assert count_threads("🙂") == 4
    assert count_threads(FAMILY) == len(FAMILY.encode("utf-8"))


def test_url_finder_drops_trailing_punctuation() -> None:
    assert [u for _, _, u in find_urls("see https://example.gov.uk/x).")] == [
        "https://example.gov.uk/x"
    ]


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profiles_are_consistent(name: str) -> None:
    p = PROFILES[name]
    assert p.aspect_min <= p.render_aspect <= p.aspect_max
    assert p.min_width <= p.render_size[0] <= p.max_width
    assert p.max_images >= 1 and p.alt_limit > 0 and p.image_max_bytes > 0


def test_limits_from_the_platform_notes() -> None:
    assert PROFILES["x"].text_limit == 280
    assert PROFILES["bluesky"].text_limit == 300
    assert PROFILES["bluesky"].image_max_bytes == 1_000_000
    assert PROFILES["mastodon"].text_limit == 500
    assert PROFILES["threads"].max_links == 5
    assert PROFILES["instagram"].max_hashtags == 30
    assert PROFILES["instagram"].links_clickable is False


def test_x_fast_count_agrees_with_grapheme_weights() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from scheduler.platforms import _x_weight, graphemes

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=60))
    def agree(text: str) -> None:
        import unicodedata

        nfc = unicodedata.normalize("NFC", text)
        if find_urls(nfc):
            return
        assert count_x(text) == sum(_x_weight(c) for c in graphemes(nfc))

    agree()
