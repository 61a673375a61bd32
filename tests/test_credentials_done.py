"""Issue 11's finish line, end to end with real processes on a real project.

From a clean project: ``postq channels new-key``, ``echo TOKEN | postq channels login x
--refresh-token-stdin``, then two ``postq run`` publishers against an X stand-in whose
access tokens expire every 3 seconds publish everything due, and no refresh token is
ever presented twice or refused. No token appears in the database file, the publishers'
logs, ``queue show --json`` or ``run --dry-run``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.peers import LocalServer
from tests.publish_support import (
    PublisherProcess,
    Rig,
    queue_posts,
    state_counts,
    wait_until,
)
from tests.test_store_support import DB_PARAMS, make_db_url
from tests.token_platforms import XStandIn

POSTS = 16


@pytest.fixture
def x_server() -> Iterator[tuple[LocalServer, XStandIn]]:
    server = LocalServer()
    x = XStandIn(lifetime=3.0)
    server.handler = x
    yield server, x
    server.close()


def postq(rig: Rig, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scheduler", "--config", str(rig.config), *args],
                          cwd=rig.root, env=env or rig.env(), input=stdin, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("db", DB_PARAMS)
def test_two_publishers_keep_a_three_second_x_token_alive(
        tmp_path: Path, x_server: tuple[LocalServer, XStandIn], db: str) -> None:
    server, x = x_server
    rig = Rig(tmp_path / "proj", ("x",), "x")
    rig.root.mkdir()
    database = "" if db == "sqlite" else make_db_url(db, tmp_path)
    rig.config.write_text(textwrap.dedent(f"""
        [postq]
        timezone = "Europe/London"
        data_dir = ".postq"
        database = "{database}"
        require_approval = false

        [channels.x]
        adapter = "x"
        auth = "oauth2"
        base_url = "{server.base_url}"
        client_id_env = "X_CLIENT_ID"
        username = "careers"
        """), encoding="utf-8")
    base_env = rig.env(X_CLIENT_ID=x.client_id)

    made = postq(rig, "channels", "new-key", env=base_env)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    env = {**base_env, "POSTQ_CREDENTIALS_KEY": key}
    rig.env = lambda **extra: {**env, **extra}  # type: ignore[method-assign]

    first = x.issue_refresh_token()
    login = postq(rig, "channels", "login", "x", "--refresh-token-stdin", stdin=first + "\n")
    assert login.returncode == 0, login.stderr
    assert login.stdout.startswith("channel 'x' connected; access token valid until ")
    assert login.stdout.rstrip().endswith("(renewed automatically)")

    # A dry run shows what would be sent, with the token redacted.
    queue_posts(rig, [datetime.now(UTC) + timedelta(seconds=3)], prefix="d")
    wait_until(lambda: postq(rig, "run", "--dry-run").stdout != "Nothing is due now.\n",
               timeout=20)
    dry = postq(rig, "run", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("d0000@x  due ")
    assert "    Authorization: ***\n" in dry.stdout
    pubs = [PublisherProcess(rig, ("-v", "--tick", "0.2"), name=f"pub{n}").start()
            for n in range(2)]

    def beating() -> int:
        store = rig.store()
        try:
            return len(store.heartbeats())
        finally:
            store.close()

    try:
        wait_until(lambda: beating() == 2, timeout=60)  # both publishers are up
        now = datetime.now(UTC)
        due = [now + timedelta(seconds=3 + 0.75 * i) for i in range(POSTS)]
        queue_posts(rig, due)
        wait_until(lambda: state_counts(rig).get("published") == POSTS + 1, timeout=90)
    finally:
        for p in pubs:
            p.signal(signal.SIGTERM)
        for p in pubs:
            p.wait(20)
            p.stop()

    assert state_counts(rig) == {"published": POSTS + 1}
    assert len(x.tweets) == POSTS + 1
    assert not x.refused and not x.presented_twice(), (x.refused, x.presented_twice())
    # The login, then a renewal every few seconds (the run lasts about 13 s).
    assert len(x.presented) >= 4, x.presented
    logs = "".join(p.stderr() for p in pubs)
    assert "credential of x renewed, valid until " in logs

    shown = postq(rig, "queue", "show", "p0000", "--json")
    assert shown.returncode == 0, shown.stderr
    json.loads(shown.stdout)

    tokens = {first, *x.access, *x.presented, *x.live_refresh}
    files = [f for f in (rig.root / ".postq").rglob("*") if f.is_file()]
    assert any(f.name.startswith("queue.sqlite3") for f in files) == (db == "sqlite")
    store = rig.store()
    try:
        with store.engine.connect() as conn:  # every column of every row, as text
            from sqlalchemy import text

            dump = repr([tuple(r) for r in conn.execute(text("SELECT * FROM credentials"))])
    finally:
        store.close()
    assert "gAAAAA" in dump  # Fernet ciphertext is what is kept
    for token in tokens:
        for f in files:
            assert token.encode() not in f.read_bytes(), f"{token} in {f}"
        for seen in (logs, shown.stdout, dry.stdout, dry.stderr, login.stdout, login.stderr,
                     dump):
            assert token not in seen
