"""LinkedIn: little-text escaping, images, multi-image posts, headers and the post URN."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.adapters.linkedin import (
    DEFAULT_VERSION,
    LinkedInAdapter,
    escape_little,
    little_text,
    plain_from_little,
)
from scheduler.errors import AuthError, OutcomeUnknown, PermanentPublishError
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeLinkedIn, json_of
from tests.peers import Reply, jpeg_bytes

TOKEN = "AQV-Recognisable-linkedin-token-5f6e7d"


# -- little text ---------------------------------------------------------------------------


@pytest.mark.parametrize(("plain", "little"), [
    ("Hello world", "Hello world"),
    ("Apply (by Friday) [link] {x} <b> *bold* _it_ ~s~ a|b @team back\\slash",
     r"Apply \(by Friday\) \[link\] \{x\} \<b\> \*bold\* \_it\_ \~s\~ a\|b \@team back\\slash"),
    ("#careers and #tech_2027", r"{hashtag|\#|careers} and {hashtag|\#|tech\_2027}"),
    ("Gyrfaoedd #GweithioYngNghymru", r"Gyrfaoedd {hashtag|\#|GweithioYngNghymru}"),
    ("C# and #1 and issue#4", r"C\# and \#1 and issue\#4"),
    ("https://www.example.gov.uk/jobs#apply", r"https://www.example.gov.uk/jobs\#apply"),
    ("(#careers)", r"\({hashtag|\#|careers}\)"),
])
def test_little_text(plain, little):
    assert little_text(plain) == little
    assert plain_from_little(little) == plain


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_every_reserved_character_is_escaped_or_a_hashtag(text):
    out = little_text(text)
    # Strip the hashtag templates, then no reserved character may stand unescaped.
    rest = re.sub(r"\{hashtag\|\\#\|(?:\\.|[^\\}])*\}", "", out)
    i = 0
    while i < len(rest):
        if rest[i] == "\\":
            assert i + 1 < len(rest) and rest[i + 1] in "\\|{}@[]()<>#*_~"
            i += 2
            continue
        assert rest[i] not in "\\|{}@[]()<>#*_~", (text, out)
        i += 1
    assert plain_from_little(out) == text


def test_escape_little_escapes_everything():
    assert escape_little("#x") == r"\#x"


# -- the adapter ------------------------------------------------------------------------------


def linkedin(server, **extra) -> LinkedInAdapter:
    raw = {"adapter": "linkedin", "base_url": server.base_url, "organization": "2414183",
           "token_env": "LI_TOKEN", **extra}
    return LinkedInAdapter("li", LinkedInAdapter.parse_settings("li", raw),
                           env={"LI_TOKEN": TOKEN}, clock=FixedClock(NOW))


@pytest.fixture
def fake(local_server):
    return FakeLinkedIn(local_server, TOKEN)


def test_single_image_post(local_server, fake, make_post, make_image):
    image = make_image(alt="An officer at a desk.")
    published = linkedin(local_server).publish(make_post("Join us (2027) #careers", (image,)))
    init, upload, create = local_server.requests
    assert init.path == "/rest/images?action=initializeUpload"
    assert json_of(init) == {"initializeUploadRequest": {"owner": "urn:li:organization:2414183"}}
    assert upload.method == "PUT" and upload.body == image.read_bytes()
    assert upload.headers["Content-Type"] == "image/jpeg"
    body = json_of(create)
    image_urn = next(iter(fake.images))
    assert body == {
        "author": "urn:li:organization:2414183",
        "commentary": r"Join us \(2027\) {hashtag|\#|careers}",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                         "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
        "content": {"media": {"id": image_urn, "altText": "An officer at a desk."}},
    }
    for req in (init, create):
        assert req.headers["Linkedin-Version"] == DEFAULT_VERSION
        assert req.headers["X-Restli-Protocol-Version"] == "2.0.0"
    urn = fake.posts[0]["id"]
    assert published.remote_id == urn
    assert published.url == f"https://www.linkedin.com/feed/update/{urn}/"


def test_multi_image_post(local_server, fake, make_post, make_image):
    images = (make_image(alt="One."), make_image(alt="Two.", data=jpeg_bytes(color=(9, 9, 9))))
    linkedin(local_server).publish(make_post("Two", images))
    content = fake.posts[0]["content"]
    assert content == {"multiImage": {"images": [
        {"id": urn, "altText": alt} for urn, alt in zip(fake.images, ["One.", "Two."],
                                                        strict=True)]}}


def test_text_only_post(local_server, fake, make_post):
    linkedin(local_server).publish(make_post("Words only"))
    assert "content" not in fake.posts[0]


def test_created_without_a_urn_is_unknown_not_resent(local_server, make_post):
    local_server.handler = lambda req: Reply(201, b"")
    with pytest.raises(OutcomeUnknown, match="without x-restli-id"):
        linkedin(local_server).publish(make_post("c"))


def test_check_reads_little_text_back(local_server, fake, make_post):
    adapter = linkedin(local_server)
    post = make_post("Apply (today) #careers_2027 @ HQ")
    fake.fail_next("drop")
    with pytest.raises(OutcomeUnknown):
        adapter.publish(post)
    assert adapter.check(post).remote_id == fake.posts[0]["id"]
    query = [r.path for r in local_server.requests if r.method == "GET"][-1]
    assert query.startswith("/rest/posts?author=urn%3Ali%3Aorganization%3A2414183&q=author")


def test_commentary_length_is_checked_before_sending(local_server, fake, make_post):
    adapter = linkedin(local_server)
    adapter.publish(make_post("(" * 3000))  # 6,000 once escaped; readers see 3,000
    with pytest.raises(PermanentPublishError, match="3001 characters; LinkedIn allows 3000"):
        adapter.publish(make_post("(" * 3001))


def test_revoked_token_and_duplicate(local_server, fake, make_post):
    adapter = linkedin(local_server)
    fake.fail_next("expired_token")
    with pytest.raises(AuthError, match="has expired") as info:
        adapter.publish(make_post("c"))
    assert TOKEN not in str(info.value)
    fake.fail_next("permanent")
    with pytest.raises(PermanentPublishError, match="exceeds the maximum of 3000"):
        adapter.publish(make_post("c"))
    first = adapter.publish(make_post("c", delivery_id="d-1"))
    # 422 DUPLICATE_POST for the same delivery sent again: asked, found, published once.
    assert linkedin(local_server).publish(make_post("c", delivery_id="d-1")) == first
    assert len(fake.posts) == 1


def test_plan_verify_and_expiry(local_server, fake, make_post, make_image):
    adapter = linkedin(local_server, token_expires="2026-12-04")
    planned = adapter.plan(make_post(f"c {TOKEN}", (make_image(),)))
    shown = json.dumps([p.as_dict() for p in planned])
    assert TOKEN not in shown
    assert [p.method for p in planned] == ["POST", "PUT", "POST"]
    assert planned[0].headers["Authorization"] == "***"
    assert planned[0].headers["Linkedin-Version"] == DEFAULT_VERSION
    assert planned[2].body["content"]["media"]["id"] == "<image URN 1>"
    assert adapter.verify() == ("posts as Careers at the Department; token expires in 3 days "
                                "(2026-12-04); renew it")
    assert local_server.requests[-1].path == "/rest/organizations/2414183"


def test_organization_urn_is_accepted_as_given():
    settings = LinkedInAdapter.parse_settings("li", {
        "adapter": "linkedin", "organization": "urn:li:organization:5", "token_env": "T"})
    assert settings.organization_urn == "urn:li:organization:5"
