"""The Mastodon adapter: contract-checked by Prism, behaviour shown by a local server.

Prism (``mastodon_peer``) validates every request against Mastodon's OpenAPI description
and answers 422 with an ``sl-violations`` header when one does not conform; a response
hook collects those. What Prism cannot show (media still processing, rate limits,
server errors, a limit lower than the default) is played by a local HTTP server.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from scheduler.adapters.mastodon import MastodonAdapter, html_to_text
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)
from tests.peers import Reply

TOKEN = "masto-Token-RECOGNISABLE-5e6f7a"


def mastodon(base_url: str, sleeps: list[float] | None = None, **extra) -> MastodonAdapter:
    raw = {"adapter": "mastodon", "base_url": base_url, "token_env": "POSTQ_MASTODON_TOKEN",
           **extra}
    settings = MastodonAdapter.parse_settings("masto", raw)
    record = sleeps if sleeps is not None else []
    return MastodonAdapter("masto", settings, env={"POSTQ_MASTODON_TOKEN": TOKEN},
                           sleep=record.append)


def request_violations(response: requests.Response) -> list:
    """Prism's findings about the request (response-side ones are the spec's own)."""
    raw = response.headers.get("sl-violations")
    if not raw:
        return []
    try:
        found = json.loads(raw)
    except ValueError:  # "Too many violations! ..."
        return [raw] if '"request"' in raw else []
    return [v for v in found if v.get("location", [None])[0] == "request"]


class ContractWatch:
    """Records every exchange an adapter has with Prism and what Prism objected to."""

    def __init__(self, adapter: MastodonAdapter) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.violations: list[tuple[str, str, list]] = []
        adapter.http.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args, **kwargs) -> None:
        req = response.request
        path = requests.utils.urlparse(req.url).path
        self.seen.append((req.method, path, response.status_code))
        found = request_violations(response)
        if found or response.status_code == 422:
            self.violations.append((req.method, path, found))


# -- against Prism (the API description) ------------------------------------------------


def test_publish_conforms_to_the_api_description(mastodon_peer, make_post, make_image):
    adapter = mastodon(mastodon_peer.base_url)
    watch = ContractWatch(adapter)
    images = (make_image(alt="An officer at a desk.", focus=(0.5, 0.25)),
              make_image(80, 60, alt="Archive exhibit 🗝️ in a case."))
    post = make_post("We're hiring 🚀 https://www.example.gov.uk/careers #careers", images,
                     language="en-GB")
    published = adapter.publish(post)
    assert watch.violations == []
    assert [(m, p) for m, p, _ in watch.seen] == [
        ("GET", "/api/v2/instance"),
        ("POST", "/api/v2/media"),
        ("POST", "/api/v2/media"),
        ("POST", "/api/v1/statuses"),
    ]
    assert published.remote_id and published.url


def test_prism_does_catch_a_bad_request(mastodon_peer):
    """The contract check above means something: Prism flags a status with no key."""
    response = requests.post(f"{mastodon_peer.base_url}/api/v1/statuses",
                             headers={"Authorization": "Bearer x"}, json={"status": "hi"},
                             timeout=10)
    assert response.status_code == 422
    assert request_violations(response)


def test_welsh_text_only_post_conforms(mastodon_peer, make_post):
    adapter = mastodon(mastodon_peer.base_url, visibility="unlisted")
    watch = ContractWatch(adapter)
    adapter.publish(make_post("Rydym yn recriwtio. Ymgeisiwch heddiw! #gyrfaoedd",
                              language="cy"))
    assert watch.violations == []


def test_check_and_verify_conform(mastodon_peer, make_post):
    adapter = mastodon(mastodon_peer.base_url)
    watch = ContractWatch(adapter)
    found = adapter.check(make_post(remote_state={"remote_id": "103270115826048975"}))
    assert found is not None and found.remote_id
    # Prism's fixed examples lack an account id; ask it to build answers from the schema.
    adapter.http.session.headers["Prefer"] = "dynamic=true"
    assert adapter.check(make_post("a caption nobody posted")) is None
    assert adapter.verify().startswith("signed in as @")
    assert watch.violations == []
    assert ("GET", "/api/v1/accounts/verify_credentials") in [(m, p) for m, p, _ in watch.seen]


# -- against a local server (what the description cannot show) -------------------------

INSTANCE = {"configuration": {
    "statuses": {"max_characters": 500, "max_media_attachments": 4},
    "media_attachments": {"description_limit": 1500, "image_size_limit": 16777216},
}}
STATUS = {"id": "1100", "url": "https://social.example/@careers/1100"}


class FakeMastodon:
    """Just enough of a Mastodon server, with knobs for the awkward answers."""

    def __init__(self, server, *, instance=INSTANCE, processing_polls=0, status_reply=None):
        self.instance = instance
        self.processing_polls = processing_polls
        self.status_reply = status_reply or Reply(200, STATUS)
        self.polls = 0
        server.handler = self

    def __call__(self, req):
        path = req.path.split("?")[0]
        if path == "/api/v2/instance":
            return Reply(200, self.instance)
        if req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": "The access token is invalid"})
        if path == "/api/v2/media":
            if self.processing_polls:
                return Reply(202, {"id": "55", "type": "image", "url": None})
            return Reply(200, {"id": "55", "type": "image", "url": "https://files/55.jpg"})
        if path == "/api/v1/media/55":
            self.polls += 1
            if self.polls <= self.processing_polls:
                return Reply(206, {"id": "55", "url": None})
            return Reply(200, {"id": "55", "url": "https://files/55.jpg"})
        if path == "/api/v1/statuses":
            return self.status_reply
        return Reply(404, {"error": "Record not found"})


def form_fields(body: bytes) -> dict[str, str]:
    """Text fields of a multipart body."""
    found = re.findall(rb'name="([^"]+)"\r\n\r\n(.*?)\r\n--', body, re.DOTALL)
    return {k.decode(): v.decode() for k, v in found}


def test_media_processing_is_polled_until_ready(local_server, make_post, make_image):
    fake = FakeMastodon(local_server, processing_polls=2)
    sleeps: list[float] = []
    post = make_post("caption", (make_image(focus=(0.5, 0.25)),), delivery_id="d-77",
                     language="en-GB")
    published = mastodon(local_server.base_url, sleeps).publish(post)
    assert published.remote_id == "1100"
    assert published.url == STATUS["url"]
    assert fake.polls == 3
    assert sleeps == [1.0, 2.0, 4.0]
    paths = [r.path for r in local_server.requests]
    assert paths == ["/api/v2/instance", "/api/v2/media", "/api/v1/media/55",
                     "/api/v1/media/55", "/api/v1/media/55", "/api/v1/statuses"]
    upload = local_server.requests[1]
    fields = form_fields(upload.body)
    assert fields["description"] == "A blue rectangle."
    assert fields["focus"] == "0.00,0.50"  # y = 0.25 from the top is +0.5 (up) in Mastodon
    status = local_server.requests[-1]
    assert status.headers["Idempotency-Key"] == "d-77"
    assert json.loads(status.body) == {"status": "caption", "media_ids": ["55"],
                                       "visibility": "public", "language": "en"}


def test_media_processing_wait_is_bounded(local_server, make_post, make_image):
    FakeMastodon(local_server, processing_polls=10_000)
    sleeps: list[float] = []
    with pytest.raises(TransientPublishError, match="still being processed"):
        mastodon(local_server.base_url, sleeps).publish(make_post("c", (make_image(),)))
    assert len(sleeps) == MastodonAdapter.media_poll_attempts
    assert max(sleeps) == MastodonAdapter.media_poll_max_interval
    assert not any(r.path == "/api/v1/statuses" for r in local_server.requests)


@pytest.mark.parametrize(
    ("reply", "error", "retry_after"),
    [
        (Reply(429, {"error": "Too many requests"}, headers={"Retry-After": "30"}),
         RateLimited, 30.0),
        (Reply(422, {"error": "Cannot attach files that have not finished processing. "
                              "Try again in a moment!"}), TransientPublishError, 5.0),
        (Reply(422, {"error": "Validation failed: Text character limit of 500 exceeded"}),
         PermanentPublishError, None),
        # A 5xx may come after the status was written: ask, never resend blindly.
        (Reply(500, {"error": "Internal server error"}), OutcomeUnknown, None),
        (Reply(503, "<html>maintenance</html>"), OutcomeUnknown, None),
        (Reply(401, {"error": f"The access token {TOKEN} is invalid"}), AuthError, None),
    ],
)
def test_status_errors(local_server, make_post, reply, error, retry_after):
    FakeMastodon(local_server, status_reply=reply)
    with pytest.raises(error) as info:
        mastodon(local_server.base_url).publish(make_post())
    assert type(info.value) is error
    assert getattr(info.value, "retry_after", None) == retry_after
    assert TOKEN not in str(info.value)


def test_wrong_token_is_auth_error_and_not_leaked(local_server, make_post, make_image):
    FakeMastodon(local_server)
    settings = MastodonAdapter.parse_settings(
        "masto", {"adapter": "mastodon", "base_url": local_server.base_url, "token_env": "T"})
    adapter = MastodonAdapter("masto", settings, env={"T": "wrong-token-abcdef"})
    with pytest.raises(AuthError) as info:
        adapter.publish(make_post("c", (make_image(),)))
    assert "wrong-token-abcdef" not in str(info.value)


def test_caption_over_the_instance_limit_is_refused_before_sending(local_server, make_post,
                                                                    make_image):
    small = {"configuration": {"statuses": {"max_characters": 40}}}
    FakeMastodon(local_server, instance=small)
    adapter = mastodon(local_server.base_url)
    caption = "Café 🚀 " * 10  # 70 graphemes: over 40
    with pytest.raises(PermanentPublishError, match=r"70 graphemes \(URL 23\); this instance allows 40"):
        adapter.publish(make_post(caption, (make_image(),)))
    assert [r.path for r in local_server.requests] == ["/api/v2/instance"]
    # A link counts 23 whatever its length, as Mastodon counts it: this one fits.
    adapter.publish(make_post("See https://www.example.gov.uk/" + "x" * 60))
    assert sum(r.path == "/api/v2/instance" for r in local_server.requests) == 1  # cached


def test_check_finds_status_by_exact_text(local_server, make_post):
    caption = "Live Q&A <today> 🚀\nhttps://www.example.gov.uk/qa #careers"
    content = ('<p>Live Q&amp;A &lt;today&gt; 🚀<br />'
               '<a href="https://www.example.gov.uk/qa" rel="nofollow noopener" target="_blank">'
               '<span class="invisible">https://www.</span><span class="">example.gov.uk/qa'
               '</span><span class="invisible"></span></a> <a href="https://social.example/tags/'
               'careers" class="mention hashtag" rel="tag">#<span>careers</span></a></p>')
    assert html_to_text(content) == caption

    def handler(req):
        if req.headers.get("Authorization") != f"Bearer {TOKEN}":
            return Reply(401, {"error": "no"})
        if req.path == "/api/v1/accounts/verify_credentials":
            return Reply(200, {"id": "42", "acct": "careers"})
        if req.path == "/api/v1/accounts/42/statuses?limit=20":
            return Reply(200, [{"id": "1", "content": "<p>something else</p>", "url": "u1"},
                               {"id": "2", "content": content, "url": "u2"}])
        return Reply(404, {"error": "Record not found"})

    local_server.handler = handler
    adapter = mastodon(local_server.base_url)
    found = adapter.check(make_post(caption))
    assert found is not None and (found.remote_id, found.url) == ("2", "u2")
    assert adapter.check(make_post("never posted")) is None


def test_check_by_recorded_status_id(local_server, make_post):
    answers = {"/api/v1/statuses/9": Reply(200, {"id": "9", "url": "u9"}),
               "/api/v1/accounts/verify_credentials": Reply(200, {"id": "42"}),
               "/api/v1/accounts/42/statuses?limit=20": Reply(200, [])}
    local_server.handler = lambda req: answers.get(req.path,
                                                   Reply(404, {"error": "Record not found"}))
    adapter = mastodon(local_server.base_url)
    assert adapter.check(make_post(remote_state={"remote_id": "9"})).remote_id == "9"
    # Deleted since (404): the latest statuses are read, and it is not among them.
    assert adapter.check(make_post(remote_state={"remote_id": "10"})) is None


def test_plan_is_redacted_and_summarised(make_post, make_image):
    post = make_post(f"caption with {TOKEN}", (make_image(),), delivery_id="d-9")
    planned = mastodon("https://social.example").plan(post)
    shown = json.dumps([p.as_dict() for p in planned])
    assert TOKEN not in shown
    assert [(p.method, p.url) for p in planned] == [
        ("POST", "https://social.example/api/v2/media"),
        ("POST", "https://social.example/api/v1/statuses"),
    ]
    assert planned[0].headers["Authorization"] == "***"
    assert "bytes image/jpeg sha256=" in planned[0].body["file"]
    assert planned[1].headers["Idempotency-Key"] == "d-9"
    assert planned[1].body["media_ids"] == ["<id of image 1>"]
