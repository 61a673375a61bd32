"""The one way secrets are kept out of what postq prints, logs, stores or sends.

A secret comes back in more forms than the one that was read: with the newline a secret
file ends in, escaped inside JSON, percent-encoded in a URL, base64-encoded in a Basic
``Authorization`` header, or cut short by a message that truncates a platform's answer.
:func:`redact` removes every one of them, so a token never reaches a terminal, a log line,
``last_error``, an event or a ``[notify]`` notice.

Secret values are remembered for the life of the process when an adapter reads them
(:func:`remember`), so text built far from the adapter (a notice, a log record, an error
at the command-line edge) is cleaned without each caller knowing which secrets exist.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "***"
#: Whole values shorter than this are not redacted: they would shred ordinary text, and
#: no platform issues credentials that short.
MIN_SECRET_LEN = 4
#: A secret cut short is still caught from this many leading characters on.
MIN_PREFIX_LEN = 8

# Header values that are credentials whatever they contain.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie",
                            "x-api-key"})
# ``Bearer <token>`` / ``Basic <base64>`` anywhere in text: the credential after the scheme.
_AUTH_SCHEME = re.compile(r"(?i)\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=-]{16,})")
# Query parameters that carry credentials by name (OAuth, Meta, signed upload links).
_SECRET_PARAMS = re.compile(
    r"(?i)([?&;](?:access_token|refresh_token|id_token|token|api_key|apikey|key|password|"
    r"passwd|secret|client_secret|sig|signature|x-amz-signature|x-amz-credential)=)"
    r"([^&#\s\"'<>]+)"
)
# ``scheme://user:password@host``: the password part.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)([^/\s@]+)(@)")
# Candidates for base64 that may wrap a secret (``user:secret`` in Basic auth).
_BASE64ISH = re.compile(r"[A-Za-z0-9+/_-]{12,}={0,2}")

_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")

_known: set[str] = set()
_lock = threading.Lock()


def remember(*values: str) -> None:
    """Keep ``values`` (as read and stripped) for every later :func:`redact` call."""
    with _lock:
        for value in values:
            for v in (value, value.strip()):
                if len(v) >= MIN_SECRET_LEN:
                    _known.add(v)


def forget_all() -> None:
    """Forget every remembered secret: for a process that starts over on other
    configurations, such as a test run, where one test's secrets are not the next one's."""
    with _lock:
        _known.clear()


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_known)


@lru_cache(maxsize=512)
def _forms(secret: str) -> tuple[str, ...]:
    """Every spelling of ``secret`` that text may carry, longest first."""
    raw = secret.encode("utf-8")
    escaped = json.dumps(secret)[1:-1]
    encoded = quote(secret, safe="")
    forms = {
        secret,
        secret.strip(),
        escaped,
        escaped.replace("/", "\\/"),  # PHP-style JSON (Meta's Graph API) escapes slashes
        json.dumps(secret, ensure_ascii=False)[1:-1],
        encoded,
        _LOWER_HEX.sub(lambda m: m.group(0).lower(), encoded),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }
    return tuple(sorted((f for f in forms if len(f) >= MIN_SECRET_LEN), key=len, reverse=True))


def _cut(text: str, forms: list[str]) -> str:
    """``text`` without any of ``forms``, nor any leading part of MIN_PREFIX_LEN or more.

    At each place a form starts, the longest match over every form is cut, so a form
    sharing a beginning with another (``a/b+c`` and ``a/b%2Bc``) never leaves a tail.
    """
    ends: dict[int, int] = {}
    for form in forms:
        head = form[:MIN_PREFIX_LEN]
        pos = 0
        while (hit := text.find(head, pos)) >= 0:
            end = hit + len(head)
            if len(form) >= MIN_PREFIX_LEN:
                while end < len(text) and end - hit < len(form) and text[end] == form[end - hit]:
                    end += 1
            elif not text.startswith(form, hit):
                pos = hit + 1
                continue
            ends[hit] = max(ends.get(hit, hit), end)
            pos = hit + 1
    if not ends:
        return text
    out: list[str] = []
    pos = 0
    for start in sorted(ends):
        if ends[start] <= pos:
            continue
        if start >= pos:
            out.append(text[pos:start])
            out.append(REDACTED)
        pos = ends[start]
    out.append(text[pos:])
    return "".join(out)


def _decodes_to_secret(token: str, secrets: tuple[str, ...]) -> bool:
    padded = token + "=" * (-len(token) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            plain = decode(padded).decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if any(s in plain or (len(s) >= MIN_PREFIX_LEN and s[:MIN_PREFIX_LEN] in plain)
               for s in secrets):
            return True
    return False


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every form of every secret replaced by ``***``.

    Covers ``secrets`` and every value :func:`remember` was given: the value as-is and
    stripped, JSON-escaped, percent-encoded, base64 (also inside ``user:secret``), any
    leading part of MIN_PREFIX_LEN characters or more (a truncated message), and
    credentials recognisable by shape (``Bearer …``, ``Basic …``, ``?access_token=…``,
    ``https://user:password@``).
    """
    if not text:
        return text
    values = tuple(sorted({s for s in (*secrets, *known_secrets()) if s and
                           len(s.strip()) >= MIN_SECRET_LEN}, key=len, reverse=True))
    if values:
        text = _BASE64ISH.sub(
            lambda m: REDACTED if _decodes_to_secret(m.group(0), values) else m.group(0), text)
        text = _cut(text, [form for value in values for form in _forms(value)])
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)


def redact_headers(headers: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """Headers fit to show: credential headers blanked, secret values cut out of the rest."""
    values = list(secrets)
    return {k: REDACTED if k.lower() in SECRET_HEADERS else redact(str(v), values)
            for k, v in headers.items()}


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Deep copy of a JSON-like value with secret strings cut out."""
    values = list(secrets)
    if isinstance(value, str):
        return redact(value, values)
    if isinstance(value, Mapping):
        return {k: redact_value(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v, values) for v in value]
    return value


def install_log_redaction() -> None:
    """Make every log record (message and traceback) pass through :func:`redact`.

    A record factory rather than a handler filter, so records of every logger and every
    handler (stderr, files, journald) are cleaned the moment they are made.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "postq_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it for logging to report
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.postq_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
