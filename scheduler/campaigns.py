"""Campaign settings: tracked links (``[links]``) and blackout periods (``[[blackouts]]``).

Kept apart from :mod:`scheduler.config`, which builds these models with the others the
first time settings are read (pydantic is imported then, never at start-up).
"""

from __future__ import annotations

from typing import Any

#: The UTM parameters a template may set, in the order they are appended.
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
#: What a UTM template may say: the channel's name, its platform, the post's id, kind
#: and language.
UTM_FIELDS = ("channel", "platform", "id", "kind", "language")


def define_models(strict: type[Any]) -> tuple[type[Any], type[Any]]:
    """``(LinkSettings, BlackoutSettings)``, built on the configuration's strict base."""
    from datetime import datetime

    from pydantic import Field, field_validator, model_validator

    def check_template(table: dict[str, str]) -> dict[str, str]:
        for key, template in table.items():
            if key not in UTM_KEYS:
                raise ValueError(f"unknown UTM parameter '{key}'; use {', '.join(UTM_KEYS)}")
            try:
                template.format(**dict.fromkeys(UTM_FIELDS, "x"))
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"{key}: the template '{template}' has an unknown or broken placeholder "
                    f"({exc}); use {', '.join('{' + f + '}' for f in UTM_FIELDS)}") from None
        return table

    class LinkSettings(strict):  # type: ignore[misc,valid-type]
        """``utm`` is added to every allowed link of every channel's caption;
        ``utm_channels.NAME`` replaces single parameters for one channel (an empty
        value drops one)."""

        utm: dict[str, str] = Field(default_factory=dict)
        utm_channels: dict[str, dict[str, str]] = Field(default_factory=dict)
        #: What marks a page in a language, e.g. ``{cy = "/cy/"}``: a post in a pair may
        #: link only to pages in its own language.
        language_paths: dict[str, str] = Field(default_factory=dict)

        @field_validator("utm")
        @classmethod
        def _utm(cls, v: dict[str, str]) -> dict[str, str]:
            return check_template(v)

        @field_validator("utm_channels")
        @classmethod
        def _per_channel(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
            for table in v.values():
                check_template(table)
            return v

        def template_for(self, channel: str) -> dict[str, str]:
            merged = {**self.utm, **self.utm_channels.get(channel, {})}
            return {k: merged[k] for k in UTM_KEYS if merged.get(k)}

    class BlackoutSettings(strict):  # type: ignore[misc,valid-type]
        """A period in which nothing is published (pre-election, national mourning)."""

        name: str = Field(min_length=1)
        start: str | datetime
        end: str | datetime
        channels: list[str] = Field(default_factory=list)
        allow_kinds: list[str] = Field(default_factory=list)

        @model_validator(mode="after")
        def _order(self) -> Any:
            from scheduler.timeutil import TimeProblem, get_zone, parse_when

            zone = get_zone("UTC")  # only the order is checked here; both use one zone
            try:
                start, end = parse_when(self.start, zone), parse_when(self.end, zone)
            except TimeProblem as exc:
                raise ValueError(str(exc)) from None
            if end <= start:
                raise ValueError(f"'{self.name}' ends ({self.end}) before it starts "
                                 f"({self.start})")
            return self

    return LinkSettings, BlackoutSettings
