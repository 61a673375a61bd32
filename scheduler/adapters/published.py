"""What an adapter needs to take a published post down again (:meth:`Adapter.retract`).

Kept apart from :mod:`scheduler.adapters.base` (which re-exports both names) so the
publishing interface stays one module's read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scheduler.errors import PermanentPublishError


@dataclass(frozen=True)
class PublishedPost:
    """A delivery that is on the platform, as :meth:`Adapter.retract` needs it.

    ``remote_id``/``url`` are what the platform named when it published; ``reason`` is the
    retraction's reason (the outbox and webhook pass it on); ``claim_token`` fences the
    retraction's claim like a publishing claim.
    """

    delivery_id: str
    post_id: str
    channel: str
    remote_id: str
    url: str | None
    reason: str
    remote_state: Mapping[str, Any] = field(default_factory=dict)
    claim_token: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.post_id}@{self.channel}"


class CannotDelete(PermanentPublishError):
    """The platform (or a plug-in adapter) offers no way to delete a post through its API.

    ``steps`` tell a person exactly how to take it down by hand; the delivery waits in
    ``retract_manual`` until ``postq retract --done`` records that it was done.
    """

    def __init__(self, message: str, steps: list[str]) -> None:
        super().__init__(message)
        self.steps = steps

__all__ = ["CannotDelete", "PublishedPost"]
