"""Tracked links: UTM parameters added to each allowed link of a channel's caption.

Tagging happens while the caption is composed, so what is counted, validated, stored in
the snapshot (and covered by its content hash) and published is the tagged text. Only
links to ``[policy] link_hosts`` are tagged: another site's address is never changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from scheduler.platforms import find_urls


def utm_params(settings: Any, channel: str, platform: str, model: Any) -> dict[str, str]:
    """The ``utm_*`` parameters for one channel, templates filled in."""
    values = {"channel": channel, "platform": platform, "id": model.id,
              "kind": model.kind, "language": model.language}
    return {f"utm_{k}": t.format(**values)
            for k, t in settings.links.template_for(channel).items()}


def tag_url(url: str, params: dict[str, str]) -> str:
    """``url`` as written, with ``params`` added to its query (before any fragment).

    A parameter the link already carries is kept as the author wrote it."""
    head, hash_mark, fragment = url.partition("#")
    parts = urlsplit(head if "://" in head or head.startswith("//") else "https://" + head)
    have = {k for k, _v in parse_qsl(parts.query, keep_blank_values=True)}
    extra = {k: v for k, v in params.items() if k not in have}
    if not extra:
        return url
    joiner = "&" if parts.query else ("" if head.endswith("?") else "?")
    if not parts.path and not parts.query:
        joiner = "/" + joiner  # a bare host takes a path before its query
    return head + joiner + urlencode(extra) + hash_mark + fragment


def tag_links(text: str, params: dict[str, str], allowed_hosts: list[str]) -> str:
    """Every link in ``text`` to an allowed host, tagged with ``params``."""
    if not params:
        return text
    allowed = {h.lower().rstrip(".") for h in allowed_hosts}
    out, last = [], 0
    for start, end, href in find_urls(text):
        try:
            host = (urlsplit(href).hostname or "").lower().rstrip(".")
        except ValueError:
            continue
        if host not in allowed:
            continue
        out += [text[last:start], tag_url(text[start:end], params)]
        last = end
    out.append(text[last:])
    return "".join(out)

