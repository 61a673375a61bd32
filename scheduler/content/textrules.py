"""Text rules: the deny list and the link allow-list, over every field and what is sent.

Both compare what the platforms will see: deny-listed terms in the folded form of
:func:`scheduler.textsafety.fold`, and links as :func:`scheduler.platforms.find_urls`
finds them (bare domains included), in each field and in each composed caption.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from scheduler.content.context import RuleContext
from scheduler.content.loader import LoadedPost
from scheduler.platforms import find_urls
from scheduler.textsafety import fold


def _texts(post: LoadedPost) -> Iterator[tuple[str, str]]:
    """Every piece of human-readable text in the post, with its field path."""
    raw = post.raw
    if post.body:
        yield "caption", post.body
    for key, value in raw.items():
        if key in ("images", "overlay", "overrides", "hashtags", "channels", "kind", "id",
                   "thread"):
            continue
        if isinstance(value, str):
            yield key, value
    images, overlay, overrides, tags = (raw.get(k) for k in ("images", "overlay", "overrides",
                                                            "hashtags"))
    for i, img in enumerate(images if isinstance(images, list) else []):
        if isinstance(img, dict) and isinstance(img.get("alt"), str):
            yield f"images[{i}].alt", img["alt"]
    if isinstance(overlay, dict):
        for k in ("headline", "subline"):
            if isinstance(overlay.get(k), str):
                yield f"overlay.{k}", overlay[k]
    for ch, ov in (overrides.items() if isinstance(overrides, dict) else ()):
        if isinstance(ov, dict) and isinstance(ov.get("caption"), str):
            yield f"overrides.{ch}.caption", ov["caption"]
        ov_tags = ov.get("hashtags") if isinstance(ov, dict) else None
        for i, tag in enumerate(ov_tags if isinstance(ov_tags, list) else []):
            if isinstance(tag, str):
                yield f"overrides.{ch}.hashtags[{i}]", tag
    for i, tag in enumerate(tags if isinstance(tags, list) else []):
        if isinstance(tag, str):
            yield f"hashtags[{i}]", tag
    thread = raw.get("thread")
    for i, part in enumerate(thread if isinstance(thread, list) else []):
        if isinstance(part, str):
            yield f"thread[{i}]", part


def _fold_line(post: LoadedPost, text: str, hit: str) -> int:
    """The body line a folded deny-list hit starts on (it may span line breaks)."""
    lines = text.split("\n")
    end = next((i for i in range(len(lines)) if hit in fold("\n".join(lines[: i + 1]))), 0)
    start = next((s for s in range(end, -1, -1) if hit in fold("\n".join(lines[s:end + 1]))),
                 end)
    return post.body_line + start


def check_text(post: LoadedPost, ctx: RuleContext) -> None:
    """Links (https, allow-listed host) and deny-listed terms in every text field."""
    for field_name, text in _texts(post):
        check_one_text(post, ctx, field_name, text)


def check_one_text(post: LoadedPost, ctx: RuleContext, field_name: str, text: str,
                   line: int | None = None) -> None:
    """The deny list and the link allow-list over one string, as it will be sent."""
    allowed = {h.lower().rstrip(".") for h in ctx.settings.policy.link_hosts}
    in_body = field_name == "caption" and line is None
    hit = ctx.deny_hit(text)
    if hit:
        post.problem(field_name, f"contains the deny-listed term '{hit}'",
                     _fold_line(post, text, hit) if in_body else line)
    links = find_urls(text)
    if field_name in ("apply_url", "questions_url"):
        whole = len(links) == 1 and links[0][0] == 0 and links[0][1] == len(text.strip())
        if not whole:
            post.problem(field_name, "must be one https link and nothing else, e.g. "
                         "https://www.example.gov.uk/careers", line)
        elif "://" not in text:
            # A bare domain is a link to the platforms, but they open it as http://.
            post.problem(field_name, f"write the link in full: https://{text.strip('/')}",
                         line)
        if not links:
            links = ((0, len(text), text),)
    for start, _end, url in links:
        where = post.body_line + text[:start].count("\n") if in_body else line
        parts = urlsplit(url)
        if parts.scheme.lower() != "https":
            post.problem(field_name, f"link {url} is not https", where)
            continue
        try:
            host = (parts.hostname or "").lower().rstrip(".")
            port = parts.port
        except ValueError:
            post.problem(field_name, f"link {url} is not a valid address", where)
            continue
        if not host or host not in allowed:
            listed = ", ".join(sorted(allowed)) or "none configured"
            post.problem(field_name, f"link host '{host}' is not on the allow-list "
                         f"([policy] link_hosts: {listed})", where)
        elif parts.username or parts.password or port not in (None, 443):
            post.problem(field_name, f"link {url} carries credentials or a port", where)


def check_sent(post: LoadedPost, ctx: RuleContext, field_name: str, text: str,
                what: str, line: int | None = None) -> None:
    """The deny list over a string exactly as it is sent (a composed caption, an
    overlay), for a term that only appears where two fields meet."""
    hit = ctx.deny_hit(text)
    if hit and not any(f"'{hit}'" in p.message for p in post.problems):
        post.problem(field_name, f"{what} contains the deny-listed term '{hit}'", line)
