"""A three-part thread on a real Bluesky PDS: reply refs, facets per part, resume, retract.

Records are read back with plain ``requests``, so the assertions see what the PDS stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.adapters.base import OutgoingPost, PublishedPost
from scheduler.adapters.bluesky import BlueskyAdapter, record_key
from scheduler.errors import TransientPublishError
from scheduler.platforms import THREAD_SEPARATOR
from tests.test_adapter_bluesky import bluesky, get_record, list_rkeys

PARTS = ["Life as an officer, a thread 🧵 #SecurityCareers",
         "Part two: training at https://www.example.gov.uk/careers/training, café included.",
         "Part three: apply at https://www.example.gov.uk/careers #ApplyNow"]


def stored(peer: Any, post: OutgoingPost, part: int) -> dict[str, Any]:
    key = post.delivery_id if part == 1 else f"{post.delivery_id}+{part}"
    response = get_record(peer, record_key(key))
    assert response.status_code == 200, response.text
    return response.json()


def selected(value: dict[str, Any]) -> list[tuple[str, str]]:
    raw = value["text"].encode("utf-8")
    return [(f["features"][0]["$type"].rsplit("#", 1)[1],
             raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode())
            for f in value.get("facets", [])]


def test_three_parts_reply_to_root_and_parent(bsky_peer, tmp_path, make_post, make_image):
    post = make_post(THREAD_SEPARATOR.join(PARTS), (make_image(alt="An empty desk."),))
    published = bluesky(bsky_peer, tmp_path).publish(post)
    one, two, three = (stored(bsky_peer, post, n) for n in (1, 2, 3))
    assert published.remote_id == one["uri"]
    assert [r["value"]["text"] for r in (one, two, three)] == PARTS
    assert "reply" not in one["value"] and "embed" in one["value"]
    root = {"uri": one["uri"], "cid": one["cid"]}
    assert two["value"]["reply"] == {"root": root, "parent": root}
    assert three["value"]["reply"] == {"root": root,
                                       "parent": {"uri": two["uri"], "cid": two["cid"]}}
    assert "embed" not in two["value"] and "embed" not in three["value"]
    assert [selected(r["value"]) for r in (one, two, three)] == [
        [("tag", "#SecurityCareers")],
        [("link", "https://www.example.gov.uk/careers/training")],
        [("link", "https://www.example.gov.uk/careers"), ("tag", "#ApplyNow")]]


class FailsAtPartThree(BlueskyAdapter):
    """The network goes away after part two is created (a subclass, as a plug-in is)."""

    def _publish_one(self, post: OutgoingPost):  # type: ignore[no-untyped-def]
        if post.part == 3:
            raise TransientPublishError("connection reset before part three")
        return super()._publish_one(post)


def test_a_failure_after_part_two_resumes_at_part_three(bsky_peer, tmp_path, make_post):
    post = make_post(THREAD_SEPARATOR.join(PARTS))
    saved: dict[str, Any] = {}
    first = bluesky(bsky_peer, tmp_path)
    failing = FailsAtPartThree("bsky", first.settings, env=first.env, data_dir=tmp_path)
    failing.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    with pytest.raises(TransientPublishError):
        failing.publish(post)
    assert [p["id"] for p in saved["state"]["thread"]] == [
        stored(bsky_peer, post, 1)["uri"], stored(bsky_peer, post, 2)["uri"]]
    before = list_rkeys(bsky_peer)
    # The next attempt is a new process: it knows only what the store kept.
    again = make_post(post.caption, delivery_id=post.delivery_id, remote_state=saved["state"])
    resumed = bluesky(bsky_peer, tmp_path / "next")
    from tests.test_adapter_bluesky import CallLog

    log = CallLog(resumed)
    assert resumed.publish(again).remote_id == stored(bsky_peer, post, 1)["uri"]
    assert log.names().count("createRecord") == 1  # part three only
    after = list_rkeys(bsky_peer)
    assert sorted(set(after) - set(before)) == [record_key(f"{post.delivery_id}+3")]
    three = stored(bsky_peer, post, 3)["value"]
    assert three["reply"]["parent"]["uri"] == stored(bsky_peer, post, 2)["uri"]


def test_retracting_a_thread_deletes_every_part(bsky_peer, tmp_path, make_post):
    post = make_post(THREAD_SEPARATOR.join(PARTS))
    saved: dict[str, Any] = {}
    adapter = bluesky(bsky_peer, tmp_path)
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    published = adapter.publish(post)
    done = PublishedPost(post.delivery_id, post.post_id, post.channel, published.remote_id,
                         published.url, "withdrawn", remote_state=saved["state"])
    adapter.retract(done)
    keys = [record_key(k) for k in (post.delivery_id, f"{post.delivery_id}+2",
                                    f"{post.delivery_id}+3")]
    assert [get_record(bsky_peer, k).status_code for k in keys] == [400, 400, 400]
    assert adapter.is_gone(done) is True
