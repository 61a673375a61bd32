"""A thread of three parts on Threads (the Graph stand-in): each later part replies to the
one before it by ``reply_to_id``; retracting deletes every part (X's thread test is in
tests/test_adapter_x.py, beside the X peer it shares)."""

from __future__ import annotations

from typing import Any

from scheduler.adapters.base import PublishedPost
from scheduler.platforms import THREAD_SEPARATOR
from tests.fakes import FakeGraphContainers
from tests.test_adapter_threads import TOKEN as THREADS_TOKEN
from tests.test_adapter_threads import threads

PARTS = ["Life as an officer, a thread #SecurityCareers",
         "Part two: training at https://www.example.gov.uk/careers/training",
         "Part three: apply at https://www.example.gov.uk/careers #ApplyNow"]


def test_threads_thread_chains_by_reply_to_id(local_server, tmp_path, make_post):
    fake = FakeGraphContainers(local_server, THREADS_TOKEN, tmp_path / "www", flavour="threads")
    adapter = threads(local_server, tmp_path, fake, with_host=False)
    saved: dict[str, Any] = {}
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    published = adapter.publish(make_post(THREAD_SEPARATOR.join(PARTS)))
    forms = [box["form"] for box in fake.containers.values()]
    ids = [p["id"] for p in saved["state"]["thread"]]
    assert [f["text"] for f in forms] == PARTS
    assert "reply_to_id" not in forms[0]
    assert [f.get("reply_to_id") for f in forms[1:]] == ids[:2]
    assert published.remote_id == ids[0]
    done = PublishedPost("d", "p", "th", ids[0], None, "withdrawn",
                         remote_state=saved["state"])
    adapter.retract(done)
    deleted = [r.path.split("?")[0] for r in local_server.requests if r.method == "DELETE"]
    assert deleted == [f"/{i}" for i in reversed(ids)]
