"""The publisher with store-kept tokens: renewal on a 401, refusal noticed through
``[notify]``, secrets kept out of what is recorded. Real X adapter, real HTTP to the
stand-in, a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.config import settings_from_dict
from scheduler.credentials.crypto import Cipher, new_key
from scheduler.credentials.flows import flow_for
from scheduler.credentials.store import CredentialStore
from scheduler.errors import AuthError
from scheduler.publish.notify import attach as attach_notices
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import Clock
from tests.peers import LocalServer
from tests.test_store_support import snap
from tests.token_platforms import XStandIn

KEY = new_key()
ENV = {"POSTQ_CREDENTIALS_KEY": KEY, "X_CLIENT_ID": "app-client-id"}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[dict[str, Any]]:
    server = LocalServer()
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "require_approval": False},
        "notify": {"channel": "outbox"},
        "channels": {
            "outbox": {"adapter": "outbox", "path": str(tmp_path / "outbox")},
            "xo": {"adapter": "x", "auth": "oauth2", "base_url": server.base_url,
                   "client_id_env": "X_CLIENT_ID"},
        },
    }, tmp_path / "postq.toml")
    store = Store(settings.database_url, settings.data_dir / "media", user="author")
    publisher = Publisher(settings, store, worker="w1", env=ENV)
    attach_notices(publisher)
    adapter_settings = publisher.adapter("xo").settings
    flow = flow_for("x", "xo", adapter_settings, env=ENV, clock=Clock())
    CredentialStore(store.engine).save("xo", "x", flow.import_token(x.issue_refresh_token()),
                                       Cipher(KEY, "K"), datetime.now(UTC))
    yield {"server": server, "x": x, "store": store, "publisher": publisher,
           "outbox": tmp_path / "outbox", "data": settings.data_dir}
    publisher.close()
    store.close()
    server.close()


def publish(rig: dict[str, Any], post_id: str) -> dict[str, str]:
    due = datetime.now(UTC) + timedelta(milliseconds=300)
    rig["store"].add(snap(post_id, ("xo",)), due_at=due, require_approval=False)
    time.sleep(0.4)
    rig["publisher"].tick(wait=True)
    return {r.ref: r.state for r in rig["store"].list_deliveries()}


def test_a_revoked_access_token_is_renewed_once_and_the_post_goes_out(rig: dict[str, Any]
                                                                       ) -> None:
    x = rig["x"]
    adapter = rig["publisher"].adapter("xo")
    x.access.pop(adapter.tokens.access_token())  # the platform dropped it early
    assert publish(rig, "a") == {"a@xo": "published"}
    assert len(x.presented) == 2 and len(x.tweets) == 1


def test_a_second_401_gives_up_with_auth_error(rig: dict[str, Any]) -> None:
    x = rig["x"]
    x.reject_all = True
    adapter = rig["publisher"].adapter("xo")
    with pytest.raises(AuthError, match=r"answered 401"):
        adapter.verify()
    assert len(x.presented) == 2  # the login and one renewal, not a loop


def test_a_refused_refresh_token_retires_the_credential_with_a_notice(rig: dict[str, Any]
                                                                      ) -> None:
    x = rig["x"]
    x.access.clear()
    x.live_refresh.clear()  # revoked on x.com
    assert publish(rig, "b") == {"b@xo": "failed"}
    notices = sorted(p / "caption.txt" for p in rig["outbox"].iterdir())
    texts = [n.read_text(encoding="utf-8") for n in notices]
    refused = ("channel 'xo': the platform refused the refresh: x 'xo': the token endpoint "
               "answered 400: invalid_grant: Value passed for the token was invalid.; the "
               "stored credential is retired, log in again with `postq channels login xo`")
    assert f"postq: {refused}" in texts
    assert f"postq: delivery b@xo FAILED: {refused}" in texts
    row = rig["store"].get_delivery("b@xo#r1")
    assert row.last_error == refused
    tokens = [*x.presented, *x.access]
    for f in rig["data"].rglob("*"):
        if f.is_file():
            assert not any(t.encode() in f.read_bytes() for t in tokens), f


def test_no_command_help_imports_cryptography() -> None:
    code = ("import sys; from scheduler.cli import main\n"
            "for args in (['--help'], ['channels', '--help'], ['channels', 'login', '--help']):\n"
            "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
            "print([m for m in ('cryptography', 'sqlalchemy') if m in sys.modules], file=sys.stderr)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ})
    assert out.stderr.strip() == "[]"
