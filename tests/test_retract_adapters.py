"""Every adapter's delete call against its platform's stand-in (real HTTP on 127.0.0.1).

Scenarios: a published post is deleted and the platform confirms it gone; a transient
failure, then success; a post already gone (404) is success; an expired token is an
AuthError without the token; a platform without a delete API (Instagram) raises
CannotDelete with the steps a person follows.
"""

from __future__ import annotations

import pytest

from scheduler.adapters.base import CannotDelete, PublishedPost
from scheduler.errors import AuthError, RateLimited, TransientPublishError
from tests.test_adapter_contract import CASES, Case, Rig

DELETING = [c for c in CASES if c.name != "instagram"]


def _published(rig: Rig, post) -> PublishedPost:
    done = rig.adapter.publish(post)
    return PublishedPost(delivery_id=post.delivery_id, post_id=post.post_id,
                         channel=post.channel, remote_id=done.remote_id, url=done.url,
                         reason="wrong closing date")


@pytest.fixture(params=DELETING, ids=[c.name for c in DELETING])
def deleting(request, local_server, tmp_path) -> Rig:
    built = request.param.build(local_server, tmp_path)
    built.case = request.param  # type: ignore[attr-defined]
    yield built
    built.adapter.close()


@pytest.fixture
def post(make_post, make_image):
    return make_post("We're hiring analysts https://www.example.gov.uk/careers #careers",
                     (make_image(alt="An officer at a desk."),), delivery_id="d-retract-1")


def test_delete_removes_the_post_and_the_platform_confirms(deleting: Rig, post) -> None:
    published = _published(deleting, post)
    assert deleting.count() == 1
    deleting.adapter.retract(published)
    case: Case = deleting.case  # type: ignore[attr-defined]
    if case.name == "webhook":
        # A receiver cannot be asked; it was told, signed, to take the post down.
        from scheduler.adapters.webhook import sign

        event = deleting.fake.received[-1]  # type: ignore[union-attr]
        assert (event["event"], event["reason"], event["remote_id"]) == (
            "retracted", "wrong closing date", published.remote_id)
        sent = deleting.fake.server.requests[-1]  # type: ignore[union-attr]
        assert sent.headers["X-Postq-Event"] == "retracted"
        assert sent.headers["X-Postq-Signature"] == sign(deleting.secret, sent.body)
        assert deleting.adapter.is_gone(published) is None
        return
    if case.name == "outbox":
        root = deleting.adapter.root  # type: ignore[attr-defined]
        assert sorted(p.name for p in root.iterdir()) == ["retracted"]
        assert (root / "retracted" / published.remote_id / "retraction.json").is_file()
    else:
        assert deleting.count() == 0
    assert deleting.adapter.is_gone(published) is True


def test_a_post_already_gone_is_success(deleting: Rig, post) -> None:
    published = _published(deleting, post)
    deleting.adapter.retract(published)
    deleting.adapter.retract(published)  # 404 (or nothing to move): gone, as wanted
    fresh = deleting.rebuild()
    try:
        fresh.retract(published)
    finally:
        fresh.close()


def test_a_transient_failure_then_success(deleting: Rig, post) -> None:
    if deleting.fake is None or deleting.case.name == "webhook":  # type: ignore[attr-defined]
        pytest.skip("the outbox writes locally and the receiver has no delete endpoint "
                    "to fail")
    published = _published(deleting, post)
    deleting.fake.fail_next_delete("transient")
    with pytest.raises((TransientPublishError, RateLimited)):
        deleting.adapter.retract(published)
    assert deleting.count() == 1
    deleting.adapter.retract(published)
    assert deleting.count() == 0


def test_an_expired_token_is_an_auth_error_without_the_token(deleting: Rig, post) -> None:
    if deleting.fake is None or deleting.case.name == "webhook":  # type: ignore[attr-defined]
        pytest.skip("no token to expire on a delete call here")
    published = _published(deleting, post)
    deleting.fake.fail_next_delete("expired_token", times=2)
    with pytest.raises(AuthError) as caught:
        deleting.adapter.retract(published)
    assert deleting.secret not in str(caught.value)
    assert deleting.count() == 1


def test_instagram_has_no_delete_api_and_says_what_a_person_does(
        local_server, tmp_path, post) -> None:
    from tests.test_adapter_contract import build_instagram

    rig = build_instagram(local_server, tmp_path)
    published = _published(rig, post)
    with pytest.raises(CannotDelete) as caught:
        rig.adapter.retract(published)
    assert str(caught.value) == (
        "channel 'ig': the instagram adapter cannot delete posts through the platform's "
        "API; a person must remove it")
    assert caught.value.steps == [
        f"Open {published.url} in the Instagram app or on instagram.com, signed in to the "
        "account of channel 'ig'.",
        "Tap the three dots (...) above the post, then Delete, and confirm.",
        "Record it: postq retract --done io-winter-2026@test",
    ]
    assert rig.count() == 1  # nothing was sent that could have removed it
    rig.adapter.close()


def test_a_plug_in_without_retract_says_it_cannot_delete() -> None:
    from scheduler.adapters.base import Adapter, AdapterSettings

    class Minimal(Adapter):
        platform = "outbox"

        def publish(self, post):  # pragma: no cover - not called
            raise NotImplementedError

        def check(self, post):  # pragma: no cover - not called
            return None

    adapter = Minimal("cms", AdapterSettings(adapter="acme-cms"))
    post = PublishedPost(delivery_id="io@cms#r1", post_id="io", channel="cms",
                         remote_id="cms-17", url="https://cms.example/p/17", reason="x")
    with pytest.raises(CannotDelete) as caught:
        adapter.retract(post)
    assert str(caught.value) == ("channel 'cms': the acme-cms adapter cannot delete posts "
                                 "through the platform's API; a person must remove it")
    assert caught.value.steps == [
        "Open https://cms.example/p/17 while signed in to the account of channel 'cms'.",
        "Delete the post with the platform's own menu.",
        "Record it: postq retract --done io@cms",
    ]
    assert adapter.is_gone(post) is None
