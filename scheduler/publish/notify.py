"""Failure notices: tell a configured channel (a chat-room webhook, say) when a delivery
fails, needs a check or is missed, so nothing fails silently."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from scheduler.adapters.base import OutgoingPost
from scheduler.errors import ConfigError, PostqError
from scheduler.publish.worker import Outcome, Publisher
from scheduler.redaction import redact

log = logging.getLogger("postq.notify")

_WORDS = {"failed": "FAILED", "needs_check": "NEEDS A CHECK", "missed": "was MISSED",
          "held": "was HELD, not published", "retry_wait": "waits to be retried",
          "retracted": "was RETRACTED", "retract_failed": "could NOT BE RETRACTED",
          "retract_manual": "must be REMOVED BY HAND"}


def notice_text(outcome: Outcome) -> str:
    if outcome.delivery_id.startswith("credential:"):  # a retired credential, not a delivery
        return f"postq: {outcome.detail}"
    what = _WORDS.get(outcome.state, outcome.state)
    text = f"postq: delivery {outcome.ref} {what}"
    if outcome.detail:
        text += f": {outcome.detail}"
    if outcome.state == "needs_check":
        text += " (it may already be live; settle it with `postq queue show` and `queue retry`)"
    return text


class Notifier:
    """Sends one notice per outcome through the ``[notify]`` channel's adapter."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self.settings = publisher.settings.notify
        self.sent: list[str] = []

    def __call__(self, outcome: Outcome) -> None:
        channel = self.settings.channel
        if not channel or (outcome.state not in self.settings.on and not outcome.notify):
            return
        if outcome.ref.endswith(f"@{channel}"):
            return  # never notify a channel about its own failure in a loop
        try:
            self.send(notice_text(outcome), f"{outcome.delivery_id}:{outcome.state}",
                      outcome.ref.split("@")[0])
        except PostqError as exc:
            log.error("failure notice to %s not sent: %s", channel, exc)

    def send(self, text: str, key: str, post_id: str = "postq") -> None:
        """Post ``text`` to the notify channel; ``key`` makes its delivery id unique.

        Raises the adapter's PostqError when the notice could not be sent.
        """
        channel = self.settings.channel
        # Outcomes are redacted already; the notice is cleaned again because it goes to
        # another channel, possibly outside the organisation.
        text = redact(text)
        if not channel:
            raise ConfigError("[notify] channel is not set in postq.toml, so there is "
                              "nobody to tell")
        now = self.publisher.clock.now()
        digest = hashlib.sha256(f"{key}:{now}".encode()).hexdigest()
        post = OutgoingPost(
            delivery_id=f"notice-{digest[:16]}", post_id=post_id,
            channel=channel, caption=text, images=(), language="en",
            content_hash=digest, due_at=now,
        )
        self.publisher.adapter(channel).publish(post)
        self.sent.append(text)


def attach(publisher: Publisher) -> Any:
    """Wire notices into a publisher when ``[notify] channel`` is set."""
    if publisher.settings.notify.channel:
        publisher.settings.channel(publisher.settings.notify.channel)  # fail early if unknown
        publisher.on_outcome = Notifier(publisher)
    return publisher.on_outcome
