"""One error hierarchy for the whole core.

The command line turns any :class:`PostqError` into one sentence on stderr and exit code 1
in a single place (``scheduler.cli._errors``); nothing in the core prints or exits. Keeping
the core free of click means the same errors serve the publisher, the tests and plug-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class PostqError(Exception):
    """Base of every error postq raises on purpose."""

    exit_code = 1

    def messages(self) -> list[str]:
        """Each problem as one line; most errors carry one, validation carries many."""
        return [str(self)]


@dataclass(frozen=True)
class Problem:
    """One problem found in a post file: ``path:line: field: message``."""

    path: str
    line: int | None
    field: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
        }


class PostFileError(PostqError):
    """One or more problems in post files; every problem is kept, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def messages(self) -> list[str]:
        return [str(p) for p in self.problems]


class ConfigError(PostqError):
    """The configuration file is missing, unreadable or has a bad key."""

    def __init__(
        self, message: str, path: Path | str | None = None, key: str | None = None
    ) -> None:
        self.path = str(path) if path else None
        self.key = key
        where = f"{path}: " if path else ""
        what = f"{key}: " if key else ""
        super().__init__(f"{where}{what}{message}")


class UsageError(PostqError):
    """The user asked for something impossible (unknown id, past time, wrong state)."""


class MediaError(PostqError):
    """An image could not be opened, decoded or rendered."""


class StoreError(PostqError):
    """The queue database refused an operation."""


class ClaimLost(StoreError):
    """A publisher tried to record an outcome for a claim another publisher took over."""


class AdapterNotFound(PostqError):
    """A channel names an adapter no installed distribution provides."""


class PublishError(PostqError):
    """Base of the errors an adapter raises while publishing."""


class AuthError(PublishError):
    """Credentials are missing, wrong or expired: no retry will help until a human acts."""


class RateLimited(PublishError):
    """The platform asked us to slow down; ``retry_after`` is in seconds when known."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientPublishError(PublishError):
    """A failure worth retrying (5xx, timeouts, media still processing)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StillProcessing(TransientPublishError):
    """The platform is still processing an uploaded video after the wait one publishing
    call may spend on it (:data:`scheduler.adapters.base.VIDEO_WAIT_BUDGET`).

    The upload's id is in the delivery's recorded progress, so the next attempt polls the
    same upload again instead of sending the video a second time.
    """


class PermanentPublishError(PublishError):
    """A failure no retry will fix (rejected content, duplicate, permissions)."""


class OutcomeUnknown(PublishError):
    """The request may or may not have reached the platform (connection cut mid-call).

    The publisher must settle it with ``Adapter.check`` and never blindly send again.
    """


class DuplicateRefused(PermanentPublishError):
    """The platform refused the post as a copy of one it already has.

    That earlier post may be this delivery's own, from an attempt whose answer was lost,
    so adapters ask the platform (``Adapter.settle_duplicate``) before calling it a failure.
    """
