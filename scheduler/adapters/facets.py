"""Bluesky rich-text facets: which byte ranges of a post are links and hashtags.

On Bluesky a link or a hashtag in the text is plain text unless a facet marks it, and a
facet's range counts **UTF-8 bytes**, not characters: an emoji or an accented letter
before a link shifts it. The server does not check the ranges, so a wrong one silently
breaks the link (https://docs.bsky.app/docs/advanced-guides/post-richtext). This module
finds links and tags with the same patterns validation uses (:mod:`scheduler.platforms`)
and turns their character positions into byte positions.

Mentions are left as plain text: a mention facet needs the account's DID, which means a
network lookup that does not belong in a pure function.
"""

from __future__ import annotations

from typing import Any

from scheduler.platforms import HASHTAG_RE, find_urls, graphemes

LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"
# app.bsky.richtext.facet#tag: maxLength 640 bytes, maxGraphemes 64.
_TAG_MAX_GRAPHEMES = 64
_TAG_MAX_BYTES = 640


def byte_offset(text: str, char_index: int) -> int:
    """UTF-8 byte position of the character at ``char_index``."""
    return len(text[:char_index].encode("utf-8"))


def build_facets(text: str) -> list[dict[str, Any]]:
    """Facets for every https/http link and hashtag in ``text``, in text order.

    Each facet is ``{"index": {"byteStart", "byteEnd"}, "features": [...]}`` with
    ``byteStart`` inclusive and ``byteEnd`` exclusive, as the lexicon defines them
    (https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/richtext/facet.json).
    A tag's ``tag`` value has no leading ``#``.
    """
    spans: list[tuple[int, int, dict[str, Any]]] = []
    links = find_urls(text)
    for start, end, url in links:
        spans.append((start, end, {"$type": LINK, "uri": url}))
    for match in HASHTAG_RE.finditer(text):
        start, end = match.span()
        if any(ls <= start < le for ls, le, _ in links):
            continue  # a '#fragment' inside a link belongs to the link
        tag = match.group(1)
        if len(graphemes(tag)) > _TAG_MAX_GRAPHEMES or len(tag.encode("utf-8")) > _TAG_MAX_BYTES:
            continue  # the lexicon would refuse the whole post; leave it as text
        spans.append((start, end, {"$type": TAG, "tag": tag}))
    spans.sort(key=lambda s: s[0])
    return [
        {
            "index": {"byteStart": byte_offset(text, start), "byteEnd": byte_offset(text, end)},
            "features": [feature],
        }
        for start, end, feature in spans
    ]
