"""A generic receiver for the webhook adapter.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, json_of
from tests.peers import LocalServer, Recorded, Reply

# -- a generic receiver for the webhook adapter --------------------------------------------


class FakeWebhookReceiver(FakePlatform):
    """A receiver that stores each delivery and answers ``{"id", "url"}``."""

    permanent_text = "caption rejected by the CMS"

    def __init__(self, server: LocalServer, now: datetime = NOW) -> None:
        super().__init__(server, token="", now=now)
        self.received: list[dict[str, Any]] = []

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        self.publish_calls += 1
        mode = self.take_failure()
        if mode == "transient":
            return Reply(502, {"error": "Bad Gateway"})
        if mode == "rate_limit":
            return Reply(429, {"error": "slow down"}, headers={"Retry-After": "45"})
        if mode == "permanent":
            return Reply(400, {"error": self.permanent_text})
        if mode == "expired_token":
            return Reply(401, {"error": "signature key expired"})
        doc = json_of(req) or {}
        self.received.append(doc)
        if mode in AFTER_CREATE:
            return self.after_create(mode)
        return Reply(201, {"id": f"cms-{len(self.received)}", "url": "https://cms.example/p/1"})

