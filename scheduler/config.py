"""``postq.toml``: discovery, the settings model and friendly errors.

Discovery order is ``--config``, then ``POSTQ_CONFIG``, then the nearest ``postq.toml`` from
the current directory upwards, so a member of staff can run postq anywhere inside the
organisation's posts folder. Relative paths are resolved against the file's own folder.
Secrets are never in the file: a channel names the environment variable holding each one
(``*_env`` keys), and only the variable's *name* is ever printed.

Two ways in. :func:`load` validates the whole file against the pydantic models; every
command that writes or publishes uses it. :func:`load_read_settings` reads only where the
queue is and which zone to show it in, with ``tomllib`` alone: importing pydantic and
building the models costs more than the whole of ``queue list`` or ``status`` on a large
queue. The models are therefore built on first use (:func:`__getattr__`), not on import.
"""

from __future__ import annotations

import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scheduler.errors import ConfigError
from scheduler.timeutil import TimeProblem, get_zone, parse_duration

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from pydantic import BaseModel

CONFIG_NAME = "postq.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The top-level tables of ``postq.toml`` (the fields of :class:`Settings` but ``path``).
SECTIONS = ("postq", "policy", "brand", "captions", "slots", "notify", "channels",
            "media_store", "team", "links", "blackouts")
#: The keys of ``[postq]`` (the fields of :class:`CoreSettings`).
CORE_KEYS = ("timezone", "data_dir", "database", "require_approval", "late_grace",
             "max_attempts", "retry_base", "stale_after", "credentials_key_env", "shared")
_DEFAULT_TIMEZONE = "Europe/London"
_DEFAULT_DATA_DIR = ".postq"

#: What Instagram-like captions say instead of a link, by post kind and language.
DEFAULT_LINK_IN_BIO: dict[str, dict[str, str]] = {
    "careers_promo": {"en": "Apply through the link in our bio.",
                      "cy": "Gwnewch gais drwy'r ddolen yn ein bio."},
    "qa_announcement": {"en": "Send your questions through the link in our bio.",
                        "cy": "Anfonwch eich cwestiynau drwy'r ddolen yn ein bio."},
    "archive_exhibit": {"en": "More from our archive through the link in our bio.",
                        "cy": "Mwy o'n harchif drwy'r ddolen yn ein bio."},
}
#: The Q&A reminder caption by language.
DEFAULT_REMINDER: dict[str, str] = {
    "en": "Starting in {offset}: {topic} — {venue}",
    "cy": "Yn dechrau mewn {offset}: {topic} — {venue}",
}

_MODELS = ("CoreSettings", "PolicySettings", "BrandSettings", "CaptionSettings",
           "NotifySettings", "ChannelSettings", "MediaStoreSettings", "TeamSettings",
           "LinkSettings", "BlackoutSettings", "Settings")
# Two threads asking at once must not get two different Settings classes.
_BUILDING = threading.Lock()


def __getattr__(name: str) -> Any:
    """The settings models, built the first time any of them is asked for."""
    if name in _MODELS:
        _build_models()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _build_models() -> None:
    """Build the models once, whichever thread asks first."""
    if "Settings" not in globals():
        with _BUILDING:
            if "Settings" not in globals():
                _define_models()


