"""Pydantic models of the three post kinds, as a discriminated union on ``kind``.

The models check shapes and types only; rules that need the configuration, the clock or
the file system (links, deny terms, images, channels, time zones) live in
:mod:`scheduler.content.rules`, so a single file can report every problem at once.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
LANG_RE = re.compile(r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class ImageRef(_Strict):
    path: str
    alt: str = ""
    focus: tuple[float, float] | None = None
    fit: Literal["crop", "pad"] = "crop"

    @field_validator("focus")
    @classmethod
    def _focus(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not all(0.0 <= c <= 1.0 for c in v):
            raise ValueError("focus values must be between 0 and 1, e.g. [0.5, 0.35]")
        return v


class VideoRef(_Strict):
    """One video: the file, its captions (required while it has speech) and how to frame it.

    ``cover`` is an image under ``assets/`` or a time in the video (seconds or ``m:ss``);
    ``trim`` keeps ``[start, end]`` seconds; ``burn: true`` draws the captions into the
    picture even where the platform takes a caption file.
    """

    path: str
    captions: str | None = None
    speech: bool = True
    burn: bool = False
    cover: str | float | None = None
    alt: str = ""
    focus: tuple[float, float] | None = None
    fit: Literal["crop", "pad"] = "crop"
    trim: tuple[float, float] | None = None

    @field_validator("focus")
    @classmethod
    def _focus(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not all(0.0 <= c <= 1.0 for c in v):
            raise ValueError("focus values must be between 0 and 1, e.g. [0.5, 0.35]")
        return v

    @field_validator("trim")
    @classmethod
    def _trim(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not 0 <= v[0] < v[1]:
            raise ValueError("trim is [start, end] in seconds with 0 <= start < end, e.g. [2, 30]")
        return v


class OverlayText(_Strict):
    headline: str
    subline: str | None = None


class ChannelOverride(_Strict):
    caption: str | None = None
    hashtags: list[str] | None = None
    fit: Literal["crop", "pad"] | None = None
    #: For a post in a Welsh/English pair: one bilingual post on this channel, or two.
    bilingual: Literal["separate", "combined"] | None = None


class _PostBase(_Strict):
    id: str | None = None
    publish_at: datetime | str | None = None
    channels: list[str] = Field(min_length=1)
    language: str = "en"
    images: list[ImageRef] = Field(default_factory=list)
    video: VideoRef | None = None
    hashtags: list[str] = Field(default_factory=list)
    overlay: OverlayText | Literal[False] | None = None
    overrides: dict[str, ChannelOverride] = Field(default_factory=dict)
    #: Further parts of a thread after the body (as well as, or instead of, ``+++`` lines).
    thread: list[str] = Field(default_factory=list)
    #: The id of this post's version in another language (a Welsh/English pair), or
    #: ``translations: {cy: posts/file.md}`` naming its file.
    translation: str | None = None
    translations: dict[str, str] = Field(default_factory=dict)
    #: A comment published right after the post on Instagram, Facebook and LinkedIn.
    first_comment: str | None = None
    #: A pair on each channel: two posts (separate) or one bilingual post (combined).
    bilingual: Literal["separate", "combined"] = "separate"

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        if v is not None and not ID_RE.match(v):
            raise ValueError(
                "must be lower-case letters, digits and hyphens (at most 80), e.g. io-winter-2026"
            )
        return v

    @field_validator("language")
    @classmethod
    def _lang(cls, v: str) -> str:
        if not LANG_RE.match(v):
            raise ValueError("must be a BCP-47 language tag such as en, cy or en-GB")
        return v

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out = []
        for tag in v:
            tag = tag.lstrip("#")
            if not re.fullmatch(r"\w*[^\W\d_]\w*", tag):
                raise ValueError(f"'{tag}' is not a hashtag (letters, digits and _ only)")
            out.append(tag)
        return out

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a channel is listed twice")
        return v


class CareersPromo(_PostBase):
    kind: Literal["careers_promo"]
    role: str = Field(min_length=1)
    closing_date: date
    apply_url: str
    location: str | None = None
    salary: str | None = None
    grade: str | None = None


class ArchiveExhibit(_PostBase):
    kind: Literal["archive_exhibit"]
    exhibit: str = Field(min_length=1)
    era: str = Field(min_length=1)
    catalogue_ref: str = Field(min_length=1)
    cleared_for_release: bool
    clearance_ref: str = Field(min_length=1)


class QaAnnouncement(_PostBase):
    kind: Literal["qa_announcement"]
    topic: str = Field(min_length=1)
    event_at: datetime | str
    host: str = Field(min_length=1)
    venue: str = Field(min_length=1)
    questions_url: str | None = None
    reminders: list[str] = Field(default_factory=list)


Post = Annotated[CareersPromo | ArchiveExhibit | QaAnnouncement, Field(discriminator="kind")]
POST_ADAPTER: TypeAdapter[Any] = TypeAdapter(Post)
KINDS: dict[str, type[_PostBase]] = {
    "careers_promo": CareersPromo,
    "archive_exhibit": ArchiveExhibit,
    "qa_announcement": QaAnnouncement,
}


def known_keys(kind: str | None) -> list[str]:
    """Every key a post of ``kind`` may have (all kinds' keys when the kind is unknown)."""
    models = [KINDS[kind]] if kind in KINDS else list(KINDS.values())
    keys: list[str] = []
    for m in models:
        keys.extend(k for k in m.model_fields if k not in keys)
    return keys


NESTED_MODELS: dict[str, type[BaseModel]] = {
    "images": ImageRef,
    "video": VideoRef,
    "overlay": OverlayText,
    "overrides": ChannelOverride,
}


def _text_fields() -> frozenset[str]:
    """Field paths (``images[].alt``, ``overrides.*.caption``) whose value is text.

    The YAML reader keeps these as written, so ``era: 1943`` stays the text "1943"."""
    from types import NoneType, UnionType
    from typing import Union, get_args, get_origin

    def kind_of(annotation: Any) -> str | None:
        args = get_args(annotation)
        if get_origin(annotation) in (Union, UnionType):
            kinds = {kind_of(a) for a in args if a is not NoneType}
            return kinds.pop() if len(kinds) == 1 else None
        if annotation is str:
            return "str"
        if get_origin(annotation) is list and args == (str,):
            return "list"
        return None

    out: set[str] = set()
    models: list[tuple[str, type[BaseModel]]] = [("", m) for m in KINDS.values()]
    models += [("images[].", ImageRef), ("overlay.", OverlayText),
               ("overrides.*.", ChannelOverride)]
    for prefix, model in models:
        for name, info in model.model_fields.items():
            kind = kind_of(info.annotation)
            if kind == "str":
                out.add(prefix + name)
            elif kind == "list":
                out.add(f"{prefix}{name}[]")
    return frozenset(out)


TEXT_FIELDS = _text_fields()
