"""Attacks from the network side, each against real local servers the tests start.

A platform (or whoever sits in its place) that echoes a token back, redirects a signed-in
request elsewhere, hands out an upload address on another host, drips its answer one
byte at a time, sends an endless body or answers HTML where JSON belongs.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.bluesky import BlueskyAdapter
from scheduler.adapters.http import HttpClient
from scheduler.adapters.linkedin import LinkedInAdapter
from scheduler.adapters.mastodon import MastodonAdapter
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.adapters.transport import Limits, credential_may_go_to
from scheduler.config import settings_from_dict
from scheduler.errors import OutcomeUnknown, PermanentPublishError, TransientPublishError
from scheduler.publish.notify import attach
from scheduler.publish.worker import Publisher
from scheduler.redaction import install_log_redaction, remember
from scheduler.store import Store
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeLinkedIn
from tests.hostile.raw_servers import RawServer, Script, drip_body, drip_head, endless_body
from tests.peers import LocalServer, Reply
from tests.project import Project
from tests.test_store_support import snap

REPO = Path(__file__).resolve().parents[2]
# Characters that JSON, URLs and base64 each spell differently.
TOKEN = 'mAsTo/tok+en="Q"&v4lue 9'
PASSWORD = "app-pass-word-7f3c-9e1d"


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def start(script: Script) -> RawServer:
        servers.append(RawServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def other_server() -> Iterator[LocalServer]:
    """A second origin (another port), for redirects and upload addresses."""
    server = LocalServer()
    server.handler = lambda req: Reply(200, {"stolen": True})
    yield server
    server.close()


def client(base_url: str, **limits: Any) -> HttpClient:
    return HttpClient(platform="testplatform", base_url=base_url, secrets=lambda: [TOKEN],
                      limits=Limits(**limits))


# -- 9.8: secrets -----------------------------------------------------------------------


def mastodon(base_url: str, token: str = TOKEN) -> MastodonAdapter:
    settings = MastodonAdapter.parse_settings(
        "masto", {"adapter": "mastodon", "base_url": base_url, "token_env": "MASTO_TOKEN"})
    return MastodonAdapter("masto", settings, env={"MASTO_TOKEN": token}, sleep=lambda s: None)


def test_secret_file_trailing_newline_is_stripped_on_read(local_server: LocalServer) -> None:
    local_server.handler = lambda req: Reply(200, {"acct": "careers", "username": "careers"})
    adapter = mastodon(local_server.base_url, token=f"  {TOKEN}\r\n")
    assert adapter.secret("token_env") == TOKEN
    assert adapter.secrets() == [TOKEN]
    assert adapter.verify() == "signed in as @careers"
    assert local_server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


ECHOES = {
    "as-is": TOKEN,
    "json-escaped": json.dumps(TOKEN),
    "url-encoded": f"https://social.example/api?next={quote(TOKEN, safe='')}",
    "url-encoded-plus": quote(TOKEN),
    "basic-auth-base64": "credentials " + base64.b64encode(f"careers:{TOKEN}".encode()).decode(),
    "truncated": f"invalid token {TOKEN[:9]}",
    "inside-url-userinfo": f"retry at https://bot:{quote(TOKEN, safe='')}@social.example/",
    "inside-url-query": f"see https://social.example/?access_token={TOKEN}&x=1",
}


@pytest.mark.parametrize("form", sorted(ECHOES))
def test_platform_echoing_the_token_leaks_it_nowhere(
    form: str, local_server: LocalServer, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """The echo reaches last_error, the events, the notice and the log only redacted."""
    echo = ECHOES[form]
    local_server.handler = lambda req: Reply(422, {"error": f"Validation failed: {echo}"})
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "require_approval": False},
        "notify": {"channel": "outbox"},
        "channels": {
            "outbox": {"adapter": "outbox", "path": str(tmp_path / "outbox")},
            "masto": {"adapter": "mastodon", "base_url": local_server.base_url,
                      "token_env": "MASTO_TOKEN"},
        },
    }, tmp_path / "postq.toml")
    clock = FixedClock(NOW - timedelta(hours=1))
    store = Store(settings.database_url, settings.data_dir / "media", clock=clock, user="author")
    store.add(snap("io", ("masto",)), due_at=NOW, require_approval=False)
    clock.at = NOW
    registry = AdapterRegistry({"outbox": OutboxAdapter, "mastodon": MastodonAdapter})
    publisher = Publisher(settings, store, registry=registry, clock=clock, worker="w1",
                          env={"MASTO_TOKEN": f"{TOKEN}\n"})
    attach(publisher)
    install_log_redaction()
    with caplog.at_level(logging.DEBUG):
        outcomes = publisher.run_once()
        logging.getLogger("postq.test").error("platform said %s", echo)
    publisher.close()

    assert [o.state for o in outcomes] == ["failed"]
    row = store.list_deliveries()[0]
    assert row.last_error.startswith("mastodon 'masto': GET /api/v2/instance answered 422: "
                                     "Validation failed: ")
    assert "***" in row.last_error
    notice = next((tmp_path / "outbox").iterdir()) / "caption.txt"
    shown = {
        "last_error": row.last_error,
        "events": json.dumps([vars(e) for e in store.events()], default=str),
        "notice": notice.read_text(encoding="utf-8"),
        "log": caplog.text,
    }
    b64 = base64.b64encode(f"careers:{TOKEN}".encode()).decode()
    for where, text in shown.items():
        assert "mAsTo" not in text, f"{where}: {text}"
        assert b64[:12] not in text, f"{where}: {text}"


def test_log_traceback_holding_a_secret_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    remember(PASSWORD)  # as Adapter.secret does when it reads the value
    try:
        raise ValueError(f"bad password {PASSWORD}")
    except ValueError:
        logging.getLogger("postq.test").exception("signing in failed for %s", PASSWORD)
    assert PASSWORD[:8] not in caplog.text
    assert "signing in failed for ***" in caplog.text
    assert "ValueError: bad password ***" in caplog.text


# -- 9.9: redirects ---------------------------------------------------------------------


def bluesky(base_url: str, tmp_path: Path) -> BlueskyAdapter:
    settings = BlueskyAdapter.parse_settings(
        "bsky", {"adapter": "bluesky", "base_url": base_url, "handle": "careers.example",
                 "password_env": "BSKY_PASSWORD", "cache_session": False})
    return BlueskyAdapter("bsky", settings, env={"BSKY_PASSWORD": PASSWORD}, data_dir=tmp_path)


@pytest.mark.parametrize("status", [307, 308])
def test_bluesky_redirect_to_another_host_does_not_resend_the_app_password(
    status: int, local_server: LocalServer, other_server: LocalServer, tmp_path: Path,
) -> None:
    target = f"{other_server.base_url}/xrpc/com.atproto.server.createSession"
    local_server.handler = lambda req: Reply(status, b"", headers={"Location": target})
    with pytest.raises(PermanentPublishError) as info:
        bluesky(local_server.base_url, tmp_path).verify()
    assert str(info.value) == (
        f"bluesky 'bsky': POST {local_server.base_url}/xrpc/com.atproto.server.createSession "
        f"was redirected to {target}; not following: the request carries a credential and "
        "that is another address; check the channel's address")
    assert other_server.requests == []
    assert len(local_server.requests) == 1


def test_same_origin_redirect_of_a_signed_in_request_is_followed(
    local_server: LocalServer,
) -> None:
    def answer(req: Any) -> Reply:
        if req.path == "/old":
            return Reply(308, b"", headers={"Location": "/new"})
        return Reply(200, {"auth": req.headers.get("Authorization")})

    local_server.handler = answer
    doc = client(local_server.base_url).json("GET", "/old",
                                             headers={"Authorization": f"Bearer {TOKEN}"})
    assert doc == {"auth": f"Bearer {TOKEN}"}
    assert [r.path for r in local_server.requests] == ["/old", "/new"]


def test_redirect_of_a_request_without_credentials_may_leave_the_origin(
    local_server: LocalServer, other_server: LocalServer,
) -> None:
    local_server.handler = lambda req: Reply(302, b"",
                                             headers={"Location": f"{other_server.base_url}/x"})
    assert client(local_server.base_url).json("GET", "/public") == {"stolen": True}


LINKEDIN_TOKEN = "AQV-hostile-linkedin-token-0a1b2c"


@pytest.mark.parametrize("where", ["another-host", "plain-http-linkedin"])
def test_linkedin_upload_url_elsewhere_gets_no_bearer_token(
    where: str, local_server: LocalServer, other_server: LocalServer, make_post: Any,
    make_image: Any,
) -> None:
    fake = FakeLinkedIn(local_server, LINKEDIN_TOKEN)
    fake.base_url = other_server.base_url if where == "another-host" else "http://www.linkedin.com"
    settings = LinkedInAdapter.parse_settings(
        "li", {"adapter": "linkedin", "base_url": local_server.base_url, "organization": "2414183",
               "token_env": "LI_TOKEN"})
    adapter = LinkedInAdapter("li", settings, env={"LI_TOKEN": LINKEDIN_TOKEN},
                              clock=FixedClock(NOW))
    with pytest.raises(PermanentPublishError) as info:
        adapter.publish(make_post("c", (make_image(),)))
    key = next(iter(fake.images)).rsplit(":", 1)[-1]
    shown = f"{fake.base_url}/dms-uploads/{key}"
    assert str(info.value) == (
        f"linkedin 'li': the upload address LinkedIn gave ({shown}) is not on linkedin.com over "
        "https; the access token was not sent there")
    assert other_server.requests == []
    assert fake.posts == []


def test_linkedin_upload_urls_on_linkedin_over_https_are_accepted() -> None:
    base = "https://api.linkedin.com"
    assert credential_may_go_to("https://www.linkedin.com/dms-uploads/x", base, ("linkedin.com",))
    assert credential_may_go_to("https://api.linkedin.com/x", base, ("linkedin.com",))
    assert not credential_may_go_to("https://linkedin.com.evil.example/x", base,
                                    ("linkedin.com",))
    assert not credential_may_go_to("https://evil-linkedin.com/x", base, ("linkedin.com",))


# -- 9.10: deadlines --------------------------------------------------------------------


def test_slow_drip_body_ends_at_the_total_deadline(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(drip_body(every=0.3))
    started = time.monotonic()
    with pytest.raises(TransientPublishError) as info:
        client(server.base_url, deadline=1.5).json("GET", "/me")
    elapsed = time.monotonic() - started
    assert str(info.value) == (f"testplatform: GET {server.base_url}/me: no complete answer "
                               "within 1.5 s")
    assert 1.4 < elapsed < 3.0


def test_slow_drip_status_line_ends_at_the_total_deadline(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(drip_head(every=0.3))
    started = time.monotonic()
    with pytest.raises(OutcomeUnknown) as info:
        client(server.base_url, deadline=1.5).request("POST", "/statuses", json_body={"a": 1})
    assert time.monotonic() - started < 3.0
    assert str(info.value) == (
        f"testplatform: POST {server.base_url}/statuses: no complete answer within 1.5 s; it "
        "was sent, so it may or may not have taken effect")


def _queue_webhook_post(project: Project, url: str) -> None:
    project.write_config(f'''
        [channels.hook]
        adapter = "webhook"
        url = "{url}/hook"
    ''')
    project.careers(**{"publish_at: 2026-12-01 09:00\n": "", "channels: [outbox]":
                       "channels: [hook]"})
    assert project.run("queue", "add", "posts/io.md", "--at", "+1s",
                       env={"POSTQ_USER": "alice"}).exit_code == 0
    assert project.run("approve", "io", env={"POSTQ_USER": "bob"}).exit_code == 0
    time.sleep(1.2)


def _postq(project: Project, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "POSTQ_HTTP_DEADLINE": "3", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "scheduler", "--config", str(project.config),
                             *args], cwd=project.root, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_run_once_against_a_dripping_platform_ends_within_the_deadline(
    project: Project, raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(drip_body(every=0.5))
    _queue_webhook_post(project, server.base_url)
    started = time.monotonic()
    proc = _postq(project, "run", "--once")
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert proc.returncode == 1, err
    assert out == (f"io@hook: needs_check (webhook 'hook': POST {server.base_url}/hook: no "
                   "complete answer within 3 s; it was sent, so it may or may not have taken "
                   "effect)\n")


def test_sigterm_stops_run_during_a_dripping_call_within_the_deadline(
    project: Project, raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(drip_body(every=0.5))
    _queue_webhook_post(project, server.base_url)
    proc = _postq(project, "run", "--tick", "0.2")
    try:
        assert server.seen.wait(20), "the publisher never called the platform"
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        proc.wait(timeout=20)
        assert time.monotonic() - stopped < 3 + 4  # the deadline, plus a busy machine
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0
    listing = project.run("queue", "list", "--json")
    assert [d["state"] for d in json.loads(listing.stdout)["deliveries"]] == ["needs_check"]


# -- 9.10 / 9.15: size cap --------------------------------------------------------------


def test_oversize_answer_announced_is_refused_unread(local_server: LocalServer) -> None:
    local_server.handler = lambda req: Reply(200, b"0" * (2 * 1024 * 1024))
    with pytest.raises(TransientPublishError) as info:
        client(local_server.base_url, max_bytes=1024 * 1024).request("GET", "/big")
    assert str(info.value) == (
        f"testplatform: GET {local_server.base_url}/big: the answer announced 2097152 bytes, "
        "beyond the limit of 1048576 bytes; not read")


def test_endless_answer_is_cut_at_the_size_cap(raw_server: Callable[..., RawServer]) -> None:
    server = raw_server(endless_body)
    with pytest.raises(OutcomeUnknown) as info:
        client(server.base_url, max_bytes=1024 * 1024).request("POST", "/statuses",
                                                               json_body={})
    assert str(info.value) == (
        f"testplatform: POST {server.base_url}/statuses: the answer grew, beyond the limit of "
        "1048576 bytes; not read; it was sent, so it may or may not have taken effect")


MEASURE = textwrap.dedent('''
    import socket, sys, threading
    from scheduler.adapters.http import HttpClient

    TOTAL = 400 * 1024 * 1024
    srv = socket.create_server(("127.0.0.1", 0))

    def serve():
        conn, _ = srv.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\n"
                     b"Connection: close\\r\\n\\r\\n")
        block = b"0" * (1024 * 1024)
        try:
            for _ in range(TOTAL // len(block)):
                conn.sendall(block)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=serve, daemon=True).start()
    http = HttpClient(platform="p", base_url=f"http://127.0.0.1:{srv.getsockname()[1]}")
    try:
        http.request("GET", "/huge")
        outcome = "read"
    except Exception as exc:
        outcome = type(exc).__name__
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork and exec, so it would
    # report the (large) test process that started this one.
    with open("/proc/self/status") as status:
        hwm = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
    print(outcome, hwm // 1024)
''')


def test_400_mb_answer_is_not_held_in_memory() -> None:
    """Peak memory stays near the size cap (16 MiB), not the answer's 400 MB."""
    out = subprocess.run([sys.executable, "-c", MEASURE], capture_output=True, text=True,
                         timeout=120, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.returncode == 0, out.stderr
    outcome, peak_mb = out.stdout.split()
    assert outcome == "TransientPublishError"
    assert int(peak_mb) < 150, peak_mb


# -- 9.13: channels --check -------------------------------------------------------------


def test_channels_check_against_a_non_json_answer_reports_that_channel_only(
    project: Project, local_server: LocalServer, other_server: LocalServer,
) -> None:
    local_server.handler = lambda req: Reply(200, "<html>Sign in to continue</html>")
    FakeLinkedIn(other_server, LINKEDIN_TOKEN)
    project.write_config(f'''
        [channels.broken]
        adapter = "linkedin"
        base_url = "{local_server.base_url}"
        organization = "2414183"
        token_env = "LI_TOKEN"

        [channels.works]
        adapter = "linkedin"
        base_url = "{other_server.base_url}"
        organization = "2414183"
        token_env = "LI_TOKEN"
    ''', base="[postq]\ndata_dir = \".postq\"\n")
    result = project.run("channels", "--check", env={"LI_TOKEN": LINKEDIN_TOKEN})
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (f"    check FAILED: linkedin 'broken': GET {local_server.base_url}/rest/organizations/"
            "2414183 answered 200 with text/plain, which is not JSON; is the channel's address "
            "right?") in lines
    assert "    check: posts as Careers at the Department" in lines
    assert LINKEDIN_TOKEN not in result.output


def test_whitespace_only_secret_counts_as_not_set(project: Project) -> None:
    project.write_config('''
        [channels.li]
        adapter = "linkedin"
        organization = "2414183"
        token_env = "LI_TOKEN"
    ''', base="[postq]\ndata_dir = \".postq\"\n")
    result = project.run("channels", env={"LI_TOKEN": " \n"})
    lines = result.stdout.splitlines()
    assert "    LI_TOKEN: not set" in lines
    assert "    problem: environment variable LI_TOKEN (token_env) is not set" in lines
