"""The publisher's log as a person and a log collector read it: one line per event, the
same fields as JSON, APScheduler's job lines kept out, secrets never written.

The publisher runs in-process on a real SQLite queue with the scripted adapter of
``tests/test_publisher.py`` (a plug-in passed through the registry), so each outcome can
be chosen; the lines are what :func:`scheduler.ops.logs.setup_logging` writes.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from scheduler.errors import OutcomeUnknown, PermanentPublishError, TransientPublishError
from scheduler.ops.events import EventReporter, PauseWatcher
from scheduler.ops.logs import secret_values, setup_logging
from scheduler.timeutil import utc_iso
from tests.test_publisher import T0, ScriptedAdapter, at, env, queue  # noqa: F401

SECRET = "s3cr3t-token-value"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    handler = setup_logging("text", secrets=[SECRET], stream=buf)
    yield buf
    logging.getLogger().removeHandler(handler)


def _messages(buf: io.StringIO) -> list[str]:
    # "2026-...Z LEVEL message": drop the time stamp, keep level and message.
    return [line.split(" ", 1)[1] for line in buf.getvalue().splitlines()]


def _publish_all(env: dict[str, Any]) -> None:  # noqa: F811
    publisher = env["publisher"]
    publisher.on_event = EventReporter(env["store"], env["clock"])
    at(env, T0 + timedelta(seconds=3))
    publisher.tick(wait=True)


def test_each_outcome_is_one_line_with_url_lateness_and_retry_time(
        env: dict[str, Any], lines: io.StringIO) -> None:  # noqa: F811
    ScriptedAdapter.script = ["ok", TransientPublishError("503 from the server"),
                              PermanentPublishError("422: text too long"),
                              OutcomeUnknown("connection reset after sending")]
    for i, name in enumerate(("a", "b", "c", "d")):
        queue(env, name, due=T0 + timedelta(seconds=i))
    _publish_all(env)
    rows = {r.post_id: r for r in env["store"].list_deliveries()}
    retry_at = rows["b"].wake_at
    assert _messages(lines) == [
        "INFO published a@social https://social.example/a, 3.0 s after its time",
        f"INFO retry scheduled for b@social at {utc_iso(retry_at)} "
        f"(in {(retry_at - (T0 + timedelta(seconds=3))).total_seconds():.0f} s): 503 from the server",
        "WARNING c@social failed: 422: text too long",
        "WARNING d@social needs a check: connection reset after sending",
    ]


def test_json_lines_parse_and_carry_the_same_fields(env: dict[str, Any]) -> None:  # noqa: F811
    buf = io.StringIO()
    handler = setup_logging("json", secrets=[SECRET], stream=buf)
    try:
        ScriptedAdapter.script = ["ok", TransientPublishError("503 from the server")]
        queue(env, "a")
        queue(env, "b", due=T0 + timedelta(seconds=1))
        _publish_all(env)
    finally:
        logging.getLogger().removeHandler(handler)
    objs = [json.loads(line) for line in buf.getvalue().splitlines()]
    published, retry = objs
    assert {k: published[k] for k in ("level", "logger", "event", "delivery", "post",
                                       "channel", "url", "lateness_s", "attempt")} == {
        "level": "INFO", "logger": "postq.events", "event": "published",
        "delivery": "a@social#r1", "post": "a", "channel": "social",
        "url": "https://social.example/a", "lateness_s": 3.0, "attempt": 1}
    assert published["message"] == "published a@social https://social.example/a, 3.0 s after its time"
    assert retry["event"] == "retry_wait" and retry["reason"] == "503 from the server"
    wake = env["store"].get_delivery("b@social#r1").wake_at
    assert retry["retry_at"] == utc_iso(wake)


def test_a_secret_in_any_line_or_traceback_is_redacted(lines: io.StringIO) -> None:
    log = logging.getLogger("postq.publish")
    try:
        raise RuntimeError(f"Authorization: Bearer {SECRET}")
    except RuntimeError:
        log.exception("call with token %s failed", SECRET)
    text = lines.getvalue()
    assert SECRET not in text
    assert "call with token *** failed" in text
    assert "RuntimeError: Authorization: Bearer ***" in text


def test_apscheduler_job_lines_stay_below_info() -> None:
    quiet, loud = io.StringIO(), io.StringIO()
    job_line = 'Running job "tick (trigger: interval[0:00:01])" (scheduled at ...)'
    for buf, verbose in ((quiet, False), (loud, True)):
        handler = setup_logging("text", verbose=verbose, stream=buf)
        try:
            logging.getLogger("apscheduler.executors.default").info(job_line)
        finally:
            logging.getLogger().removeHandler(handler)
    assert quiet.getvalue() == ""
    assert loud.getvalue().split(" ", 1)[1] == f"DEBUG apscheduler.executors.default: {job_line}\n"


def test_pauses_and_resumes_made_elsewhere_are_logged(env: dict[str, Any],  # noqa: F811
                                                      lines: io.StringIO) -> None:
    watcher = PauseWatcher(env["store"])
    watcher()
    env["store"].pause("social", "wording under review")
    watcher()
    env["store"].resume("social")
    watcher()
    assert _messages(lines) == ["INFO paused channel social by author: wording under review",
                                "INFO resumed channel social"]


def test_secret_values_are_found_by_their_env_names() -> None:
    raw = {"channels": {"x": {"adapter": "x", "token_env": "X_TOK", "secret_env": "X_SEC"},
                        "m": {"adapter": "mastodon", "token_env": "UNSET"}},
           "media_host": {"key_env": "KEY"}}
    found = secret_values(raw, {"X_TOK": "abcd1234", "X_SEC": "zz", "KEY": "k" * 32})
    assert found == ["k" * 32, "abcd1234", "zz"]