def _define_models() -> None:
    """Define the pydantic models as module globals.

    Kept out of import time because pydantic's import and the model building cost about
    0.3 s, several times a read-only command's whole run. The classes are ordinary module
    globals afterwards (``global`` makes their names and qualified names top-level).
    """
    global _Strict, CoreSettings, PolicySettings, BrandSettings, CaptionSettings
    global NotifySettings, ChannelSettings, MediaStoreSettings, TeamSettings, Settings
    global LinkSettings, BlackoutSettings
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

    class _Strict(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)

    class CoreSettings(_Strict):
        timezone: str = "Europe/London"
        data_dir: str = ".postq"
        database: str = ""
        require_approval: bool = True
        late_grace: str = "30m"
        max_attempts: int = Field(default=5, ge=1, le=50)
        retry_base: str = "30s"
        # A delivery left 'publishing' by a publisher silent for this long is settled by others.
        stale_after: str = "30s"
        # Which environment variable holds the key of the encrypted credential store.
        credentials_key_env: str = "POSTQ_CREDENTIALS_KEY"
        # "group": data_dir, its folders and files, the database and its -wal/-shm are
        # group-readable and -writable, so people in one Unix group share one queue.
        shared: Literal["", "group"] = ""

        @field_validator("timezone")
        @classmethod
        def _zone(cls, v: str) -> str:
            try:
                get_zone(v)
            except TimeProblem as exc:
                raise ValueError(str(exc)) from None
            return v

        @field_validator("late_grace", "retry_base", "stale_after")
        @classmethod
        def _duration(cls, v: str) -> str:
            try:
                parse_duration(v)
            except TimeProblem as exc:
                raise ValueError(str(exc)) from None
            return v

    class PolicySettings(_Strict):
        link_hosts: list[str] = Field(default_factory=list)
        deny_terms_file: str | None = None
        deny_terms: list[str] = Field(default_factory=list)
        # Accessible-writing checks (scheduler.content.accessibility): "warning" or "error".
        accessibility: Literal["warning", "error"] = "warning"
        max_emoji: int = Field(default=3, ge=0)
        # Every post needs its Welsh partner (translation:) (scheduler.content.pairs).
        require_welsh: bool = False

    class BrandSettings(_Strict):
        font: str | None = None
        colors: dict[str, str] = Field(
            default_factory=lambda: {"background": "#0b0c0c", "text": "#ffffff", "accent": "#ffdd00"}
        )
        logo: str | None = None

    class CaptionSettings(_Strict):
        """How captions are put together.

        ``link_in_bio`` is keyed by post kind, then language (a plain language key applies
        to every kind without its own line); ``reminder`` holds the Q&A reminder caption
        template per language, with ``{offset}``, ``{topic}``, ``{venue}``, ``{host}``,
        ``{date}`` and ``{time}``.
        """

        link_in_bio: dict[str, str | dict[str, str]] = Field(
            default_factory=lambda: {k: dict(v) for k, v in DEFAULT_LINK_IN_BIO.items()}
        )
        link_in_bio_platforms: list[str] = Field(default_factory=lambda: ["instagram"])
        reminder: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_REMINDER))
        # A Welsh/English pair posted as one bilingual post: the Welsh text first.
        welsh_first: bool = True

        @field_validator("reminder")
        @classmethod
        def _templates(cls, v: dict[str, str]) -> dict[str, str]:
            for lang, template in v.items():
                try:
                    template.format(offset="1h", topic="", venue="", host="", date="", time="")
                except (KeyError, IndexError, ValueError) as exc:
                    raise ValueError(
                        f"{lang}: the template '{template}' has an unknown or broken "
                        f"placeholder ({exc}); use {{offset}}, {{topic}}, {{venue}}, "
                        "{host}, {date} or {time}"
                    ) from None
            return v

        def link_in_bio_line(self, kind: str, language: str) -> str | None:
            """The line for a post of ``kind`` in ``language`` (falls back to English)."""
            short = language.split("-")[0].lower()
            own = self.link_in_bio.get(kind)
            for table in (own if isinstance(own, dict) else {}, self.link_in_bio,
                          DEFAULT_LINK_IN_BIO.get(kind, {})):
                for key in (language, short, "en"):
                    line = table.get(key)
                    if isinstance(line, str):
                        return line
            return None

        def reminder_template(self, language: str) -> str:
            short = language.split("-")[0].lower()
            return (self.reminder.get(language) or self.reminder.get(short)
                    or DEFAULT_REMINDER.get(short) or self.reminder.get("en")
                    or DEFAULT_REMINDER["en"])

    class NotifySettings(_Strict):
        channel: str | None = None
        on: list[str] = Field(
            default_factory=lambda: ["failed", "needs_check", "missed", "held"])

    class TeamSettings(_Strict):
        """Signed decisions: who acts is the principal of the SSH key that signed."""

        allowed_signers: str = ""
        approvers: list[str] = Field(default_factory=list)
        channel_approvers: dict[str, list[str]] = Field(default_factory=dict)

    class MediaStoreSettings(_Strict):
        """Where publishers on every machine read media (see scheduler.store.blobs)."""

        kind: Literal["local", "database", "s3"] | None = None
        bucket: str | None = None
        prefix: str = ""
        region: str | None = None
        endpoint_url: str | None = None

        @model_validator(mode="after")
        def _bucket(self) -> MediaStoreSettings:
            if self.kind == "s3" and not self.bucket:
                raise ValueError("kind 's3' needs a bucket")
            return self

    from scheduler.campaigns import define_models

    LinkSettings, BlackoutSettings = define_models(_Strict)

    class ChannelSettings(BaseModel):
        """A configured account. Only ``adapter`` is shared; the rest belongs to the adapter."""

        model_config = ConfigDict(extra="allow", frozen=True)
        adapter: str
        text_limit: int | None = None
        # Publish through one adapter with another platform's limits and renders: an outbox
        # channel with profile = "instagram" rehearses exactly what Instagram would receive.
        profile: str | None = None

        def extras(self) -> dict[str, Any]:
            return dict(self.model_extra or {})

    class Settings(BaseModel):
        """The whole of ``postq.toml`` plus where it was found."""

        model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
        postq: CoreSettings = Field(default_factory=CoreSettings)
        policy: PolicySettings = Field(default_factory=PolicySettings)
        brand: BrandSettings = Field(default_factory=BrandSettings)
        captions: CaptionSettings = Field(default_factory=CaptionSettings)
        slots: dict[str, Any] = Field(default_factory=dict)
        notify: NotifySettings = Field(default_factory=NotifySettings)
        channels: dict[str, ChannelSettings] = Field(default_factory=dict)
        media_store: MediaStoreSettings = Field(default_factory=lambda: MediaStoreSettings())
        team: TeamSettings | None = None
        links: LinkSettings = Field(default_factory=lambda: LinkSettings())
        blackouts: list[BlackoutSettings] = Field(default_factory=list)
        path: Path | None = None

        # -- resolved locations -------------------------------------------------------------
        @property
        def root(self) -> Path:
            return self.path.parent if self.path else Path.cwd()

        def resolve(self, rel: str | os.PathLike[str]) -> Path:
            p = Path(rel)
            return p if p.is_absolute() else (self.root / p)

        @property
        def assets_dir(self) -> Path:
            return self.root / "assets"

        @property
        def posts_dir(self) -> Path:
            return self.root / "posts"

        @property
        def data_dir(self) -> Path:
            return self.resolve(self.postq.data_dir)

        @property
        def database_url(self) -> str:
            if self.postq.database:
                return self.postq.database
            return f"sqlite:///{self.data_dir / 'queue.sqlite3'}"

        @property
        def zone(self) -> Any:
            return get_zone(self.postq.timezone)

        def deny_terms(self) -> list[str]:
            """Terms no post may contain, from the inline list and the terms file."""
            terms = list(self.policy.deny_terms)
            if self.policy.deny_terms_file:
                f = self.resolve(self.policy.deny_terms_file)
                data = read_regular_file(f, MAX_DENY_TERMS_BYTES, self.path,
                                         "policy.deny_terms_file")
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ConfigError(
                        f"cannot read the deny-terms file {f}: {exc}", self.path,
                        "policy.deny_terms_file",
                    ) from None
                for line in text.splitlines():
                    line = line.strip()
                    if line and not line.startswith("#"):
                        terms.append(line)
            return terms

        def brand_file(self, key: str) -> Path | None:
            """``[brand] font`` or ``logo`` as a path: a regular file of a sane size, checked
            before any image library opens it (``/dev/zero`` would hang it); else one
            sentence naming the setting and its file."""
            rel = getattr(self.brand, key)
            if not rel:
                return None
            path = self.resolve(rel)
            where = f"[brand] {key}"
            try:
                exists = path.exists()
            except (OSError, ValueError):
                exists = True  # let the check below say what is wrong with it
            if not exists:
                raise ConfigError(f"{rel}: file not found (looked for {path})", self.path,
                                  where)
            check_regular_file(path, MAX_BRAND_FILE_BYTES, self.path, where)
            return path

        def channel(self, name: str) -> ChannelSettings:
            try:
                return self.channels[name]
            except KeyError:
                raise ConfigError(
                    f"no channel '{name}' is configured{_hint(name, self.channels)}"
                    f"{real_channel_hint(name)}", self.path, f"channels.{name}",
                ) from None


