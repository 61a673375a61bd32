"""The webhook adapter against a local HTTP server that verifies the signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from scheduler.adapters.webhook import WebhookAdapter
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
)
from tests.peers import Reply

SECRET = "whsec-Recognisable-9d8c7b"


def webhook(url: str, **extra) -> WebhookAdapter:
    raw = {"adapter": "webhook", "url": url, "secret_env": "POSTQ_HOOK_SECRET", **extra}
    settings = WebhookAdapter.parse_settings("hook", raw)
    return WebhookAdapter("hook", settings, env={"POSTQ_HOOK_SECRET": SECRET})


def verifying(req):
    """What a receiver does: recompute the HMAC over the raw body."""
    expected = "sha256=" + hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(req.headers.get("X-Postq-Signature", ""), expected):
        return Reply(401, {"error": "bad signature"})
    doc = json.loads(req.body)
    return Reply(201, {"id": f"hook-{doc['delivery_id']}", "url": "https://cms.example/p/1"})


def test_publish_signed_json(local_server, make_post, make_image):
    local_server.handler = verifying
    image = make_image(alt="Desk with case notes.")
    post = make_post("Caption 🚀 café", (image,), delivery_id="d-1")
    published = webhook(local_server.base_url + "/hook").publish(post)
    assert published.remote_id == "hook-d-1"
    assert published.url == "https://cms.example/p/1"

    [req] = local_server.requests
    assert req.method == "POST" and req.path == "/hook"
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers["X-Postq-Delivery"] == "d-1"
    doc = json.loads(req.body)
    assert {k: doc[k] for k in ("post_id", "channel", "delivery_id", "caption",
                                "content_hash", "due_at")} == {
        "post_id": post.post_id, "channel": post.channel, "delivery_id": "d-1",
        "caption": "Caption 🚀 café", "content_hash": post.content_hash,
        "due_at": "2026-12-01T09:00:00+00:00",
    }
    [img] = doc["images"]
    assert img["alt"] == "Desk with case notes."
    assert img["mime"] == "image/jpeg"
    assert img["sha256"] == image.sha256
    assert base64.b64decode(img["data"]) == image.read_bytes()


def test_wrong_secret_is_refused_by_receiver(local_server, make_post):
    local_server.handler = verifying
    settings = WebhookAdapter.parse_settings(
        "hook", {"adapter": "webhook", "url": local_server.base_url, "secret_env": "S"})
    adapter = WebhookAdapter("hook", settings, env={"S": "not-the-secret"})
    with pytest.raises(AuthError):
        adapter.publish(make_post())


def test_images_can_be_left_out(local_server, make_post, make_image):
    local_server.handler = verifying
    post = make_post("c", (make_image(),), delivery_id="d-2")
    webhook(local_server.base_url, include_images="none").publish(post)
    [img] = json.loads(local_server.requests[0].body)["images"]
    assert "data" not in img and img["sha256"] == post.images[0].sha256


def test_errors_and_no_secret_in_them(local_server, make_post):
    local_server.handler = lambda req: Reply(500, f"oops {req.headers['X-Postq-Signature']}")
    # The receiver may have acted before failing, and cannot be asked: a person decides.
    with pytest.raises(OutcomeUnknown) as unknown:
        webhook(local_server.base_url).publish(make_post())
    assert "answered 500 (oops sha256=" in str(unknown.value)
    local_server.handler = lambda req: Reply(400, {"message": f"bad {SECRET}"})
    with pytest.raises(PermanentPublishError) as info:
        webhook(local_server.base_url).publish(make_post())
    assert SECRET not in str(info.value)


def test_missing_secret_variable_is_auth_error(local_server, make_post):
    settings = WebhookAdapter.parse_settings(
        "hook", {"adapter": "webhook", "url": local_server.base_url, "secret_env": "UNSET_X"})
    with pytest.raises(AuthError, match="UNSET_X"):
        WebhookAdapter("hook", settings, env={}).publish(make_post())
    assert local_server.requests == []


def test_plan_has_no_secret_and_no_image_bytes(make_post, make_image):
    post = make_post(f"caption {SECRET}", (make_image(),))
    [planned] = webhook("https://hooks.example/x").plan(post)
    shown = json.dumps(planned.as_dict())
    assert SECRET not in shown
    assert planned.headers["X-Postq-Signature"] == "sha256=***"
    assert planned.body["images"][0]["data"].startswith("<")
    assert "bytes image/jpeg sha256=" in planned.body["images"][0]["data"]


def test_check_cannot_ask_a_webhook(make_post):
    assert webhook("https://hooks.example/x").check(make_post()) is None
