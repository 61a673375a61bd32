"""How one request travels: a total deadline, a size cap, and redirects that keep secrets.

requests gives each socket operation a timeout, not the exchange as a whole: a server
that sends one byte every 20 seconds never trips a 60-second read timeout and holds a
delivery (and ``postq run --once``, and a SIGTERM waiting for the call in flight)
forever. Here every exchange runs under a :class:`Deadline` that shuts the connection's
socket down when the time is up, wherever the exchange is (connecting, sending, waiting
for headers, reading the body). The body is streamed and abandoned beyond a byte cap, so
a hostile or broken server cannot fill memory. Redirects are followed by hand so each hop
can be checked before anything is sent to it: a request that carries a credential is
never re-sent to another origin (a 307/308 keeps the body, password included).

Limits can be lowered or raised for a process with ``POSTQ_HTTP_DEADLINE`` (seconds) and
``POSTQ_HTTP_MAX_BYTES``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from scheduler.errors import ConfigError
from scheduler.redaction import SECRET_HEADERS

#: Seconds for one whole exchange: connect, send (uploads of a few MB included), read.
DEFAULT_DEADLINE = 120.0
#: Largest answer read, in bytes. Platform answers are small JSON documents.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-operation timeouts, the total deadline and the answer size cap."""

    connect: float = 10.0
    read: float = 60.0
    deadline: float = DEFAULT_DEADLINE
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Limits:
        """Defaults, overridden by ``POSTQ_HTTP_DEADLINE`` / ``POSTQ_HTTP_MAX_BYTES``."""
        env = os.environ if env is None else env
        deadline = _positive(env, "POSTQ_HTTP_DEADLINE", DEFAULT_DEADLINE, float)
        max_bytes = int(_positive(env, "POSTQ_HTTP_MAX_BYTES", DEFAULT_MAX_BYTES, int))
        return cls(connect=min(10.0, deadline), read=min(60.0, deadline), deadline=deadline,
                   max_bytes=max_bytes)


def _positive(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not 0 < value < 10**12:
        raise ConfigError(f"environment variable {name} must be a positive number, not {raw!r}")
    return float(value)


# -- failures the client turns into the shared error types ------------------------------


class ExchangeError(Exception):
    """Base of the transport's own failures; ``HttpClient`` words them for the user."""


class DeadlineExceeded(ExchangeError):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds


class TooLarge(ExchangeError):
    def __init__(self, limit: int, announced: int | None = None) -> None:
        size = f"announced {announced} bytes" if announced is not None else "grew"
        super().__init__(f"the answer {size}, beyond the limit of {limit} bytes; not read")
        self.limit = limit


class RedirectRefused(ExchangeError):
    def __init__(self, target: str, reason: str) -> None:
        super().__init__(f"redirected to {target}; {reason}")
        self.target = target


# -- the deadline -----------------------------------------------------------------------

_current = threading.local()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a recv/send blocked in another thread
    except OSError:
        pass


class Deadline:
    """Shuts down every socket the exchange uses once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired:
            _shutdown(sock)

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)

    def check(self) -> None:
        if self.fired or time.monotonic() >= self.expires:
            raise DeadlineExceeded(self.seconds)

    @contextmanager
    def running(self) -> Iterator[Deadline]:
        _current.deadline = self
        self._timer.start()
        try:
            yield self
        finally:
            self._timer.cancel()
            _current.deadline = None


def _watch_current(sock: socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _Watched:
    """Mixin for urllib3 connections: hand each socket in use to the running deadline."""

    sock: socket.socket | None

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        _watch_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> Any:
        _watch_current(self.sock)  # a kept-alive connection connects no more
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}


def new_session() -> requests.Session:
    """A session whose connections obey :class:`Deadline`."""
    session = requests.Session()
    adapter = _WatchedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# -- origins ----------------------------------------------------------------------------


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with default ports filled in (RFC 6454)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


# -- one exchange -----------------------------------------------------------------------


def read_body(response: requests.Response, limits: Limits, deadline: Deadline) -> None:
    """Read the whole (decoded) body into ``response`` under the cap and the deadline."""
    announced = response.headers.get("Content-Length", "").strip()
    if announced.isdigit() and int(announced) > limits.max_bytes:
        raise TooLarge(limits.max_bytes, int(announced))
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body += chunk
        if len(body) > limits.max_bytes:
            raise TooLarge(limits.max_bytes)
        deadline.check()
    if deadline.fired:  # a shut-down socket can look like a short, complete body
        raise DeadlineExceeded(deadline.seconds)
    response._content = bytes(body)
    response._content_consumed = True


def exchange(
    session: requests.Session,
    method: str,
    url: str,
    *,
    limits: Limits,
    follow: bool,
    carries_secret: bool,
    **kwargs: Any,
) -> requests.Response:
    """Send one request and read its answer, all within ``limits``.

    Redirects are followed only when ``follow`` (a request safe to repeat) and, when the
    request carries a credential, only within the same origin (an upgrade from http to
    https on the same host included). Raises :class:`ExchangeError` subclasses and
    requests' own exceptions; the caller maps them.
    """
    deadline = Deadline(limits.deadline)
    timeout = (limits.connect, limits.read)
    with deadline.running():
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = session.request(method, url, allow_redirects=False, stream=True,
                                           timeout=timeout, **kwargs)
            except requests.RequestException:
                deadline.check()
                raise
            target = session.get_redirect_target(response) if follow else None
            if target is None:
                try:
                    read_body(response, limits, deadline)
                except requests.RequestException:
                    response.close()
                    deadline.check()
                    raise
                except ExchangeError:
                    response.close()
                    raise
                return response
            response.close()
            target = urljoin(response.url, target)
            if not _may_follow(url, target):
                if carries_secret:
                    raise RedirectRefused(target, "not following: the request carries a "
                                                  "credential and that is another address")
                headers = {k: v for k, v in (kwargs.get("headers") or {}).items()
                           if k.lower() not in SECRET_HEADERS}
                kwargs["headers"] = headers
            if response.status_code == 303 or (
                    response.status_code in (301, 302) and method == "POST"):
                method = "GET"  # RFC 9110 §15.4: the body is not sent again
                for key in ("json", "data", "files"):
                    kwargs.pop(key, None)
            kwargs.pop("params", None)  # already part of the URL redirected from
            url = target
        raise RedirectRefused(url, f"more than {MAX_REDIRECTS} redirects")


def _may_follow(url: str, target: str) -> bool:
    """Same origin, or the same host moving from http to https."""
    if same_origin(url, target):
        return True
    old, new = origin(url), origin(target)
    return old[0] == "http" and new[0] == "https" and old[1] == new[1]


def within(url: str, domains: tuple[str, ...]) -> bool:
    """Whether ``url``'s host is one of ``domains`` or below one of them."""
    host = origin(url)[1]
    return any(host == d or host.endswith(f".{d}") for d in domains)


def credential_may_go_to(url: str, base_url: str, domains: tuple[str, ...]) -> bool:
    """Whether a credential for the API at ``base_url`` may be sent to ``url``.

    For addresses an API hands out (an upload link): the API's own origin, or https to a
    host of the platform's ``domains``. Plain http elsewhere is refused, as is any other
    host, so a tampered answer cannot collect the token.
    """
    if same_origin(url, base_url):
        return True
    return origin(url)[0] == "https" and within(url, domains)
