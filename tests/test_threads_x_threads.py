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


def test_a_part_never_sent_is_not_taken_for_another_post_with_the_same_words(
        local_server, make_post):
    """After a lost answer on part one, ``check`` asks about the parts on record and the
    one whose answer was lost; a later part that was never sent is certainly not there,
    even when the account shows an earlier thread's identical part (recruitment threads
    end alike: "Apply at <link>", links that X's listing shows only as t.co). Taking that
    for this thread's part would record a thread whose part two never went out, and a
    retraction would delete the other thread's post."""
    from scheduler.errors import OutcomeUnknown
    from tests.fakes.x import FakeX
    from tests.test_adapter_x import TOKEN, x_adapter

    fake = FakeX(local_server, TOKEN)
    adapter = x_adapter(local_server.base_url)
    closing = "Apply at https://www.example.gov.uk/careers/{} #ApplyNow"
    earlier = make_post(THREAD_SEPARATOR.join(["Analysts wanted", closing.format("analyst")]))
    adapter.publish(earlier)
    saved: dict[str, Any] = {}
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    post = make_post(THREAD_SEPARATOR.join(["Officers wanted", closing.format("officer")]))
    fake.fail_next("drop")  # part one is created, its answer lost
    try:
        adapter.publish(post)
    except OutcomeUnknown:
        pass
    assert adapter.check(post) is None  # part two was never sent
    published = adapter.publish(post)
    sent = [t["sent"] for t in fake.tweets]
    assert sent.count(closing.format("officer")) == 1
    assert [p["id"] for p in saved["state"]["thread"]] == [
        t["id"] for t in fake.tweets[2:]]
    assert published.remote_id == fake.tweets[2]["id"]


def test_threads_reply_part_whose_answer_was_lost_is_found_among_the_replies(
        local_server, tmp_path, make_post):
    """Threads lists a profile's replies apart from its threads (GET
    /{threads-user-id}/replies). A later part whose publishing answer was lost is looked
    for there; among the threads it can never be found, and the delivery would wait for
    a person although the platform can answer."""
    from scheduler.errors import OutcomeUnknown

    fake = FakeGraphContainers(local_server, THREADS_TOKEN, tmp_path / "www", flavour="threads")
    adapter = threads(local_server, tmp_path, fake, with_host=False)
    saved: dict[str, Any] = {}
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    post = make_post(THREAD_SEPARATOR.join(PARTS[:2]))
    fake.fail_next("drop", times=1)  # part one
    try:
        adapter.publish(post)
    except OutcomeUnknown:
        pass
    assert adapter.check(post) is None  # part one found; part two never sent
    later = make_post(THREAD_SEPARATOR.join(PARTS[:2]), delivery_id=post.delivery_id,
                      remote_state=saved["state"])
    adapter = threads(local_server, tmp_path, fake, with_host=False)
    adapter.save_progress = lambda delivery_id, state, token: saved.update(state=state)
    fake.fail_next("drop", times=1)  # part two: created, its answer lost
    try:
        adapter.publish(later)
    except OutcomeUnknown:
        pass
    found = adapter.check(later)
    assert found is not None and found.remote_id == fake.posts[0]["id"]
    assert [p["id"] for p in saved["state"]["thread"]] == [p["id"] for p in fake.posts]


def test_a_part_refused_for_good_names_the_parts_already_public(local_server, make_post):
    """A thread whose part two is refused for good fails, but part one is public: the
    failure says so, with its address, instead of reading as if nothing went out."""
    import pytest

    from scheduler.errors import PermanentPublishError
    from tests.fakes.x import FakeX
    from tests.test_adapter_x import TOKEN, x_adapter

    fake = FakeX(local_server, TOKEN)
    adapter = x_adapter(local_server.base_url, username="CareersGov")
    post = make_post(THREAD_SEPARATOR.join(PARTS))
    adapter_calls = []

    original = adapter._publish_one

    def one(part):  # part two is refused by X for good
        adapter_calls.append(part.part)
        if part.part == 2:
            fake.fail_next("permanent")
        return original(part)

    adapter._publish_one = one
    with pytest.raises(PermanentPublishError) as exc:
        adapter.publish(post)
    first = fake.tweets[0]["id"]
    assert adapter_calls == [1, 2] and len(fake.tweets) == 1
    assert (f"part 1 of the thread is public (https://x.com/CareersGov/status/{first}); "
            "the rest was not published: delete it by hand or publish the rest"
            in str(exc.value))
