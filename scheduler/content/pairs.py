"""Welsh/English pairs: two posts that are one message in two languages.

The Welsh Language Standards ask that Welsh is not treated less favourably than English:
both versions are available at the same time and each links to the page in its own
language. So a post that names its translation (``translation: other-id`` or
``translations: {cy: posts/file.md}``) is checked with its partner (found and read even
when only one file was named), queued and approved with it, and published in the same
slot on every channel, as two posts or, with ``bilingual: combined``, as one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scheduler.content.loader import LoadedPost, read_post
from scheduler.platforms import find_urls

WELSH = "cy"


def is_welsh(language: Any) -> bool:
    return isinstance(language, str) and language.split("-")[0].lower() == WELSH


def partner_ref(post: LoadedPost) -> tuple[str, str] | None:
    """``(field, what it says)`` of the post's translation, or None."""
    raw = post.raw
    if isinstance(raw.get("translation"), str) and raw["translation"].strip():
        return "translation", raw["translation"].strip()
    table = raw.get("translations")
    if isinstance(table, dict):
        for lang, path in table.items():
            if isinstance(path, str) and path.strip():
                return f"translations.{lang}", path.strip()
    return None


def _post_id_of(path: Path) -> str:
    """A file's post id: its ``id:`` line, else its name (without reading it fully)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError:
        return path.stem
    if head.startswith("---"):
        for line in head.split("\n")[1:]:
            if line.rstrip() in ("---", "..."):
                break
            if line.startswith("id:"):
                return line[3:].strip().strip("'\"")
    return path.stem


def partner_file(post: LoadedPost, settings: Any) -> Path | None:
    """The file of the post's partner, or None when it cannot be found."""
    ref = partner_ref(post)
    if ref is None:
        return None
    field_name, value = ref
    if field_name.startswith("translations."):
        for base in (settings.root, post.path.parent):
            candidate = base / value
            if candidate.is_file():
                return candidate
        return None
    folder = settings.posts_dir
    if not folder.is_dir():
        return None
    for path in sorted(folder.rglob("*.md")):
        if path.resolve() != post.path.resolve() and _post_id_of(path) == value:
            return path
    return None


def partner_files(posts: Iterable[LoadedPost], settings: Any, display: Any) -> list[LoadedPost]:
    """The partners of ``posts`` that are not among them, read (not yet checked)."""
    known = {p.path.resolve() for p in posts}
    out = []
    for post in list(posts):
        path = partner_file(post, settings)
        if path is not None and path.resolve() not in known:
            known.add(path.resolve())
            out.append(read_post(path, display(path)))
    return out


def pair_map(posts: Iterable[LoadedPost], settings: Any) -> dict[str, str]:
    """``{post id: partner's post id}`` for every post whose partner was found."""
    by_path = {p.path.resolve(): p for p in posts if p.raw}
    out: dict[str, str] = {}
    for post in by_path.values():
        path = partner_file(post, settings)
        partner = by_path.get(path.resolve()) if path is not None else None
        if partner is not None:
            out[post.post_id] = partner.post_id
            out.setdefault(partner.post_id, post.post_id)
    return out


def check_pairs(posts: list[LoadedPost], times: dict[str, Any], ctx: Any) -> dict[str, str]:
    """Every pair rule over the loaded posts; problems are recorded on the posts.
    Returns the pairs found (see :func:`pair_map`)."""
    settings = ctx.settings
    pairs = pair_map(posts, settings)
    by_id = {p.post_id: p for p in posts if p.raw}
    for post in by_id.values():
        ref = partner_ref(post)
        if ref is not None and post.post_id not in pairs:
            field_name, value = ref
            where = f"'{value}'" if field_name == "translation" else value
            post.problem(field_name, f"its partner {where} is not found (looked in "
                         f"{_shown(settings.posts_dir, settings)}); a post in a pair is "
                         "queued only with its partner")
            continue
        partner = by_id.get(pairs.get(post.post_id, ""))
        if partner is None:
            if settings.policy.require_welsh:
                post.problem("translation" if not is_welsh(post.raw.get("language"))
                             else "language", _missing_welsh(post))
            continue
        _check_one_pair(post, partner, times, ctx)
    return pairs


def _shown(path: Path, settings: Any) -> str:
    try:
        return str(path.relative_to(settings.root)) + "/"
    except ValueError:
        return str(path)


def _missing_welsh(post: LoadedPost) -> str:
    if is_welsh(post.raw.get("language")):
        return ("[policy] require_welsh: a Welsh post is published with its English "
                "version; add translation: ID of the English post")
    return ("[policy] require_welsh: this post has no Welsh version; add translation: ID "
            "of its Welsh post, or translations: {cy: posts/FILE.md}")


def _check_one_pair(post: LoadedPost, partner: LoadedPost, times: dict[str, Any],
                    ctx: Any) -> None:
    lang, other = post.raw.get("language", "en"), partner.raw.get("language", "en")
    ref_field = (partner_ref(post) or ("translation", ""))[0]
    if is_welsh(lang) == is_welsh(other):
        post.problem(ref_field, f"'{partner.post_id}' is also {'Welsh' if is_welsh(lang) else 'not Welsh'} "
                     f"({other}); a pair is one post in Welsh and one in English")
    back = partner_ref(partner)
    if back is not None and back[0] == "translation" and back[1] != post.post_id:
        post.problem(ref_field, f"'{partner.post_id}' names '{back[1]}' as its translation, "
                     "not this post")
    mine, theirs = times.get(post.post_id, {}).get("publish_at"), \
        times.get(partner.post_id, {}).get("publish_at")
    if mine != theirs:
        zone = ctx.settings.zone
        shown = [f"{t.astimezone(zone):%Y-%m-%d %H:%M}" if t else "none" for t in (mine, theirs)]
        post.problem("publish_at", f"{shown[0]} differs from its partner '{partner.post_id}' "
                     f"({partner.display}: {shown[1]}); both versions are published in the "
                     "same slot")
    _check_language_links(post, ctx)
    _check_combined(post, partner, ctx)


