"""``postq channels new-key | login | logout`` and expiry shown by ``channels``,
``status`` and ``queue add``: exact messages a person sees, real files, real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from scheduler.credentials.crypto import new_key
from tests.conftest import *  # noqa: F403 - the project fixture
from tests.peers import LocalServer
from tests.project import Project
from tests.publish_support import REPO
from tests.token_platforms import MetaStandIn, XStandIn

KEY = new_key()


@pytest.fixture
def stand_ins() -> Iterator[tuple[LocalServer, XStandIn, MetaStandIn]]:
    server = LocalServer()
    x, meta = XStandIn(lifetime=7200.0), MetaStandIn()
    server.handler = lambda req: meta(req) if ("access_token" in req.path
                                               or req.path.startswith("/v21.0")) else x(req)
    yield server, x, meta
    server.close()


def configure(project: Project, base_url: str) -> None:
    project.write_config(f"""
        [channels.xo]
        adapter = "x"
        auth = "oauth2"
        base_url = "{base_url}"
        client_id_env = "X_CLIENT_ID"

        [channels.fb]
        adapter = "facebook"
        auth = "oauth2"
        base_url = "{base_url}/v21.0"
        page_id = "1234"
        client_id_env = "META_APP_ID"
        client_secret_env = "META_APP_SECRET"
        """)


ENV = {"POSTQ_CREDENTIALS_KEY": KEY, "X_CLIENT_ID": "app-client-id", "META_APP_ID": "meta-app",
       "META_APP_SECRET": "meta-app-secret"}


def run(project: Project, *args: str, stdin: str | None = None,
        env: dict[str, Any] | None = None) -> Result:
    from scheduler.cli import cli

    cwd = os.getcwd()
    os.chdir(project.root)
    try:
        return project.runner.invoke(cli, ["--config", str(project.config), *args], input=stdin,
                                     env={**ENV, **(env or {})}, catch_exceptions=False)
    finally:
        os.chdir(cwd)


def test_new_key_prints_a_fresh_fernet_key(project: Project) -> None:
    from cryptography.fernet import Fernet

    first, second = run(project, "channels", "new-key"), run(project, "channels", "new-key")
    assert first.exit_code == 0 and first.output.count("\n") == 1
    Fernet(first.output.strip().encode())
    assert first.output != second.output


def test_login_without_the_key_names_the_variable_and_spends_nothing(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    server, x, _ = stand_ins
    configure(project, server.base_url)
    token = x.issue_refresh_token()
    result = run(project, "channels", "login", "xo", "--refresh-token-stdin", stdin=token,
                 env={"POSTQ_CREDENTIALS_KEY": None})
    assert result.exit_code == 1
    assert result.stderr == ("error: set the environment variable POSTQ_CREDENTIALS_KEY to the "
                             "credential key (make one with `postq channels new-key`)\n")
    assert x.presented == [] and token in x.live_refresh  # the rotating token is not spent


def test_login_needs_auth_oauth2_and_a_token_on_stdin(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    server, _, _ = stand_ins
    configure(project, server.base_url)
    result = run(project, "channels", "login", "outbox", "--refresh-token-stdin", stdin="t")
    assert result.exit_code == 1
    assert result.stderr == ("error: channel 'outbox': adapter 'outbox' has no login flow "
                             "(these do: facebook, instagram, linkedin, threads, x); give it a "
                             "token_env instead\n")
    empty = run(project, "channels", "login", "xo", "--refresh-token-stdin", stdin="\n")
    assert empty.exit_code == 1
    assert empty.stderr == ("error: standard input was empty; pipe the token in, e.g. `postq "
                            "channels login xo --refresh-token-stdin < token.txt`\n")
    project.write_config(f"""
        [channels.plain]
        adapter = "x"
        token_env = "X_TOKEN"
        base_url = "{server.base_url}"
        """)
    plain = run(project, "channels", "login", "plain", "--refresh-token-stdin", stdin="t")
    assert plain.exit_code == 1
    assert plain.stderr == (f"error: {project.config}: channels.plain.auth: channel 'plain' does "
                            "not keep its tokens in the credential store; add auth = \"oauth2\" "
                            "to [channels.plain] first\n")


def test_login_logout_and_channels_show_the_credential(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    server, x, _ = stand_ins
    configure(project, server.base_url)
    token = x.issue_refresh_token()
    result = run(project, "channels", "login", "xo", "--refresh-token-stdin", stdin=token + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("channel 'xo' connected; access token valid until ")
    listing = run(project, "channels", "--check")
    lines = listing.stdout.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("xo ")))
    # The channel's block: its variables, its credential, the check (and its video limits).
    block = [line for line in lines[at + 1:at + 6] if not line.startswith("    video: ")]
    assert block[0] == "    X_CLIENT_ID: set"
    assert block[1].startswith("    credential: xo: access token until ")
    assert block[1].endswith(", renewed automatically")
    assert block[2] == "    check: signed in as @careers"
    for text in (result.output, listing.output):
        assert not any(t in text for t in [token, *x.access, *x.live_refresh])
    # A wrong key: a clear error, and nothing sent to the platform with it.
    calls = len(server.requests)
    wrong = run(project, "channels", "--check", env={"POSTQ_CREDENTIALS_KEY": new_key()})
    assert ("    check FAILED: the stored credential of channel 'xo' cannot be decrypted with "
            "the key in POSTQ_CREDENTIALS_KEY: it is not the key the credential was stored with "
            "(set the right key, or log in again with `postq channels login xo`)"
            ) in wrong.stdout.splitlines()
    assert len(server.requests) == calls
    out = run(project, "channels", "logout", "xo")
    assert out.stdout == "channel 'xo': stored credential forgotten\n"
    again = run(project, "channels", "logout", "xo")
    assert again.stdout == "channel 'xo' had no stored credential\n"
    after = run(project, "channels").stdout
    assert "    problem: no stored credential; log in with `postq channels login xo`" in after


def test_interactive_x_login_with_pkce(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    server, x, _ = stand_ins
    configure(project, server.base_url)
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(project.config),
                             "channels", "login", "xo"], cwd=project.root, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None and proc.stdin is not None
    intro = proc.stderr.readline()
    url = proc.stderr.readline().strip()
    assert intro == ("Open this address, approve postq, then paste the address you were sent "
                     "to (or its code):\n")
    assert url.startswith("https://x.com/i/oauth2/authorize?response_type=code&client_id="
                          "app-client-id&redirect_uri=")
    proc.stdin.write(x.approve(url) + "\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("channel 'xo' connected; access token valid until ")
    assert len(x.access) == 1 and not x.refused


def test_status_channels_and_queue_add_warn_of_deliveries_due_after_a_lapse(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    server, _, meta = stand_ins
    configure(project, server.base_url)
    short = meta.short_token()
    login = run(project, "channels", "login", "fb", "--refresh-token-stdin", stdin=short)
    assert login.exit_code == 0, login.output
    assert login.stdout.rstrip().endswith("(log in again before it ends)")
    # 60 days from now the Meta token lapses; this post is due in about 90.
    project.careers(post_id="late", **{"channels: [outbox]": "channels: [fb]",
                                       "publish_at: 2026-12-01 09:00": "publish_at: 2027-03-01 09:00",
                                       "closing_date: 2026-12-14": "closing_date: 2027-03-14"})
    added = run(project, "queue", "add", "posts/io.md")
    assert added.exit_code == 0, added.output
    warning = [line for line in added.stderr.splitlines() if "lapses" in line]
    assert len(warning) == 1
    assert warning[0].startswith("warning: late@fb is due 2027-03-01 09:00 GMT, after channel "
                                 "'fb's credential lapses (")
    assert warning[0].endswith("); log in again with `postq channels login fb` before then")
    status = run(project, "status")
    assert status.exit_code == 0, status.output
    assert "Credentials:\n  fb: access token until " in status.stdout
    assert "  xo: no stored credential (postq channels login xo)" in status.stdout
    assert warning[0] in status.stdout.splitlines()
    doc = json.loads(run(project, "status", "--json").stdout)
    assert [c["channel"] for c in doc["credentials"]] == ["fb", "xo"]
    assert doc["credentials"][0]["state"] == "active" and doc["credentials"][0]["lapses_at"]
    assert doc["warnings"] == [warning[0].removeprefix("warning: ")]
    assert short not in json.dumps(doc) and not any(t in json.dumps(doc) for t in meta.valid)
    assert warning[0].replace("warning: ", "    warning: ", 1) in run(project, "channels").stdout


def test_a_publisher_without_the_right_key_stops_before_sending_anything(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn],
        tmp_path: Path) -> None:
    server, x, _ = stand_ins
    configure(project, server.base_url)
    run(project, "channels", "login", "xo", "--refresh-token-stdin", stdin=x.issue_refresh_token())
    project.careers(post_id="now", **{"channels: [outbox]": "channels: [xo]",
                                      "publish_at: 2026-12-01 09:00\n": ""})
    assert run(project, "queue", "add", "posts/io.md", "--at", "+1s").exit_code == 0
    assert run(project, "approve", "now", env={"POSTQ_USER": "reviewer"}).exit_code == 0
    import time

    time.sleep(1.5)
    result = run(project, "run", "--once", env={"POSTQ_CREDENTIALS_KEY": new_key()})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the stored credential of channel 'xo' cannot be decrypted with the key in "
        "POSTQ_CREDENTIALS_KEY: it is not the key the credential was stored with (set the right "
        "key, or log in again with `postq channels login xo`)\n")
    missing = run(project, "run", "--once", env={"POSTQ_CREDENTIALS_KEY": None})
    assert missing.exit_code == 1
    assert missing.stderr == ("error: set the environment variable POSTQ_CREDENTIALS_KEY to the "
                              "credential key (make one with `postq channels new-key`)\n")
    assert not [r for r in server.requests if r.path.startswith("/2/tweets")]
    # Nothing was lost: with the right key the delivery goes out.
    assert run(project, "run", "--once").stdout.startswith("now@xo: published")


def test_channels_warns_two_weeks_before_a_meta_token_lapses(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    from datetime import UTC, datetime, timedelta

    from scheduler.config import load
    from scheduler.credentials.crypto import Cipher
    from scheduler.credentials.oauth import Grant
    from scheduler.credentials.store import CredentialStore
    from scheduler.store import Store

    server, _, _ = stand_ins
    configure(project, server.base_url)
    now = datetime.now(UTC)
    store = Store.open(load(project.config))
    grant = Grant("meta-long-kept", None, now + timedelta(days=10, hours=1), None, "", now)
    CredentialStore(store.engine).save("fb", "meta", grant, Cipher(KEY, "K"), now)
    store.close()
    lines = run(project, "channels").stdout.splitlines()
    warning = next(line for line in lines if "lapses in" in line)
    assert warning.startswith("    warning: the stored credential lapses in 10 days (")
    assert warning.endswith("); log in again with `postq channels login fb`")


def test_check_dry_run_renews_nothing(
        project: Project, stand_ins: tuple[LocalServer, XStandIn, MetaStandIn]) -> None:
    from datetime import UTC, datetime, timedelta

    from scheduler.config import load
    from scheduler.credentials.crypto import Cipher
    from scheduler.credentials.oauth import Grant
    from scheduler.credentials.store import CredentialStore
    from scheduler.store import Store

    server, x, _ = stand_ins
    configure(project, server.base_url)
    now = datetime.now(UTC)
    store = Store.open(load(project.config))
    due = Grant("x-access-due", x.issue_refresh_token(), now + timedelta(minutes=1), None, "",
                now - timedelta(hours=2))  # renewal is due
    CredentialStore(store.engine).save("xo", "x", due, Cipher(KEY, "K"), now)
    store.close()
    result = run(project, "channels", "--check", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"    would call: GET {server.base_url}/2/users/me" in result.stdout.splitlines()
    assert "      Authorization: ***" in result.stdout.splitlines()
    assert server.requests == [] and x.presented == []
