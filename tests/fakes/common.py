"""Local stand-ins for the platforms, speaking their documented endpoints and error shapes.

Each fake is the ``handler`` of a :class:`tests.peers.LocalServer`: it keeps just enough
state (containers, posts, uploads) for an adapter's whole flow and for ``check`` to find
an earlier success, and it can be told to fail its *publishing call* in the ways the
platform does:

* ``transient`` — a retryable failure, once;
* ``rate_limit`` — the platform's rate-limit answer with its own header;
* ``permanent`` — a refusal in the platform's words (:attr:`FakePlatform.permanent_text`);
* ``expired_token`` — the platform's answer to an expired or revoked token;
* ``drop`` — the request is carried out, then the connection is cut before the answer;
* ``gateway`` — the request is carried out, then a gateway answers 503 (a CDN or load
  balancer in front of the platform times out while the platform has already written the
  post: RFC 9110 §15.6.4, https://www.rfc-editor.org/rfc/rfc9110#name-503-service-unavailable).

And, as the platforms do:

* **listing lag** — ``listing_lag`` seconds pass before a new post shows in the account's
  listing (timelines are served from caches and fan-out queues; X documents eventual
  consistency of timelines, https://docs.x.com/x-api/posts/timelines/introduction);
* **duplicate refusals** — each fake refuses a second identical post the way its platform
  does (see each module).

Sources for the shapes: Meta's error reference
(https://developers.facebook.com/docs/graph-api/guides/error-handling/), X's
(https://docs.x.com/x-api/fundamentals/response-codes-and-errors), LinkedIn's
(https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling),
Mastodon's and the AT Protocol's XRPC errors.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.peers import LocalServer, Recorded, Reply

#: The moment the fakes (and the adapters' fixed clocks) live in: just after
#: ``make_post``'s default due time.
NOW = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
MODES = ("transient", "rate_limit", "permanent", "expired_token", "drop", "gateway")
#: Failure modes in which the platform acts before the answer goes wrong.
AFTER_CREATE = ("drop", "gateway")


# -- request bodies ---------------------------------------------------------------------


def form_of(req: Recorded) -> dict[str, Any]:
    """Fields of a urlencoded or multipart body; multipart files as ``(filename, bytes)``."""
    ctype = req.headers.get("Content-Type", "")
    if ctype.startswith("multipart/form-data"):
        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + req.body)
        out: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            out[str(name)] = (filename, payload) if filename else payload.decode("utf-8")
        return out
    if ctype.startswith("application/x-www-form-urlencoded"):
        return {k: v[-1] for k, v in parse_qs(req.body.decode(), keep_blank_values=True).items()}
    return {}


def json_of(req: Recorded) -> Any:
    try:
        return json.loads(req.body or b"null")
    except ValueError:
        return None


def split(req: Recorded) -> tuple[str, dict[str, str]]:
    parts = urlsplit(req.path)
    return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}


# -- the common part --------------------------------------------------------------------


class FakePlatform:
    """Failure modes, ids and the bearer-token check shared by every fake."""

    #: The words of this platform's permanent refusal (tests look for them).
    permanent_text = "refused"

    def __init__(self, server: LocalServer, token: str, *, now: datetime = NOW) -> None:
        self.server = server
        self.base_url = server.base_url
        self.token = token
        self.now = now
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._next_id = 18_000_000_000_000_000
        self.publish_calls = 0
        #: Seconds before a new post shows in listings; see the module docstring.
        self.listing_lag = 0.0
        self._created_at: dict[str, float] = {}
        #: Failure modes for the next delete calls, and how many delete calls came.
        self._delete_failures: list[str] = []
        self.delete_calls = 0
        server.handler = self

    def created(self, remote_id: str) -> None:
        """Note when a post was created, for the listing lag."""
        self._created_at[remote_id] = time.monotonic()

    def listed(self, remote_id: str) -> bool:
        """Whether listings show the post yet."""
        made = self._created_at.get(remote_id)
        return made is None or time.monotonic() - made >= self.listing_lag

    @staticmethod
    def after_create(mode: str) -> Reply:
        """The answer to a call the platform has carried out, in mode ``drop``/``gateway``."""
        if mode == "gateway":
            return Reply(503, "<html><body><h1>503 Service Unavailable</h1>No server is "
                              "available to handle this request.</body></html>",
                         headers={"Content-Type": "text/html"})
        return Reply(drop=True)

    def fail_next(self, mode: str, times: int = 1) -> None:
        assert mode in MODES, mode
        self._failures.extend([mode] * times)

    def fail_next_delete(self, mode: str, times: int = 1) -> None:
        """Make the next delete call(s) fail like the publishing call does in ``mode``."""
        assert mode in ("transient", "rate_limit", "permanent", "expired_token"), mode
        self._delete_failures.extend([mode] * times)

    def take_delete_failure(self) -> str | None:
        with self._lock:
            self.delete_calls += 1
            return self._delete_failures.pop(0) if self._delete_failures else None

    def take_failure(self) -> str | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    def authorised(self, req: Recorded) -> bool:
        return req.headers.get("Authorization") == f"Bearer {self.token}"

    def __call__(self, req: Recorded) -> Reply:
        path, query = split(req)
        return self.handle(req, path, query)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        raise NotImplementedError


