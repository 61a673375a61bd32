"""The adapter interface every platform implements, built-ins and plug-ins alike.

An adapter gets a frozen :class:`OutgoingPost` — the snapshot that was approved, byte for
byte — and either returns :class:`Published` or raises one of the shared error types, so
the publisher can decide between retrying, failing and asking a human without knowing
anything about the platform. ``check`` settles an unknown outcome by asking the platform
(record key, idempotency key or lookup), never by sending again.
"""

from __future__ import annotations

import logging
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

# Re-exported: plug-ins import the outgoing types from here.
from scheduler.adapters.outgoing import OutgoingImage, OutgoingPost
from scheduler.adapters.outgoing import OutgoingVideo as OutgoingVideo
from scheduler.adapters.processing import (
    VIDEO_WAIT_BUDGET,
    Processing,
    wait_for_processing,
)
from scheduler.adapters.published import CannotDelete, PublishedPost
from scheduler.errors import (
    AuthError,
    ClaimLost,
    ConfigError,
    DuplicateRefused,
    OutcomeUnknown,
    PermanentPublishError,
    PostqError,
    PublishError,
    TransientPublishError,
)
from scheduler.platforms import (
    MIXED_CAROUSELS,
    PlatformProfile,
    find_urls,
    get_profile,
    title_of,
)
from scheduler.redaction import remember
from scheduler.timeutil import Clock

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Published:
    """Where the post now lives; ``ref`` is what a reply to it needs beside the id
    (a Bluesky ``cid``), kept with a thread's parts."""

    remote_id: str
    url: str | None = None
    ref: Mapping[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PlannedRequest:
    """One HTTP request an adapter would send, for ``--dry-run``; secrets already redacted."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": self.headers, "body": self.body}


class AdapterSettings(BaseModel):
    """Settings of one channel, checked by the adapter's own model.

    Keys ending in ``_env`` name environment variables that hold secrets; the secret
    itself is read with :meth:`Adapter.secret` at the moment it is needed.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    adapter: str
    text_limit: int | None = None
    profile: str | None = None


class Adapter(ABC):
    """Base class of every adapter. Subclasses set the class attributes below."""

    #: The platform profile name in :mod:`scheduler.platforms` (limits and counting).
    platform: ClassVar[str]
    #: Pydantic model of the channel settings this adapter accepts.
    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    #: Whether ``check() -> None`` proves the post is not on the platform. Adapters that
    #: cannot ask (a webhook) set False, and an unknown outcome then waits for a person.
    check_is_authoritative: ClassVar[bool] = True
    #: A custom profile for platforms postq does not know; wins over ``platform``.
    profile_override: ClassVar[PlatformProfile | None] = None
    #: How long after the creating call a listing may still miss the new post. Until
    #: then a ``check`` that finds nothing proves nothing (:meth:`nothing_found`).
    listing_lag: ClassVar[timedelta] = timedelta(0)
    #: Whether ``publish`` sends :attr:`OutgoingPost.video`. The publisher holds a video
    #: post back from an adapter that does not, rather than let its caption go alone.
    publishes_video: ClassVar[bool] = False
    #: The channel's :class:`~scheduler.credentials.tokens.TokenSource` when it keeps its
    #: tokens in the credential store (``auth = "oauth2"``); set by ``credentials.attach``.
    tokens: Any = None

    def __init__(
        self,
        channel: str,
        settings: AdapterSettings,
        *,
        env: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        data_dir: Path | None = None,
    ) -> None:
        self.channel = channel
        self.settings = settings
        self.env = env if env is not None else os.environ
        self.clock = clock or Clock()
        self.data_dir = data_dir
        #: Set by the publisher: ``(delivery_id, remote_state)`` kept in the store, so a
        #: restart or the next ``run --once`` resumes from the ids instead of redoing.
        self.save_progress: Callable[[str, dict[str, Any], int | None], None] | None = None
        self._progress: dict[str, dict[str, Any]] = {}
        self._progress_lock = threading.Lock()

    # -- construction -------------------------------------------------------------------
    @classmethod
    def parse_settings(cls, channel: str, raw: Mapping[str, Any]) -> AdapterSettings:
        try:
            return cls.settings_model.model_validate(dict(raw))
        except ValidationError as exc:
            parts = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                msg = msg.removeprefix("Value error, ")
                where = f"channels.{channel}.{key}" if key else f"channels.{channel}"
                parts.append(f"{where}: {msg}")
            raise ConfigError("; ".join(parts)) from None

    @classmethod
    def profile(cls, text_limit: int | None = None) -> PlatformProfile:
        if cls.profile_override is not None:
            return cls.profile_override
        prof = get_profile(cls.platform, text_limit)
        if prof is None:
            raise ConfigError(f"adapter declares unknown platform '{cls.platform}'")
        return prof

    # -- secrets ------------------------------------------------------------------------
    def secret_names(self) -> dict[str, str]:
        """``{setting key: environment variable name}`` for every ``*_env`` setting."""
        out = {}
        for key, value in self.settings.model_dump().items():
            if key.endswith("_env") and value:
                out[key] = str(value)
        return out

    def secret(self, key: str) -> str:
        """The secret named by setting ``key``; AuthError naming the variable if unset.

        Surrounding whitespace is stripped (secret files end in a newline, which would
        otherwise travel in a header and defeat redaction of the bare value), and the
        value is remembered for :func:`scheduler.redaction.redact`.
        """
        var = getattr(self.settings, key, None)
        if not var:
            raise AuthError(f"channel '{self.channel}' has no {key} setting")
        value = self.env.get(str(var), "").strip()
        if not value:
            raise AuthError(
                f"channel '{self.channel}': environment variable {var} is not set"
            )
        remember(value)
        return value

    def bearer(self) -> str:
        """The access token to send: the credential store's (renewed when due) when the
        channel uses it, else the ``token_env`` variable's. The one way adapters get it."""
        if self.tokens is not None:
            return str(self.tokens.access_token())
        if getattr(self.settings, "auth", None) == "oauth2":
            raise AuthError(f"channel '{self.channel}' keeps its tokens in the credential "
                            "store, which was not opened for this adapter")
        return self.secret("token_env")

    def secrets(self) -> list[str]:
        """Every secret value currently set, so output can be scrubbed of them."""
        found = [v for v in (self.env.get(n, "").strip()
                             for n in self.secret_names().values()) if v]
        found += self.tokens.secrets() if self.tokens is not None else []
        remember(*found)
        return found

    def readiness(self) -> list[str]:
        """What stops this channel from publishing now (missing variables and the like)."""
        return [
            f"environment variable {var} ({key}) is not set"
            for key, var in self.secret_names().items()
            if not self.env.get(var, "").strip()
        ]

    # -- limits -------------------------------------------------------------------------
    def fit_problems(
        self, post: OutgoingPost, profile: PlatformProfile | None = None, who: str | None = None
    ) -> list[str]:
        """What ``post`` breaks of the platform's limits, the same ones validation used.

        Checked again on the exact snapshot before any request, so a post the platform
        would refuse after the uploads is refused before them, with the count and limit.
        Adapters whose limits are read at run time (a Mastodon instance) pass a profile.
        """
        profile = profile or self.profile(self.settings.text_limit)
        who = who or title_of(profile)
        problems = []
        parts = post.parts
        for n, text in enumerate(parts, 1):
            what = "the caption" if len(parts) == 1 else f"part {n} of {len(parts)}"
            length = profile.count(text)
            if length > profile.text_limit:
                problems.append(f"{what} is {length} {profile.counting}; {who} allows "
                                f"{profile.text_limit}")
            size = len(text.encode("utf-8"))
            if profile.text_max_bytes is not None and size > profile.text_max_bytes:
                problems.append(f"{what} is {size:,} bytes in UTF-8; {who} allows "
                                f"{profile.text_max_bytes:,}")
        if len(post.images) > profile.max_images:
            problems.append(f"{len(post.images)} images; {who} allows {profile.max_images}")
        elif post.images and post.video is not None:
            if not self.takes_mixed(profile):
                problems.append(f"{len(post.images)} image(s) and a video; {who} takes "
                                "images or one video, not both")
            elif len(post.images) + 1 > profile.max_images:
                problems.append(f"{len(post.images)} images and a video; {who} allows "
                                f"{profile.max_images} items in a carousel")
        if profile.requires_image and not post.images and post.video is None:
            problems.append(f"{who} needs at least one image or a video")
        if profile.max_links is not None:
            links = max(len(find_urls(text)) for text in parts)
            if links > profile.max_links:
                problems.append(f"{links} links; {who} allows {profile.max_links}")
        if post.video is not None and len(post.video.alt) > profile.alt_limit:
            problems.append(f"the video's alt text is {len(post.video.alt)} characters; {who} "
                            f"allows {profile.alt_limit}")
        for n, image in enumerate(post.images, start=1):
            if image.mime.split("/")[-1] not in profile.formats:
                problems.append(f"image {n} is {image.mime}; {who} takes "
                                f"{', '.join(profile.formats)}")
            if not image.alt.strip():
                problems.append(f"image {n} has no alt text")
            elif len(image.alt) > profile.alt_limit:
                problems.append(f"image {n} alt text is {len(image.alt)} characters; {who} "
                                f"allows {profile.alt_limit}")
            size = image.path.stat().st_size
            if size > profile.image_max_bytes:
                problems.append(f"image {n} is {size} bytes; {who} allows at most "
                                f"{profile.image_max_bytes}")
        return problems

    def takes_mixed(self, profile: PlatformProfile) -> bool:
        """Whether this channel publishes images and a video together (one carousel), as
        validation decided (:func:`scheduler.content.video.takes_mixed`)."""
        return profile.name in MIXED_CAROUSELS

    def check_fits(self, post: OutgoingPost, profile: PlatformProfile | None = None,
                   who: str | None = None) -> None:
        """Raise PermanentPublishError listing every limit ``post`` breaks."""
        problems = self.fit_problems(post, profile, who)
        if problems:
            raise PermanentPublishError(f"channel '{self.channel}': " + "; ".join(problems))

    # -- progress kept between attempts -------------------------------------------------
    def _delivery_state(self, post: OutgoingPost) -> dict[str, Any]:
        with self._progress_lock:
            known = self._progress.get(post.delivery_id)
        return dict(known if known is not None else post.remote_state or {})

    def progress(self, post: OutgoingPost) -> dict[str, Any]:
        """What earlier steps recorded for ``post``: in this process, or in the store.

        A thread's later parts keep their own steps under ``partN`` of the delivery's
        state, so each part is created exactly once like a post of its own."""
        state = self._delivery_state(post)
        if post.part > 1:
            return dict(state.get(f"part{post.part}") or {})
        return state

    def remember(self, post: OutgoingPost, **values: Any) -> dict[str, Any]:
        """Record remote ids (uploads, containers, the created post) before the next call.

        Saved in the store through :attr:`save_progress` at once, so a crash between two
        steps leaves what is needed to finish the first instead of starting again. A value
        of None removes the key.
        """
        full = self._delivery_state(post)
        state = full if post.part == 1 else dict(full.get(f"part{post.part}") or {})
        for key, value in values.items():
            if value is None:
                state.pop(key, None)
            else:
                state[key] = value
        if post.part > 1:
            full[f"part{post.part}"] = state
        with self._progress_lock:
            self._progress[post.delivery_id] = full
        if self.save_progress is not None:
            try:
                self.save_progress(post.delivery_id, dict(full), post.claim_token)
            except ClaimLost:
                raise  # another publisher owns the delivery now: not one more call from here
            except Exception as exc:  # the store is busy or gone: do not take the next step
                raise TransientPublishError(
                    f"channel '{self.channel}': could not record progress before the next "
                    f"call: {exc}") from exc
        return state

    def uploaded(self, post: OutgoingPost, image: OutgoingImage, upload: Callable[[], Any],
                 *, keep: timedelta = timedelta(hours=20)) -> Any:
        """The platform's id for ``image``: the one an earlier attempt recorded, while the
        platform still keeps unattached uploads (``keep``), else uploaded now and recorded."""
        done = dict(self.progress(post).get("uploads") or {})
        position = next((n for n, im in enumerate(post.images) if im is image), 0)
        key = f"{position + 1}:{image.sha256}"
        entry = done.get(key)
        now = self.clock.now()
        if isinstance(entry, dict) and "id" in entry:
            try:
                fresh = now - datetime.fromisoformat(str(entry.get("at"))) < keep
            except ValueError:
                fresh = False
            if fresh:
                return entry["id"]
        remote = upload()
        done[key] = {"id": remote, "at": now.isoformat()}
        self.remember(post, uploads=done)
        return remote

    def creating(self, post: OutgoingPost) -> None:
        """Note that the call which makes the post public is about to be sent.

        After an ambiguous answer, :meth:`nothing_found` uses the moment to tell "not there"
        from "not listed yet".
        """
        self.remember(post, create_sent_at=self.clock.now().isoformat())

    def created(self, post: OutgoingPost, published: Published) -> Published:
        """Record the post the platform named, so ``check`` asks for it by id.

        The post exists whatever happens here: a store that cannot take the note now must
        not turn a success into a failure (the publisher records the result itself).
        """
        try:
            self.remember(post, remote_id=published.remote_id, url=published.url,
                          create_sent_at=None)
        except TransientPublishError:
            log.warning("channel '%s': published %s but could not note it early",
                        self.channel, published.remote_id)
        return published

    def refused(self, post: OutgoingPost) -> None:
        """The creating call got a definite refusal: nothing was created by it."""
        try:
            self.remember(post, create_sent_at=None)
        except TransientPublishError:
            pass  # the note only shortens a later wait; the refusal itself matters more

    def nothing_found(self, post: OutgoingPost) -> None:
        """What ``check`` returns when the listing lacks the post: None ("certainly not
        there"), unless the creating call went out so recently that the platform's
        listing may not show it yet; then the outcome stays unknown for a later check."""
        sent = self.progress(post).get("create_sent_at")
        if sent and self.listing_lag:
            try:
                when = datetime.fromisoformat(str(sent))
            except ValueError:
                when = None
            if when is not None and self.clock.now() - when < self.listing_lag:
                seconds = int(self.listing_lag.total_seconds())
                raise OutcomeUnknown(
                    f"channel '{self.channel}': the post is not listed yet, and the platform "
                    f"may take up to {seconds} s to list a new post; asking again later")
        return None

    def create(self, post: OutgoingPost, send: Callable[[], Published]) -> Published:
        """Make the one call that publishes, under the rule every adapter keeps.

        * An earlier attempt whose outcome is unknown is asked about first (``check``),
          never repeated blindly; a post found there is the result.
        * The moment of sending is recorded before sending; the post's id after it.
        * A lost answer or a gateway 5xx (OutcomeUnknown) goes to the publisher, which
          settles it with ``check``; a duplicate refusal is settled here the same way.
        """
        earlier = self.progress(post)
        if earlier.get("create_sent_at") or earlier.get("remote_id"):
            found = self.check(post)
            if found is not None:
                return self.created(post, found)
        self.creating(post)
        try:
            published = send()
        except DuplicateRefused as exc:
            return self.settle_duplicate(post, exc)
        except OutcomeUnknown:
            raise
        except PostqError:  # a definite answer: this call created nothing
            self.refused(post)
            raise
        return self.created(post, published)

    def settle_duplicate(self, post: OutgoingPost, refusal: PublishError) -> Published:
        """The platform refused the post as a duplicate: it may be this delivery's own
        post from an attempt whose answer was lost. Ask, then settle: published if it is
        found, a clear permanent failure if an older identical post is in the way."""
        self.refused(post)
        found = self.check(post)
        if found is not None:
            return self.created(post, found)
        raise PermanentPublishError(
            f"{refusal} — the platform holds an identical post that is not this delivery's "
            "(none was found since its due time); change the caption or remove the old post")

    def await_processing(self, post: OutgoingPost, what: str, poll: Callable[[], Processing],
                         sleep: Callable[[float], None], *, forget: Callable[[], None]
                         | None = None, budget: float = VIDEO_WAIT_BUDGET) -> None:
        """Wait for the platform to finish processing an uploaded video: the one way every
        adapter does it, so that no adapter holds its publisher for minutes.

        The caller records the upload's id (:meth:`remember`) *before* calling this. The
        status is polled with back-off (1 s doubling to 8 s, or the platform's own
        ``wait``), for at most ``budget`` seconds in all; then :class:`StillProcessing`
        (a transient error with the platform's suggested wait as ``retry_after``) sends
        the delivery back to the queue, and the next attempt finds the recorded id and
        polls the same upload again — nothing is uploaded twice. Such attempts are counted
        in the progress (``processing_waits``) and do not count towards ``max_attempts``;
        the delivery's deadline bounds the waiting. A platform-side failure
        is a permanent failure quoting the platform's reason; ``forget`` drops the
        recorded upload first, so a retry after the post is fixed uploads anew.
        """
        wait_for_processing(self, post, what, poll, sleep, forget=forget, budget=budget)

    # -- threads ------------------------------------------------------------------------
    def part_post(self, post: OutgoingPost, n: int, done: list[dict[str, Any]]) -> OutgoingPost:
        """Part ``n`` of a thread as a post of its own: its text, the media on the first
        part only, and what it replies to (the part before it, and the first)."""
        first = n == 1
        return replace(post, caption=post.parts[n - 1], part=n,
                       images=post.images if first else (),
                       video=post.video if first else None,
                       reply_to=done[n - 2] if n > 1 else None,
                       thread_root=done[0] if n > 1 else None)

    def publish_thread(self, post: OutgoingPost,
                       one: Callable[[OutgoingPost], Published]) -> Published:
        """Publish each part of a thread with ``one`` in order, each a reply to the one
        before it, exactly once as a whole.

        Each published part is recorded in ``remote_state["thread"]`` before the next is
        sent, and each part keeps its own progress (``partN``), so an attempt that failed
        after part two resumes at part three: parts on record are never sent again, and a
        part whose answer was lost is asked about (``check``) before it is sent.
        A post that is no thread goes to ``one`` as it is."""
        if len(post.parts) == 1:
            return one(post)
        done = list(self.progress(post).get("thread") or [])
        for n in range(len(done) + 1, len(post.parts) + 1):
            try:
                published = one(self.part_post(post, n, done))
            except PermanentPublishError as exc:
                if not done:
                    raise
                # The delivery fails, but what went out stays out: say so, with where.
                which, them = ("part 1 of the thread is", "it") if len(done) == 1 else \
                    (f"parts 1 to {len(done)} of the thread are", "them")
                where = ", ".join(str(p.get("url") or p.get("id")) for p in done)
                raise PermanentPublishError(
                    f"{exc}; {which} public ({where}); the rest was not published: delete "
                    f"{them} by hand or publish the rest") from exc
            done.append({**(published.ref or {}), "id": published.remote_id,
                         "url": published.url})
            self.remember(post, thread=done)
        return Published(str(done[0]["id"]), done[0].get("url"))

    def check_thread(self, post: OutgoingPost,
                     one: Callable[[OutgoingPost], Published | None]) -> Published | None:
        """After an unknown outcome: the thread, if every part is on the platform (each
        part not on record that was sent is asked about with ``one``); None while a part
        is missing or was never sent, so the next attempt sends the rest."""
        if len(post.parts) == 1:
            return one(post)
        done = list(self.progress(post).get("thread") or [])
        for n in range(len(done) + 1, len(post.parts) + 1):
            part = self.part_post(post, n, done)
            sent = self.progress(part)
            if not (sent.get("create_sent_at") or sent.get("remote_id")):
                # Never sent (the moment is recorded before every creating call): it is
                # certainly not there, and a listing match would be another post's.
                return None
            found = one(part)
            if found is None:
                return None
            done.append({**(found.ref or {}), "id": found.remote_id, "url": found.url})
            self.remember(post, thread=done)
        return Published(str(done[0]["id"]), done[0].get("url"))

    def publish_commented(self, post: OutgoingPost, one: Callable[[OutgoingPost], Published],
                          comment: Callable[[OutgoingPost], Published]) -> Published:
        """The post with ``one``, then its first comment (the caption's last part) with
        ``comment``, each exactly once, by the same steps as a thread's parts (the comment
        replies to the post: ``reply_to``).

        A transient failure of the comment sends the delivery back for a retry that
        resumes at the comment. A refusal for good (comments turned off on the post) does
        not undo a post that is public: it is published, and the refusal is kept in
        ``remote_state["comment_error"]``."""
        def part(p: OutgoingPost) -> Published:
            if p.part == 1:
                return one(p)
            try:
                return self.create(p, lambda: comment(p))
            except PermanentPublishError as exc:
                log.warning("channel '%s': the first comment was refused: %s",
                            self.channel, exc)
                self.remember(post, comment_error=str(exc))
                return Published(remote_id="")
        return self.publish_thread(post, part)

    @staticmethod
    def thread_ids(post: PublishedPost) -> list[str]:
        """Every published part of a delivery, last first (the order to delete them in):
        a thread's parts as recorded, or the one post."""
        parts = [str(p["id"]) for p in (post.remote_state.get("thread") or [])
                 if isinstance(p, dict) and p.get("id")]
        if post.remote_id not in parts:
            parts.insert(0, post.remote_id)
        return parts[::-1]

    # -- publishing ---------------------------------------------------------------------
    @abstractmethod
    def publish(self, post: OutgoingPost) -> Published:
        """Send the post; raise AuthError, RateLimited, Transient/PermanentPublishError."""

    @abstractmethod
    def check(self, post: OutgoingPost) -> Published | None:
        """After an unknown outcome: the earlier success if the platform has it, else None."""

    # -- retracting --------------------------------------------------------------------
    def retract(self, post: PublishedPost) -> None:
        """Delete a published post from the platform; return once it is gone.

        A post that is already gone (404) is success: deleting is safe to repeat. Raise
        AuthError, RateLimited or Transient/PermanentPublishError like ``publish``.
        Adapters that cannot delete leave this as it is: it raises :class:`CannotDelete`
        with the steps a person follows instead.
        """
        raise CannotDelete(
            f"channel '{self.channel}': the {self.settings.adapter} adapter cannot delete "
            "posts through the platform's API; a person must remove it",
            self.manual_steps(post))

    def manual_steps(self, post: PublishedPost) -> list[str]:
        """What a person does to take ``post`` down by hand."""
        where = post.url or f"the post with id {post.remote_id}"
        return [
            f"Open {where} while signed in to the account of channel '{self.channel}'.",
            "Delete the post with the platform's own menu.",
            f"Record it: postq retract --done {post.ref}",
        ]

    def is_gone(self, post: PublishedPost) -> bool | None:
        """After ``retract``: True when the platform confirms the post no longer exists
        (404), False when it still serves it, None when this adapter cannot ask."""
        return None

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        """The requests ``publish`` would send, for dry runs. Adapters override this."""
        return []

    def plan_parts(self, post: OutgoingPost) -> list[PlannedRequest]:
        """:meth:`plan` for every part of a thread (or a post and its first comment), each
        later part replying to placeholder ids; a request planned twice (signing in,
        asking the quota) is shown once."""
        if len(post.parts) == 1:
            return self.plan(post)
        done = [{"id": f"<id of part {n}>", "cid": f"<cid of part {n}>", "url": None}
                for n in range(1, len(post.parts) + 1)]
        out: list[PlannedRequest] = []
        for n in range(1, len(post.parts) + 1):
            for request in self.plan_part(self.part_post(post, n, done)):
                if request not in out:
                    out.append(request)
        return out

    def plan_part(self, part: OutgoingPost) -> list[PlannedRequest]:
        """The requests of one part; platforms whose later part is a comment say so."""
        return self.plan(part)

    def verify(self) -> str:
        """One harmless authenticated call; returns a short status line (channels --check)."""
        return "no remote check for this adapter"

    def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release sessions and sockets."""
