"""Bluesky facets: UTF-8 byte ranges for links and hashtags."""

from __future__ import annotations

from scheduler.adapters.facets import LINK, TAG, build_facets


def spans(text: str) -> list[tuple[str, str]]:
    """Each facet as (feature type, the exact text its byte range selects)."""
    raw = text.encode("utf-8")
    out = []
    for facet in build_facets(text):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        out.append((facet["features"][0]["$type"], raw[start:end].decode("utf-8")))
    return out


def test_plain_ascii():
    text = "Apply at https://www.example.gov.uk/careers #careers"
    assert spans(text) == [(LINK, "https://www.example.gov.uk/careers"), (TAG, "#careers")]
    facets = build_facets(text)
    assert facets[0]["features"][0]["uri"] == "https://www.example.gov.uk/careers"
    assert facets[1]["features"][0]["tag"] == "careers"
    assert facets[0]["index"] == {"byteStart": 9, "byteEnd": 43}


def test_emoji_and_accents_before_link_and_tag():
    text = "Café 🚀🇬🇧 naïve Zoë 👩🏽‍💻 — https://www.example.gov.uk/é?x=1 #Sécurité"
    assert spans(text) == [(LINK, "https://www.example.gov.uk/é?x=1"), (TAG, "#Sécurité")]
    link = build_facets(text)[0]["index"]
    assert link["byteStart"] != text.index("https")  # bytes, not characters
    assert link["byteStart"] == len(text[: text.index("https")].encode("utf-8"))
    assert build_facets(text)[1]["features"][0]["tag"] == "Sécurité"


def test_welsh_and_trailing_punctuation():
    text = "Ymgeisiwch yn https://www.example.gov.uk/cy/gyrfaoedd. #GyrfaoeddDiogelwch!"
    assert spans(text) == [
        (LINK, "https://www.example.gov.uk/cy/gyrfaoedd"),
        (TAG, "#GyrfaoeddDiogelwch"),
    ]


def test_fragment_in_link_is_not_a_tag_and_numbers_are_not_tags():
    text = "See https://www.example.gov.uk/page#section and #2026 but #io2026"
    assert spans(text) == [(LINK, "https://www.example.gov.uk/page#section"), (TAG, "#io2026")]


def test_several_links_in_order_and_nothing_found():
    text = "#first https://a.example/1 then https://b.example/2"
    assert [s for _, s in spans(text)] == ["#first", "https://a.example/1", "https://b.example/2"]
    assert build_facets("no links here, just text & a C# mention") == []


def test_overlong_tag_is_left_as_text():
    assert build_facets("#" + "a" * 65) == []
    assert spans("#" + "a" * 64) == [(TAG, "#" + "a" * 64)]
