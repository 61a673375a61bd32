"""Caption and overlay composition per channel.

A caption is the post body (or the channel's override), then the post's link, then its
hashtags. Platforms whose captions do not make links clickable (Instagram) get the
configured "link in bio" line instead of a URL. Nothing is ever truncated: a caption over
the platform's limit is a validation error naming the channel, the count and the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from scheduler.config import Settings
from scheduler.platforms import (
    THREAD_PLATFORMS,
    THREAD_SEPARATOR,
    PlatformProfile,
    split_thread,
    thread_parts,
)

#: Platforms on which ``first_comment`` is published as a comment right after the post.
COMMENT_PLATFORMS = frozenset({"instagram", "facebook", "linkedin"})

WELSH_MONTHS = (
    "Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst",
    "Medi", "Hydref", "Tachwedd", "Rhagfyr",
)
ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)


@dataclass(frozen=True)
class ComposedCaption:
    """One channel's caption as stored; a thread's parts (or a post and its first
    comment) are joined by :data:`~scheduler.platforms.THREAD_SEPARATOR`. ``count`` is
    the longest part's."""

    channel: str
    text: str
    count: int
    limit: int

    @property
    def parts(self) -> list[str]:
        return thread_parts(self.text)


def post_link(model: Any) -> str | None:
    """The link a post carries: the application page or the questions form."""
    return getattr(model, "apply_url", None) or getattr(model, "questions_url", None)


def _welsh(language: str) -> bool:
    return language.split("-")[0].lower() == "cy"


def _day_month(d: Any, language: str) -> str:
    months = WELSH_MONTHS if _welsh(language) else ENGLISH_MONTHS
    return f"{d.day} {months[d.month - 1]}"


_LIST_ITEM = re.compile(r"^([-*+•]|\d{1,3}[.)])\s")


def join_paragraphs(text: str) -> str:
    """Markdown's paragraph rule for captions written in an editor that wraps lines.

    Lines of one paragraph are joined with a space; a blank line is a paragraph break
    (kept as one blank line); a line ending in a backslash or two spaces keeps its line
    break (https://spec.commonmark.org/0.31.2/#hard-line-breaks). A list item (``- ``,
    ``* ``, ``1. ``) starts its own line, as Markdown shows it.
    """
    paragraphs: list[str] = []
    current = ""
    for raw in text.replace("\r\n", "\n").split("\n"):
        if not raw.strip():
            if current:
                paragraphs.append(current)
            current = ""
            continue
        hard = raw.endswith("\\") or raw.endswith("  ")
        line = raw.strip()
        if hard:
            line = line[:-1].rstrip() if line.endswith("\\") else line
        if current and not current.endswith("\n"):
            current += "\n" if _LIST_ITEM.match(line) else " "
        current += line + ("\n" if hard else "")
    if current:
        paragraphs.append(current)
    return "\n\n".join(p.rstrip("\n") for p in paragraphs)


def compose_caption(
    model: Any, body: str, channel: str, profile: PlatformProfile, settings: Settings,
    *, own_text: bool = True,
) -> ComposedCaption:
    """The exact text one channel will publish.

    ``own_text=False`` composes around ``body`` alone, ignoring the channel's caption
    override (a reminder has its own text but the post's link and hashtags).
    """
    override = model.overrides.get(channel)
    chosen = override.caption if own_text and override and override.caption else body
    pieces = [join_paragraphs(p).strip()
              for p in [*split_thread(chosen), *(model.thread if own_text else ())]]
    pieces = [p for p in pieces if p]
    threaded = profile.name in THREAD_PLATFORMS and len(pieces) > 1
    text = pieces[0] if threaded else "\n\n".join(pieces)
    parts = [text] if text else []
    link = post_link(model)
    if link and all(link not in p for p in pieces):
        if profile.links_clickable and profile.name not in settings.captions.link_in_bio_platforms:
            parts.append(link)
        else:
            line = settings.captions.link_in_bio_line(model.kind, model.language)
            if line:
                parts.append(line)
    tags = override.hashtags if override and override.hashtags is not None else model.hashtags
    lowered = "\n".join(pieces).casefold()
    fresh = [t for t in tags if f"#{t}".casefold() not in lowered]
    if fresh:
        parts.append(" ".join(f"#{t}" for t in fresh))
    caption = "\n\n".join(parts)
    if threaded:
        caption = THREAD_SEPARATOR.join([caption, *pieces[1:]])
    comment = join_paragraphs(model.first_comment or "").strip() if own_text else ""
    if comment and profile.name in COMMENT_PLATFORMS:
        caption = THREAD_SEPARATOR.join([caption, comment])
    if settings.links.utm or settings.links.utm_channels:
        from scheduler.content.tracking import tag_links, utm_params

        params = utm_params(settings, channel, profile.name, model)
        caption = tag_links(caption, params, settings.policy.link_hosts)
    count = max(profile.count(p) for p in thread_parts(caption))
    return ComposedCaption(channel, caption, count, profile.text_limit)


_OFFSET_WORDS = {
    "en": {"d": ("day", "days"), "h": ("hour", "hours"), "m": ("minute", "minutes")},
    "cy": {"d": ("diwrnod", "diwrnod"), "h": ("awr", "awr"), "m": ("munud", "munud")},
}


def offset_words(offset: timedelta, language: str) -> str:
    """``-1d`` → "1 day", ``-90m`` → "1 hour 30 minutes" (Welsh: "1 diwrnod")."""
    words = _OFFSET_WORDS["cy" if _welsh(language) else "en"]
    seconds = abs(int(offset.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {words[unit][0 if n == 1 else 1]}")
    return " ".join(parts) or f"0 {words['m'][1]}"


def reminder_text(model: Any, offset: timedelta, event_at: datetime, zone: tzinfo,
                  settings: Settings) -> str:
    """A Q&A reminder's own words, from ``[captions] reminder`` in the post's language."""
    local = event_at.astimezone(zone)
    return settings.captions.reminder_template(model.language).format(
        offset=offset_words(offset, model.language), topic=model.topic, venue=model.venue,
        host=model.host, date=_day_month(local, model.language), time=f"{local:%H:%M}",
    )


def default_overlay(
    model: Any, zone: tzinfo, event_at: datetime | None = None
) -> tuple[str, str | None]:
    """Each kind's headline and subline when the post does not give its own."""
    welsh = _welsh(model.language)
    if model.kind == "careers_promo":
        head = (f"Rydym yn recriwtio: {model.role}" if welsh
                else f"We're hiring: {model.role}")
        sub = ("Gwnewch gais erbyn " if welsh else "Apply by ") + _day_month(
            model.closing_date, model.language)
        return head, sub
    if model.kind == "archive_exhibit":
        return model.exhibit, model.era
    event = event_at or model.event_at
    if isinstance(event, datetime):
        local = event.astimezone(zone)
        when = f"{_day_month(local, model.language)}, {local:%H:%M}"
        sub = ("Yn fyw " if welsh else "Live ") + when
    else:
        sub = None
    return model.topic, sub


def overlay_texts(
    model: Any, zone: tzinfo, event_at: datetime | None = None
) -> tuple[str, str | None] | None:
    """The overlay to draw: the post's own, the kind's default, or none (``overlay: false``)."""
    if model.overlay is False:
        return None
    if model.overlay is not None:
        return model.overlay.headline, model.overlay.subline
    return default_overlay(model, zone, event_at)
