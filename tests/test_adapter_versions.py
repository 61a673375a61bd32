"""API versions that run out: LinkedIn's monthly ``Linkedin-Version`` and Meta's Graph API.

LinkedIn serves a version for one year (202511 was sunset on 2026-11-16) and then answers
426 ``NONEXISTENT_VERSION``; Meta publishes an end date per Graph API version (v21.0 until
2027-01-21). ``channels --check`` (``verify``) warns 60 days ahead, ``readiness`` reports a
version past its end, and ``publish`` refuses it before any call, in one sentence.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scheduler.adapters.facebook import FacebookAdapter
from scheduler.adapters.linkedin import DEFAULT_VERSION, LinkedInAdapter, version_sunset
from scheduler.adapters.meta import GRAPH_VERSION, graph_version_end
from scheduler.errors import ConfigError
from scheduler.timeutil import FixedClock
from tests.fakes import NOW, FakeLinkedIn
from tests.peers import Reply

TOKEN = "tok-Version-Recognisable-4d5e6f"


def linkedin(server, at: datetime = NOW, **extra) -> LinkedInAdapter:
    raw = {"adapter": "linkedin", "base_url": server.base_url, "organization": "2414183",
           "token_env": "LI_TOKEN", **extra}
    return LinkedInAdapter("li", LinkedInAdapter.parse_settings("li", raw),
                           env={"LI_TOKEN": TOKEN}, clock=FixedClock(at))


def facebook(base_url: str, at: datetime = NOW) -> FacebookAdapter:
    raw = {"adapter": "facebook", "base_url": base_url, "page_id": "104000000000001",
           "token_env": "FB_TOKEN"}
    return FacebookAdapter("fb", FacebookAdapter.parse_settings("fb", raw),
                           env={"FB_TOKEN": TOKEN}, clock=FixedClock(at))


def test_the_default_linkedin_version_is_served_today(local_server, make_post):
    fake = FakeLinkedIn(local_server, TOKEN, now=datetime(2026, 12, 4, tzinfo=UTC))
    adapter = linkedin(local_server, at=datetime(2026, 12, 4, tzinfo=UTC))
    assert adapter.publish(make_post("Today")).remote_id == fake.posts[0]["id"]
    assert local_server.requests[-1].headers["Linkedin-Version"] == DEFAULT_VERSION
    assert version_sunset(DEFAULT_VERSION) > datetime(2027, 6, 1).date()


def test_linkedin_warns_sixty_days_before_the_sunset(local_server):
    FakeLinkedIn(local_server, TOKEN)
    assert linkedin(local_server, version="202601").verify() == (
        "posts as Careers at the Department; LinkedIn-Version 202601 is sunset in 31 days; "
        "set `version` in [channels.li] to a current YYYYMM")
    assert linkedin(local_server, version="202603").verify() == (
        "posts as Careers at the Department")


def test_linkedin_refuses_a_sunset_version_before_any_call(local_server, make_post):
    fake = FakeLinkedIn(local_server, TOKEN)
    adapter = linkedin(local_server, version="202511")
    sentence = ("LinkedIn-Version 202511 is past its sunset (LinkedIn serves a version for one "
                "year); set `version` in [channels.li] to a current YYYYMM, as listed at "
                "https://learn.microsoft.com/en-us/linkedin/marketing/versioning")
    with pytest.raises(ConfigError) as info:
        adapter.publish(make_post("Late"))
    assert str(info.value) == sentence
    assert local_server.requests == [] and not fake.posts
    assert adapter.readiness() == [
        "LinkedIn-Version 202511 is past its sunset; set `version` in [channels.li] to a "
        "current YYYYMM, as listed at "
        "https://learn.microsoft.com/en-us/linkedin/marketing/versioning"]


def test_linkedin_426_becomes_one_sentence(local_server, make_post):
    # postq's clock thinks 202511 still has a month; the server has already sunset it.
    fake = FakeLinkedIn(local_server, TOKEN)
    adapter = linkedin(local_server, at=datetime(2026, 10, 1, tzinfo=UTC), version="202511")
    with pytest.raises(ConfigError) as info:
        adapter.publish(make_post("Refused"))
    assert str(info.value) == (
        "LinkedIn-Version 202511 is no longer served; set `version` in [channels.li] to a "
        "current YYYYMM, as listed at "
        "https://learn.microsoft.com/en-us/linkedin/marketing/versioning")
    assert not fake.posts


def test_a_malformed_linkedin_version_names_the_setting():
    with pytest.raises(ConfigError) as info:
        LinkedInAdapter.parse_settings("li", {"adapter": "linkedin", "organization": "1",
                                              "token_env": "X", "version": "2025-11"})
    assert str(info.value) == (f"channels.li.version: '2025-11' is not a LinkedIn-Version; "
                               f"write YYYYMM, e.g. {DEFAULT_VERSION}")


def test_graph_api_version_ends_from_the_changelog():
    assert graph_version_end("https://graph.facebook.com/v21.0") == (
        "v21.0", datetime(2027, 1, 21).date())
    assert graph_version_end(f"https://graph.facebook.com/{GRAPH_VERSION}")[1] > (
        datetime(2028, 1, 1).date())
    assert graph_version_end("https://graph.threads.net/v1.0") is None
    assert graph_version_end("https://graph.facebook.com/v26.0") is None  # no date yet


def test_graph_api_warns_sixty_days_ahead(local_server):
    local_server.handler = lambda req: Reply(200, {"id": "104000000000001",
                                                   "name": "Careers at the Department"})
    adapter = facebook(local_server.base_url + "/v21.0")
    assert adapter.verify() == (
        "posts to the Page Careers at the Department; Graph API v21.0 stops being served in "
        "51 days; set `base_url` in [channels.fb] to a current version")
    assert local_server.requests[-1].path.startswith("/v21.0/104000000000001")
    assert facebook(local_server.base_url + "/v25.0").verify() == (
        "posts to the Page Careers at the Department")


def test_graph_api_refuses_an_ended_version_before_any_call(local_server, make_post):
    adapter = facebook(local_server.base_url + "/v20.0")
    sentence = ("Graph API v20.0 is no longer served; set `base_url` in [channels.fb] to a "
                "current version (such as v25.0)")
    assert adapter.readiness() == [sentence]
    with pytest.raises(ConfigError) as info:
        adapter.publish(make_post("Late"))
    assert str(info.value) == sentence
    assert local_server.requests == []