def _check_language_links(post: LoadedPost, ctx: Any) -> None:
    """Each link to an allowed host leads to the page in the post's own language."""
    markers = ctx.settings.links.language_paths
    if not markers or post.model is None:
        return
    lang = post.model.language.split("-")[0].lower()
    own = markers.get(lang)
    allowed = {h.lower().rstrip(".") for h in ctx.settings.policy.link_hosts}
    texts = [("caption", post.body)]
    for key in ("apply_url", "questions_url"):
        value = post.raw.get(key)
        if isinstance(value, str):
            texts.append((key, value))
    for field_name, text in texts:
        for _start, _end, href in find_urls(text):
            parts = urlsplit(href)
            if (parts.hostname or "").lower().rstrip(".") not in allowed:
                continue
            path = parts.path + "/"
            foreign = [m for code, m in markers.items() if code != lang and m in path]
            if foreign or (own is not None and own not in path):
                lang_name = "Welsh" if is_welsh(lang) else lang
                post.problem(field_name, f"link {href} goes to a page in another language; "
                             f"a post in {lang_name} links to the page in {lang_name}"
                             + (f" (its address has {own})" if own else ""))


def combined_channels(post: LoadedPost, partner: LoadedPost) -> list[str]:
    """Channels on which the pair is one bilingual post (either post may ask for it)."""
    out = []
    for ch in post.model.channels if post.model is not None else []:
        asks = [m.overrides[ch].bilingual if ch in m.overrides and m.overrides[ch].bilingual
                else m.bilingual for m in (post.model, partner.model) if m is not None]
        if "combined" in asks:
            out.append(ch)
    return out


def _check_combined(post: LoadedPost, partner: LoadedPost, ctx: Any) -> None:
    if post.model is None or partner.model is None:
        return
    from scheduler.content.compose import compose_caption

    for ch in combined_channels(post, partner):
        if ch not in partner.model.channels:
            post.problem("bilingual", f"one bilingual post on {ch} needs both versions on "
                         f"{ch}; '{partner.post_id}' is not")
            continue
        profile = ctx.profiles.get(ch)
        if profile is None or not is_welsh(post.model.language):
            continue  # checked once, from the Welsh side
        text = combined_caption(
            compose_caption(post.model, post.body, ch, profile, ctx.settings).text,
            compose_caption(partner.model, partner.body, ch, profile, ctx.settings).text,
            welsh_first=ctx.settings.captions.welsh_first)
        count = profile.count(text)
        if count > profile.text_limit:
            post.problem("bilingual", f"the bilingual caption for {ch} is {count} "
                         f"{profile.counting} long; {profile.name} allows "
                         f"{profile.text_limit}; post the versions separately there "
                         f"(overrides.{ch}.bilingual: separate)")


def combined_caption(welsh: str, other: str, *, welsh_first: bool) -> str:
    """One bilingual caption: both versions, Welsh first unless configured otherwise."""
    first, second = (welsh, other) if welsh_first else (other, welsh)
    return f"{first}\n\n{second}"


def pair_snapshots(snaps: list[Any], loaded: dict[str, LoadedPost], pairs: dict[str, str],
                   settings: Any, profiles: dict[str, Any]) -> list[Any]:
    """The snapshots with their pair named (``extra["pair"]``) and, on combined channels,
    one bilingual caption in the first language's post instead of two posts."""
    by_id = {s.post_id: s for s in snaps}
    out = dict(by_id)
    welsh_first = settings.captions.welsh_first
    for post_id, partner_id in pairs.items():
        if post_id not in by_id or partner_id not in by_id:
            continue
        snap = out[post_id]
        out[post_id] = replace(snap, extra={**snap.extra, "pair": partner_id})
        if not is_welsh(snap.language):
            continue
        welsh, other = loaded[post_id], loaded[partner_id]
        for ch in combined_channels(welsh, other):
            carrier, dropped = (post_id, partner_id) if welsh_first else (partner_id, post_id)
            cy_cap = _caption(out[post_id], ch)
            en_cap = _caption(out[partner_id], ch)
            if cy_cap is None or en_cap is None:
                continue
            text = combined_caption(cy_cap, en_cap, welsh_first=welsh_first)
            keep = out[carrier]
            out[carrier] = replace(keep, channels=tuple(
                replace(c, caption=text, count=profiles[ch].count(text)) if c.channel == ch
                else c for c in keep.channels))
            gone = out[dropped]
            out[dropped] = replace(gone, channels=tuple(c for c in gone.channels
                                                        if c.channel != ch))
    # A version whose every channel went into bilingual posts has nothing of its own left.
    return [out[s.post_id] for s in snaps if out[s.post_id].channels]


def _caption(snap: Any, channel: str) -> str | None:
    return next((c.caption for c in snap.channels if c.channel == channel), None)
