"""How ``postq run`` writes its log: one line per event, as text or as JSON objects.

Text is for a person at a terminal or ``journalctl``; ``--log-format json`` writes one
JSON object per line with the same fields, for journald, Loki or ELK. APScheduler's own
"Running job" lines are noise twice a second: they are dropped, or shown as DEBUG with
``-v``. Every line passes through :func:`scheduler.redaction.redact` with the values of
every ``*_env`` secret the configuration names, so a secret that reaches an exception
message or a library's log is still never written.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from scheduler.redaction import redact

FORMATS = ("text", "json")
_HANDLER_NAME = "postq-run"


def secret_values(raw: Any, env: Mapping[str, str] | None = None) -> list[str]:
    """The values of every environment variable a ``*_env`` setting names, anywhere."""
    env = os.environ if env is None else env
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                    if env.get(value):
                        found.append(env[value])
                else:
                    walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(raw)
    return sorted(set(found), key=len, reverse=True)  # longest first: no partial leftovers


class _Quiet(logging.Filter):
    """APScheduler's INFO lines (each job run) become DEBUG: shown with -v, else dropped."""

    def __init__(self, verbose: bool) -> None:
        super().__init__()
        self.verbose = verbose

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("apscheduler") and record.levelno == logging.INFO:
            if not self.verbose:
                return False
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class LineFormatter(logging.Formatter):
    """Text or JSON lines, scrubbed of the known secrets."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__()
        self.kind = fmt
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        message = redact(record.getMessage(), self.secrets)
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        trace = self.formatException(record.exc_info) if record.exc_info else ""
        trace = redact(trace, self.secrets)
        if self.kind == "json":
            obj: dict[str, Any] = {"time": stamp, "level": record.levelname,
                                   "logger": record.name, "message": message}
            for key, value in (getattr(record, "postq", None) or {}).items():
                obj[key] = redact(value, self.secrets) if isinstance(value, str) else value
            if trace:
                obj["traceback"] = trace
            return json.dumps(obj, ensure_ascii=False, default=str)
        line = f"{stamp} {record.levelname} {message}"
        if not record.name.startswith("postq.events"):
            line = f"{stamp} {record.levelname} {record.name}: {message}"
        return f"{line}\n{trace}" if trace else line


def setup_logging(fmt: str = "text", *, verbose: bool = False, secrets: Iterable[str] = (),
                  stream: TextIO | None = None) -> logging.Handler:
    """Send the publisher's log to ``stream`` (stderr): INFO, or DEBUG with ``verbose``."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(LineFormatter(fmt, secrets))
    handler.addFilter(_Quiet(verbose))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # Libraries' chatter (HTTP connection pools, botocore) stays out unless asked for.
    for noisy in ("urllib3", "botocore", "boto3", "s3transfer"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    return handler