#: Size caps for files the settings point at: a deny list is text, a font or logo a few MB.
MAX_DENY_TERMS_BYTES = 1024 * 1024
MAX_BRAND_FILE_BYTES = 32 * 1024 * 1024


def check_regular_file(path: Path, limit: int, config: Path | None, key: str) -> int:
    """The size of ``path`` if it is a regular file within ``limit`` bytes; else one
    sentence naming the setting. A device (``/dev/zero``), a pipe or a folder is refused
    before anything reads it, so no command can hang on one."""
    import stat

    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                          config, key) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path} is not a regular file", config, key)
    if info.st_size > limit:
        raise ConfigError(f"{path} is {info.st_size:,} bytes; the limit is {limit:,}",
                          config, key)
    return info.st_size


def read_regular_file(path: Path, limit: int, config: Path | None, key: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see check_regular_file)."""
    check_regular_file(path, limit, config, key)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}", config, key) from None
    if len(data) > limit:  # grew since the check
        raise ConfigError(f"{path} is over {limit:,} bytes", config, key)
    return data


def _hint(word: str, choices: Any) -> str:
    import difflib  # only when a name is wrong

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


#: Platforms a channel can be made for, by the name people write for them.
PLATFORM_TITLES = {"instagram": "Instagram", "facebook": "Facebook", "threads": "Threads",
                   "x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon",
                   "bluesky": "Bluesky"}


def real_channel_hint(name: str) -> str:
    """For a channel named after a platform: how to add a real account, not a rehearsal."""
    title = PLATFORM_TITLES.get(name.lower())
    if title is None:
        return ""
    return (f"; to publish to a real {title} account, enable the commented "
            f"[channels.{name.lower()}] block in postq.toml, set the environment variable it "
            "names, and check it with 'postq channels --check'")


def find_config(explicit: str | os.PathLike[str] | None = None, start: Path | None = None) -> Path:
    """Locate ``postq.toml`` by the documented discovery order."""
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError(f"configuration file {p} does not exist")
        return p.resolve()
    env = os.environ.get("POSTQ_CONFIG")
    if env:
        p = Path(env)
        if not p.is_file():
            raise ConfigError(f"POSTQ_CONFIG names {p}, which does not exist")
        return p.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {CONFIG_NAME} found in {here} or any folder above it; "
        "pass --config or set POSTQ_CONFIG"
    )


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file; an unreadable file or bad TOML is one sentence naming the file."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read it: {exc}", path) from None


def load_settings(path: Path) -> Settings:
    """Read and check one configuration file; every bad key is named."""
    return settings_from_dict(_read_toml(path), path)


def settings_from_dict(raw: dict[str, Any], path: Path | None = None) -> Settings:
    from pydantic import ValidationError

    _build_models()
    try:
        settings = Settings.model_validate({**raw, "path": path})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                section = _section_model(err["loc"])
                msg = "unknown key" + (_hint(str(err["loc"][-1]), section) if section else "")
            elif msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            problems.append(f"{path}: {key}: {msg}" if path else f"{key}: {msg}")
        raise ConfigError("; ".join(problems)) from None
    _check_slots(settings)
    _check_blackouts(settings)
    return settings


def _section_model(loc: tuple[Any, ...]) -> list[str] | None:
    models: dict[str, type[BaseModel]] = {
        "postq": CoreSettings, "policy": PolicySettings, "brand": BrandSettings,
        "captions": CaptionSettings, "notify": NotifySettings,
        "media_store": MediaStoreSettings, "team": TeamSettings, "links": LinkSettings,
    }
    if len(loc) == 1:
        return [k for k in Settings.model_fields if k != "path"]
    model = models.get(str(loc[0]))
    return list(model.model_fields) if model else None


def _check_slots(settings: Settings) -> None:
    from scheduler.slots import parse_slot_table

    try:
        parse_slot_table(settings.slots)
    except ValueError as exc:
        raise ConfigError(str(exc), settings.path, "slots") from None


def _check_blackouts(settings: Settings) -> None:
    """Each ``[[blackouts]]`` names configured channels and known kinds: a misspelt
    channel would leave the real one publishing through the period."""
    from scheduler.content.model import KINDS

    for n, b in enumerate(settings.blackouts, start=1):
        for key, names, known, what in (
                ("channels", b.channels, settings.channels, "a configured channel"),
                ("allow_kinds", b.allow_kinds, KINDS, "a post kind")):
            for name in names:
                if name not in known:
                    raise ConfigError(f"'{name}' in the blackout '{b.name}' is not {what}"
                                      f"{_hint(name, known)}", settings.path,
                                      f"blackouts[{n}].{key}")


def load(config: str | os.PathLike[str] | None = None) -> Settings:
    """Discover and load the configuration in one call (what every command does)."""
    return load_settings(find_config(config))


@dataclass(frozen=True)
class ReadSettings:
    """Where the queue is and which zone to show it in: all ``queue list`` and ``status`` use.

    The attribute names match :class:`Settings`, so code that only reads the queue takes
    either. :meth:`full` gives the fully validated settings of the same file.
    """

    path: Path
    timezone: str = _DEFAULT_TIMEZONE
    data_dir_name: str = _DEFAULT_DATA_DIR
    database: str = ""
    #: ``[team] allowed_signers`` as written ("" without ``[team]``), for ``status``.
    allowed_signers: str = ""
    #: ``[[blackouts]]``, validated (a file with any is read by the full loader).
    blackouts: tuple[Any, ...] = ()

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def data_dir(self) -> Path:
        p = Path(self.data_dir_name)
        return p if p.is_absolute() else (self.root / p)

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite:///{self.data_dir / 'queue.sqlite3'}"

    @property
    def zone(self) -> ZoneInfo:
        return get_zone(self.timezone)

    def full(self) -> Settings:
        """The whole file, validated: for when the reader needs more than the queue."""
        return load_settings(self.path)


def load_read_settings(config: str | os.PathLike[str] | None = None) -> ReadSettings:
    """What read-only commands need from the configuration, without pydantic.

    The file is found exactly as :func:`load` finds it, and a missing or unreadable file or
    bad TOML is the same error. The table names and the whole ``[postq]`` table are checked
    here with the standard library; if anything there looks wrong, the full loader reads
    the file instead, so any error is word for word the one :func:`load` gives. The other
    tables (channels, slots, policy...) are not looked into: nothing that only reads the
    queue uses them, and every command that writes or publishes checks them in full.
    """
    path = find_config(config)
    raw = _read_toml(path)
    core = raw.get("postq", {})
    if not (set(raw) <= set(SECTIONS) and isinstance(core, dict) and _core_is_plain(core)
            and "blackouts" not in raw):
        settings = load_settings(path)  # raises the full loader's error, if there is one
        return ReadSettings(path, settings.postq.timezone, settings.postq.data_dir,
                            settings.postq.database,
                            settings.team.allowed_signers if settings.team else "",
                            tuple(settings.blackouts))
    team = raw.get("team", {})
    signers = team.get("allowed_signers", "") if isinstance(team, dict) else ""
    return ReadSettings(path, core.get("timezone", _DEFAULT_TIMEZONE),
                        core.get("data_dir", _DEFAULT_DATA_DIR), core.get("database", ""),
                        signers if isinstance(signers, str) else "")


def _core_is_plain(core: dict[str, Any]) -> bool:
    """Whether ``[postq]`` is certainly valid as written (no coercion, nothing unknown).

    Stricter than the model, which also accepts e.g. ``max_attempts = "5"``: a False here
    only means the full loader decides.
    """
    if not set(core) <= set(CORE_KEYS):
        return False
    text = ("timezone", "data_dir", "database", "late_grace", "retry_base", "stale_after",
            "credentials_key_env")
    if not all(isinstance(core.get(k, ""), str) for k in text):
        return False
    if core.get("shared", "") not in ("", "group"):
        return False
    attempts = core.get("max_attempts", 5)
    if not isinstance(core.get("require_approval", True), bool) or type(attempts) is not int:
        return False
    try:
        get_zone(core.get("timezone", _DEFAULT_TIMEZONE))
        for key in ("late_grace", "retry_base", "stale_after"):
            if key in core:
                parse_duration(core[key])
    except TimeProblem:
        return False
    return 1 <= attempts <= 50
