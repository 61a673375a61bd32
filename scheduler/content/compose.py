"""Caption and overlay composition per channel.

A caption is the post body (or the channel's override), then the post's link, then its
hashtags. Platforms whose captions do not make links clickable (Instagram) get the
configured "link in bio" line instead of a URL. Nothing is ever truncated: a caption over
the platform's limit is a validation error naming the channel, the count and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from scheduler.config import Settings
from scheduler.platforms import PlatformProfile

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
    channel: str
    text: str
    count: int
    limit: int


def post_link(model: Any) -> str | None:
    """The link a post carries: the application page or the questions form."""
    return getattr(model, "apply_url", None) or getattr(model, "questions_url", None)


def _welsh(language: str) -> bool:
    return language.split("-")[0].lower() == "cy"


def _day_month(d: Any, language: str) -> str:
    months = WELSH_MONTHS if _welsh(language) else ENGLISH_MONTHS
    return f"{d.day} {months[d.month - 1]}"


def compose_caption(
    model: Any, body: str, channel: str, profile: PlatformProfile, settings: Settings
) -> ComposedCaption:
    """The exact text one channel will publish."""
    override = model.overrides.get(channel)
    text = (override.caption if override and override.caption else body).strip()
    parts = [text] if text else []
    link = post_link(model)
    if link and link not in text:
        if profile.links_clickable and profile.name not in settings.captions.link_in_bio_platforms:
            parts.append(link)
        else:
            lang = model.language.split("-")[0].lower()
            bio = settings.captions.link_in_bio
            line = bio.get(model.language) or bio.get(lang) or bio.get("en")
            if line:
                parts.append(line)
    tags = override.hashtags if override and override.hashtags is not None else model.hashtags
    lowered = text.casefold()
    fresh = [t for t in tags if f"#{t}".casefold() not in lowered]
    if fresh:
        parts.append(" ".join(f"#{t}" for t in fresh))
    caption = "\n\n".join(parts)
    return ComposedCaption(channel, caption, profile.count(caption), profile.text_limit)


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
