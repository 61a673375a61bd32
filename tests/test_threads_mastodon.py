"""A three-part thread against Mastodon's API description (Prism): replies chain by
``in_reply_to_id``, each part under an Idempotency-Key of its own; retracting deletes all."""

from __future__ import annotations

import json
from typing import Any

import requests

from scheduler.adapters.base import PublishedPost
from scheduler.platforms import THREAD_SEPARATOR
from tests.peers import Reply
from tests.test_adapter_mastodon import ContractWatch, mastodon

PARTS = ["Life as an officer, a thread 🧵 #SecurityCareers",
         "Part two: training at https://www.example.gov.uk/careers/training",
         "Part three: apply at https://www.example.gov.uk/careers #ApplyNow"]


class Statuses:
    """Each POST /api/v1/statuses the adapter sent: its key, its body and the answer."""

    def __init__(self, adapter: Any) -> None:
        self.sent: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        adapter.http.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        req = response.request
        if req.method == "POST" and req.url.endswith("/api/v1/statuses"):
            self.sent.append((req.headers["Idempotency-Key"], json.loads(req.body),
                              response.json()))


def test_three_part_thread_conforms_and_chains(mastodon_peer, make_post, make_image):
    adapter = mastodon(mastodon_peer.base_url)
    watch, statuses = ContractWatch(adapter), Statuses(adapter)
    saved: dict[str, Any] = {}
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    post = make_post(THREAD_SEPARATOR.join(PARTS), (make_image(alt="An empty desk."),))
    published = adapter.publish(post)
    assert watch.violations == []
    assert [(m, p) for m, p, _ in watch.seen] == [
        ("GET", "/api/v2/instance"), ("POST", "/api/v2/media"), ("POST", "/api/v1/statuses"),
        ("POST", "/api/v1/statuses"), ("POST", "/api/v1/statuses")]
    keys = [k for k, _b, _a in statuses.sent]
    assert keys == [post.delivery_id, f"{post.delivery_id}+2", f"{post.delivery_id}+3"]
    bodies = [b for _k, b, _a in statuses.sent]
    answers = [a for _k, _b, a in statuses.sent]
    assert [b["status"] for b in bodies] == PARTS
    assert "in_reply_to_id" not in bodies[0] and "media_ids" in bodies[0]
    assert bodies[1]["in_reply_to_id"] == str(answers[0]["id"])
    assert bodies[2]["in_reply_to_id"] == str(answers[1]["id"])
    assert "media_ids" not in bodies[1] and "media_ids" not in bodies[2]
    assert published.remote_id == str(answers[0]["id"])
    assert [p["id"] for p in saved["state"]["thread"]] == [str(a["id"]) for a in answers]


def test_retracting_a_thread_deletes_every_part(local_server):
    # DELETE /api/v1/statuses/:id answers the deleted status, 404 once it is gone
    # (https://docs.joinmastodon.org/methods/statuses/#delete).
    local_server.handler = lambda req: (
        Reply(200, {"id": req.path.rsplit("/", 1)[1]}) if req.method == "DELETE"
        else Reply(404, {"error": "Record not found"}))
    adapter = mastodon(local_server.base_url)
    thread = [{"id": "1", "url": None}, {"id": "2", "url": None}, {"id": "3", "url": None}]
    done = PublishedPost("d", "p", "masto", "1", None, "withdrawn",
                         remote_state={"thread": thread})
    adapter.retract(done)
    assert [(r.method, r.path) for r in local_server.requests] == [
        ("DELETE", "/api/v1/statuses/3"), ("DELETE", "/api/v1/statuses/2"),
        ("DELETE", "/api/v1/statuses/1")]
    assert adapter.is_gone(done) is True


def test_dry_run_plans_every_part_replying_to_the_one_before(make_post):
    adapter = mastodon("https://mastodon.example")
    post = make_post(THREAD_SEPARATOR.join(PARTS))
    planned = adapter.plan_parts(post)
    assert [p.url for p in planned] == ["https://mastodon.example/api/v1/statuses"] * 3
    assert [p.body["status"] for p in planned] == PARTS
    assert [p.body.get("in_reply_to_id") for p in planned] == [
        None, "<id of part 1>", "<id of part 2>"]
    assert [p.headers["Idempotency-Key"] for p in planned] == [
        post.delivery_id, f"{post.delivery_id}+2", f"{post.delivery_id}+3"]
