"""The shared HTTP layer against a real local server: errors, timeouts, redaction."""

from __future__ import annotations

import base64
import json
import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote, quote_plus

import pytest

from scheduler import __version__
from scheduler.adapters.http import HttpClient, plan_request, redact
from scheduler.adapters.transport import Limits
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)
from tests.peers import Reply

SECRET = "s3cr3t-token-VALUE-4242"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def client(server, **kw) -> HttpClient:
    return HttpClient(platform="testplatform", base_url=server.base_url,
                      secrets=lambda: [SECRET], now=lambda: NOW, **kw)


def test_every_request_has_user_agent_and_timeout(local_server):
    local_server.handler = lambda req: Reply(200, {"ok": True})
    http = client(local_server)
    assert http.json("GET", "/x") == {"ok": True}
    assert local_server.requests[0].headers["User-Agent"] == f"postq/{__version__}"
    limits = http.limits
    assert 0 < limits.connect <= limits.deadline and 0 < limits.read <= limits.deadline


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (500, TransientPublishError),
     (502, TransientPublishError), (503, TransientPublishError),
     (400, PermanentPublishError), (404, PermanentPublishError),
     (422, PermanentPublishError)],
)
def test_status_codes_map_to_error_types(local_server, status, error):
    local_server.handler = lambda req: Reply(status, {"error": "Nope", "message": "the reason"})
    with pytest.raises(error) as info:
        client(local_server).request("POST", "/api/thing", json_body={"a": 1}, idempotent=True)
    assert type(info.value) is error
    assert str(status) in str(info.value)
    assert "the reason" in str(info.value)
    assert "testplatform" in str(info.value)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": format_datetime(NOW + timedelta(seconds=90), usegmt=True)}, 90.0),
        ({"x-rate-limit-reset": str(int((NOW + timedelta(seconds=300)).timestamp()))}, 300.0),
        ({"X-RateLimit-Reset": (NOW + timedelta(seconds=60)).isoformat()}, 60.0),
        ({}, None),
    ],
)
def test_429_carries_retry_after(local_server, headers, expected):
    local_server.handler = lambda req: Reply(429, {"error": "slow down"}, headers=headers)
    with pytest.raises(RateLimited) as info:
        client(local_server).request("GET", "/x")
    assert info.value.retry_after == expected


def test_platform_message_from_rfc7807_and_meta_shapes(local_server):
    local_server.handler = lambda req: Reply(400, {"title": "Invalid Request",
                                                   "detail": "text is too long"})
    with pytest.raises(PermanentPublishError, match="Invalid Request: text is too long"):
        client(local_server).request("POST", "/2/tweets")
    local_server.handler = lambda req: Reply(400, {"error": {"message": "Duplicate post",
                                                             "code": 506}})
    with pytest.raises(PermanentPublishError, match="Duplicate post"):
        client(local_server).request("POST", "/me/feed")


def test_read_timeout_is_transient_for_get(local_server):
    local_server.handler = lambda req: Reply(200, {}, delay=1.0)
    with pytest.raises(TransientPublishError, match="no answer"):
        client(local_server, limits=Limits(connect=2.0, read=0.2)).request("GET", "/slow")


def test_read_timeout_after_post_is_outcome_unknown(local_server):
    local_server.handler = lambda req: Reply(200, {}, delay=1.0)
    with pytest.raises(OutcomeUnknown, match="may or may not"):
        client(local_server, limits=Limits(connect=2.0, read=0.2)).request("POST", "/slow", json_body={})


def test_connection_cut_after_post_sent_is_outcome_unknown(local_server):
    local_server.handler = lambda req: Reply(drop=True)
    with pytest.raises(OutcomeUnknown):
        client(local_server).request("POST", "/publish", json_body={"text": "hi"})
    assert local_server.requests[0].method == "POST"  # it really reached the server


def test_connection_cut_on_idempotent_call_is_transient(local_server):
    local_server.handler = lambda req: Reply(drop=True)
    with pytest.raises(TransientPublishError):
        client(local_server).request("GET", "/status")
    with pytest.raises(TransientPublishError):
        client(local_server).request("POST", "/upload", content=(b"x", "image/jpeg"),
                                     idempotent=True)


def test_refused_connection_is_transient_even_for_post():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    http = HttpClient(platform="p", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(TransientPublishError, match="could not connect"):
        http.request("POST", "/publish", json_body={})


def test_secrets_redacted_from_errors(local_server):
    # A platform that echoes the credential back in its error must not leak it to us.
    def echo(req):
        return Reply(400, {"error": f"bad token {req.headers.get('Authorization')}"})

    local_server.handler = echo
    with pytest.raises(PermanentPublishError) as info:
        client(local_server).request("POST", f"/x?key={SECRET}",
                                     headers={"Authorization": f"Bearer {SECRET}"})
    assert SECRET not in str(info.value)
    assert "***" in str(info.value)


def test_secrets_redacted_from_log(local_server, caplog):
    caplog.set_level("DEBUG", logger="scheduler.adapters.http")
    local_server.handler = lambda req: Reply(200, {})
    client(local_server).request("GET", f"/x?access_token={SECRET}")
    assert caplog.records
    assert SECRET not in caplog.text


def test_plan_request_redacts_and_summarises():
    planned = plan_request(
        "post", "https://api.example/upload",
        headers={"Authorization": "Bearer whatever", "X-Other": f"k={SECRET}"},
        files={"file": ("1.jpg", b"\xff\xd8" * 10, "image/jpeg")},
        data={"description": f"alt {SECRET}"},
        secrets=[SECRET],
    )
    shown = repr(planned.as_dict())
    assert SECRET not in shown
    assert planned.method == "POST"
    assert planned.headers["Authorization"] == "***"
    assert planned.body["file"].startswith("1.jpg <20 bytes image/jpeg sha256=")


def test_redact_leaves_short_values_alone():
    assert redact("a-b-c", ["a"]) == "a-b-c"
    assert redact("token abcdef here", ["abcdef"]) == "token *** here"


ODD = 'ab/cd+ef="g" h&i-9'


@pytest.mark.parametrize("shown", [
    ODD,
    json.dumps(ODD)[1:-1],
    json.dumps(ODD)[1:-1].replace("/", "\\/"),
    quote(ODD, safe=""),
    quote(ODD, safe="").lower(),
    quote_plus(ODD),
    base64.b64encode(f"user:{ODD}".encode()).decode(),
    ODD[:8],
])
def test_redact_catches_every_spelling_of_a_secret(shown):
    assert redact(f"before {shown} after", [ODD]) == "before *** after"


def test_redact_leaves_ordinary_text_alone():
    text = ("Basic layout keeps drawing; Bearer tokens expire; see "
            "https://www.example.gov.uk/careers/io?ref=social#apply")
    assert redact(text, ["s3cr3t-token-VALUE-4242"]) == text
