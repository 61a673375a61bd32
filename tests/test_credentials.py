"""The credential store, its encryption and token renewal against local token endpoints.

Real parts throughout: a real SQLite file (and PostgreSQL when
``POSTQ_TEST_DATABASE_URLS`` names one), real HTTP to the stand-ins of
``tests/token_platforms.py``, several threads with their own publishers' identities.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.adapters.x import XAdapter
from scheduler.credentials.crypto import Cipher, CredentialKeyError, cipher_from_env, new_key
from scheduler.credentials.flows import flow_for
from scheduler.credentials.oauth import Grant
from scheduler.credentials.store import CredentialStore
from scheduler.credentials.tokens import TokenSource
from scheduler.errors import AuthError, TransientPublishError, UsageError
from scheduler.store import Store
from scheduler.timeutil import Clock
from tests.peers import LocalServer, Reply
from tests.test_store_support import DB_PARAMS, make_db_url
from tests.token_platforms import LinkedInStandIn, MetaStandIn, XStandIn

KEY = new_key()
ENV = {"POSTQ_CREDENTIALS_KEY": KEY, "X_CLIENT_ID": "app-client-id",
       "META_APP_ID": "meta-app", "META_APP_SECRET": "meta-app-secret",
       "LI_CLIENT_ID": "li-client", "LI_CLIENT_SECRET": "li-secret"}


class FixedClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=DB_PARAMS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = Store(make_db_url(request.param, tmp_path), tmp_path / "media")
    yield s
    s.close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer()
    yield srv
    srv.close()


def x_settings(base_url: str) -> Any:
    return XAdapter.parse_settings("x", {"adapter": "x", "auth": "oauth2", "base_url": base_url,
                                         "client_id_env": "X_CLIENT_ID"})


def x_source(store: Store, base_url: str, worker: str, clock: Clock | None = None) -> TokenSource:
    clock = clock or Clock()
    flow = flow_for("x", "x", x_settings(base_url), env=ENV, clock=clock)
    return TokenSource("x", CredentialStore(store.engine), Cipher(KEY, "POSTQ_CREDENTIALS_KEY"),
                       flow, clock=clock, worker=worker)


def login_x(store: Store, stand_in: XStandIn, base_url: str) -> None:
    flow = flow_for("x", "x", x_settings(base_url), env=ENV, clock=Clock())
    grant = flow.import_token(stand_in.issue_refresh_token())
    CredentialStore(store.engine).save("x", "x", grant, Cipher(KEY, "POSTQ_CREDENTIALS_KEY"),
                                       datetime.now(UTC))


# -- the key ----------------------------------------------------------------------------


def test_missing_key_is_one_sentence_naming_the_variable() -> None:
    with pytest.raises(CredentialKeyError) as exc:
        cipher_from_env({}, "POSTQ_CREDENTIALS_KEY")
    assert str(exc.value) == ("set the environment variable POSTQ_CREDENTIALS_KEY to the "
                              "credential key (make one with `postq channels new-key`)")


def test_malformed_key_is_named() -> None:
    with pytest.raises(CredentialKeyError) as exc:
        cipher_from_env({"K": "not a key"}, "K")
    assert str(exc.value) == ("environment variable K does not hold a credential key (make "
                              "one with `postq channels new-key`)")


def test_wrong_key_is_a_clear_error_not_garbage() -> None:
    blob = Cipher(new_key(), "K").encrypt({"access_token": "secret-access-token"})
    with pytest.raises(CredentialKeyError) as exc:
        Cipher(new_key(), "K").decrypt(blob, "x")
    assert str(exc.value) == (
        "the stored credential of channel 'x' cannot be decrypted with the key in K: it is "
        "not the key the credential was stored with (set the right key, or log in again with "
        "`postq channels login x`)")
    assert "secret-access-token" not in blob


def test_stored_tokens_are_encrypted_in_the_database(store: Store, tmp_path: Path) -> None:
    grant = Grant("plain-access-token-123", "plain-refresh-token-456",
                  datetime.now(UTC) + timedelta(hours=2), None, "tweet.write", datetime.now(UTC))
    creds = CredentialStore(store.engine)
    creds.save("x", "x", grant, Cipher(KEY, "K"), datetime.now(UTC))
    row = creds.get("x")
    assert row is not None and row.version == 1 and row.state == "active"
    assert "plain-" not in row.secret
    assert row.grant(Cipher(KEY, "K")).refresh_token == "plain-refresh-token-456"
    for f in tmp_path.rglob("queue.sqlite3*"):
        assert b"plain-access-token" not in f.read_bytes()
        assert b"plain-refresh-token" not in f.read_bytes()


# -- X: rotation, races, refusals -------------------------------------------------------


def test_x_token_is_renewed_before_it_expires_and_rotates(store: Store, server: LocalServer
                                                          ) -> None:
    x = XStandIn(lifetime=4.0)
    server.handler = x
    login_x(store, x, server.base_url)
    source = x_source(store, server.base_url, "w1")
    first = source.access_token()
    assert source.access_token() == first  # fresh: no renewal
    time.sleep(3.2)  # three quarters of four seconds have passed
    second = source.access_token()
    assert second != first and x.authorised_token(second)
    assert len(x.presented) == 2 and not x.presented_twice() and not x.refused
    assert CredentialStore(store.engine).get("x").version == 2  # type: ignore[union-attr]


def test_two_publishers_renewing_at_once_present_the_refresh_token_once(
        store: Store, server: LocalServer) -> None:
    x = XStandIn(lifetime=3.0)
    slow = x.token

    def token_slowly(req: Any) -> Reply:  # widen the race: the refresh takes a while
        time.sleep(0.3)
        return slow(req)

    server.handler = lambda req: token_slowly(req) if "oauth2" in req.path else x(req)
    login_x(store, x, server.base_url)
    sources = [x_source(store, server.base_url, f"w{n}") for n in range(4)]
    for s in sources:
        s.access_token()
    time.sleep(2.4)
    got: list[str] = []
    barrier = threading.Barrier(len(sources))

    def renew(s: TokenSource) -> None:
        barrier.wait()
        got.append(s.access_token())

    threads = [threading.Thread(target=renew, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(set(got)) == 1 and len(got) == 4
    assert len(x.presented) == 2, x.presented  # the login, then exactly one renewal
    assert not x.presented_twice() and not x.refused
    assert sum(s.refreshes for s in sources) == 1


def test_a_401_renews_once_then_gives_up(store: Store, server: LocalServer) -> None:
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    login_x(store, x, server.base_url)
    source = x_source(store, server.base_url, "w1")
    old = source.access_token()
    x.access.pop(old)  # revoked by the platform before its time
    new = source.after_unauthorized(old)
    assert new != old and len(x.presented) == 2
    # Another publisher already renewed: the newer token is used, nothing presented.
    other = x_source(store, server.base_url, "w2")
    assert other.after_unauthorized(old) == new and len(x.presented) == 2


def test_invalid_grant_retires_the_credential_and_says_so(store: Store, server: LocalServer
                                                          ) -> None:
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    login_x(store, x, server.base_url)
    notices: list[str] = []
    source = x_source(store, server.base_url, "w1")
    source.on_retired = lambda ch, msg: notices.append(msg)
    token = source.access_token()
    x.live_refresh.clear()  # the person revoked the app on x.com
    with pytest.raises(AuthError) as exc:
        source.after_unauthorized(token)
    expected = ("channel 'x': the platform refused the refresh: x 'x': the token endpoint "
                "answered 400: invalid_grant: Value passed for the token was invalid.; the "
                "stored credential is retired, log in again with `postq channels login x`")
    assert str(exc.value) == expected and notices == [expected]
    row = CredentialStore(store.engine).get("x")
    assert row is not None and row.state == "retired"
    with pytest.raises(AuthError, match="the stored credential was retired"):
        x_source(store, server.base_url, "w2").access_token()
    assert len(x.presented) == 2  # nothing presented after the refusal


@pytest.mark.parametrize("failure", ["drop", "500"])
def test_network_error_mid_refresh_keeps_the_old_refresh_token(
        store: Store, server: LocalServer, failure: str) -> None:
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    login_x(store, x, server.base_url)
    source = x_source(store, server.base_url, "w1")
    token = source.access_token()
    before = CredentialStore(store.engine).get("x")
    x.fail_token.append(Reply(drop=True) if failure == "drop"
                         else Reply(503, {"title": "Service Unavailable"}))
    with pytest.raises(TransientPublishError):
        source.after_unauthorized(token)
    after = CredentialStore(store.engine).get("x")
    assert after is not None and before is not None
    assert (after.version, after.secret, after.state, after.lease_by) == (
        before.version, before.secret, "active", None)
    # The kept refresh token still works: the next try renews.
    assert source.after_unauthorized(token) != token
    assert not x.refused and not x.presented_twice()


def test_unreachable_token_endpoint_is_transient(store: Store, server: LocalServer) -> None:
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    login_x(store, x, server.base_url)
    base = server.base_url
    server.close()
    source = x_source(store, base, "w1")
    token = source.access_token()
    with pytest.raises(TransientPublishError, match="could not connect"):
        source.after_unauthorized(token)
    assert CredentialStore(store.engine).get("x").state == "active"  # type: ignore[union-attr]


# -- Meta, Threads, LinkedIn ------------------------------------------------------------


def graph_settings(adapter: str, base_url: str) -> Any:
    from scheduler.adapters import AdapterRegistry

    cls = AdapterRegistry.from_entry_points().get(adapter)
    extra = {"page_id": "1"} if adapter == "facebook" else {}
    return cls.parse_settings(adapter, {"adapter": adapter, "auth": "oauth2", "base_url": base_url,
                                        "client_id_env": "META_APP_ID",
                                        "client_secret_env": "META_APP_SECRET", **extra})


def test_meta_exchanges_a_short_lived_token_for_a_long_lived_one(server: LocalServer) -> None:
    meta = MetaStandIn()
    server.handler = meta
    clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    flow = flow_for("facebook", "fb", graph_settings("facebook", server.base_url + "/v21.0"),
                    env=ENV, clock=clock)
    grant = flow.import_token(meta.short_token())
    assert grant.access_token.startswith("meta-long") and grant.refresh_token is None
    assert grant.expires_at == clock.at + timedelta(seconds=5183944)
    path, query = meta.seen[-1]
    assert path == "/v21.0/oauth/access_token" and query["grant_type"] == "fb_exchange_token"
    with pytest.raises(AuthError, match="code 190|Session has expired"):
        flow.import_token("not-a-token")


def test_threads_exchanges_then_renews_with_th_refresh_token(server: LocalServer) -> None:
    meta = MetaStandIn()
    server.handler = meta
    clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    flow = flow_for("threads", "threads", graph_settings("threads", server.base_url + "/v1.0"),
                    env=ENV, clock=clock)
    grant = flow.import_token(meta.short_token())
    assert meta.seen[-1][0] == "/access_token"
    assert not flow.refresh_due(grant, clock.at + timedelta(hours=23))  # under 24 h old
    assert flow.refresh_due(grant, clock.at + timedelta(days=46))
    clock.at += timedelta(days=46)
    renewed = flow.refresh(grant)
    assert meta.seen[-1] == ("/refresh_access_token", {"grant_type": "th_refresh_token",
                                                        "access_token": grant.access_token})
    assert renewed.expires_at == clock.at + timedelta(seconds=5183944)


def test_linkedin_refresh_keeps_the_refresh_token_and_its_end(server: LocalServer) -> None:
    from scheduler.adapters.linkedin import LinkedInAdapter

    li = LinkedInStandIn()
    server.handler = li
    settings = LinkedInAdapter.parse_settings("li", {
        "adapter": "linkedin", "organization": "1", "auth": "oauth2",
        "client_id_env": "LI_CLIENT_ID", "client_secret_env": "LI_CLIENT_SECRET",
        "token_url": server.base_url + "/oauth/v2/accessToken"})
    flow = flow_for("linkedin", "li", settings, env=ENV, clock=Clock())
    refresh = li.issue_refresh_token(ttl=300 * 86400)
    grant = flow.import_token(refresh)
    again = flow.refresh(grant)
    assert again.refresh_token == refresh and again.access_token != grant.access_token
    assert again.refresh_expires_at is not None
    assert abs((again.refresh_expires_at - datetime.now(UTC)).days - 300) <= 1
    li.revoked.add(refresh)
    with pytest.raises(AuthError, match="invalid_grant"):
        flow.refresh(again)


def test_a_failed_early_renewal_still_uses_the_valid_token(store: Store, server: LocalServer
                                                           ) -> None:
    x = XStandIn(lifetime=3600.0)
    server.handler = x
    login_x(store, x, server.base_url)
    clock = FixedClock(datetime.now(UTC))
    source = x_source(store, server.base_url, "w1", clock)
    token = source.access_token()
    clock.at += timedelta(minutes=50)  # renewal due (45 minutes), token valid until 60
    x.fail_token.append(Reply(503, {"title": "Service Unavailable"}))
    assert source.access_token() == token
    assert source.access_token() != token  # the next call renews
    clock.at += timedelta(hours=2)  # now expired: a failed renewal is an error
    x.fail_token.append(Reply(503, {"title": "Service Unavailable"}))
    with pytest.raises(TransientPublishError):
        source.access_token()


def test_an_older_database_gains_the_credentials_table(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect

    from scheduler.store.schema import create_schema

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        create_schema(conn, version=2)
    assert not inspect(engine).has_table("credentials")
    engine.dispose()
    store = Store(url, tmp_path / "media")
    try:
        assert inspect(store.engine).has_table("credentials")
        assert CredentialStore(store.engine).all() == []
    finally:
        store.close()


def test_linkedin_adapter_uses_and_renews_the_stored_token(store: Store, server: LocalServer
                                                           ) -> None:
    from types import SimpleNamespace

    from scheduler.adapters.linkedin import LinkedInAdapter
    from scheduler.credentials.tokens import attach
    from tests.fakes import FakeLinkedIn

    li = LinkedInStandIn()
    fake = FakeLinkedIn(server, "unused")
    fake.authorised = lambda req: (  # type: ignore[method-assign]
        req.headers.get("Authorization", "").removeprefix("Bearer ") in li.issued[-1:])
    server.handler = lambda req: li(req) if req.path.startswith("/oauth/") else fake(req)
    settings = LinkedInAdapter.parse_settings("li", {
        "adapter": "linkedin", "organization": "2414183", "auth": "oauth2",
        "base_url": server.base_url, "client_id_env": "LI_CLIENT_ID",
        "client_secret_env": "LI_CLIENT_SECRET",
        "token_url": server.base_url + "/oauth/v2/accessToken"})
    clock = FixedClock(datetime.now(UTC))
    flow = flow_for("linkedin", "li", settings, env=ENV, clock=clock)
    CredentialStore(store.engine).save("li", "linkedin", flow.import_token(
        li.issue_refresh_token()), Cipher(KEY, "POSTQ_CREDENTIALS_KEY"), clock.at)
    adapter = LinkedInAdapter("li", settings, env=ENV, clock=clock)
    config = SimpleNamespace(postq=SimpleNamespace(credentials_key_env="POSTQ_CREDENTIALS_KEY"))
    attach(adapter, config, store.engine, env=ENV, clock=clock, worker="w1")
    assert adapter.verify().startswith("posts as ")
    assert len(li.issued) == 1
    clock.at += timedelta(days=50)  # past three quarters of 60 days
    assert adapter.verify().startswith("posts as ")
    assert len(li.issued) == 2
    assert li.issued[-1] in adapter.secrets() and li.issued[0] not in adapter.secrets()
    adapter.close()


def test_token_errors_show_neither_the_token_nor_the_app_secret(server: LocalServer) -> None:
    meta = MetaStandIn()
    short = meta.short_token()
    server.handler = lambda req: Reply(drop=True)
    flow = flow_for("threads", "threads", graph_settings("threads", server.base_url + "/v1.0"),
                    env=ENV, clock=Clock())
    with pytest.raises(TransientPublishError) as exc:
        flow.import_token(short)
    assert short not in str(exc.value) and "meta-app-secret" not in str(exc.value)
    assert str(exc.value).startswith("threads 'threads' token endpoint: no answer to GET ")


def test_threads_facebook_and_linkedin_logins_by_authorization_code(server: LocalServer
                                                                    ) -> None:
    from scheduler.adapters.linkedin import LinkedInAdapter

    meta, li = MetaStandIn(), LinkedInStandIn()
    server.handler = lambda req: li(req) if req.path.startswith("/li/") else meta(req)
    clock = Clock()
    threads = flow_for("threads", "th", graph_settings("threads", server.base_url + "/v1.0"),
                       env=ENV, clock=clock)
    start = threads.start_login()
    assert start.url.startswith("https://threads.net/oauth/authorize?client_id=meta-app&")
    grant = threads.finish_login(start, meta.approve(start.url))
    assert grant.access_token.startswith("meta-long")
    assert [p for p, _ in meta.seen[-2:]] == ["/oauth/access_token", "/access_token"]

    fb = flow_for("facebook", "fb", graph_settings("facebook", server.base_url + "/v21.0"),
                  env=ENV, clock=clock)
    start = fb.start_login()
    assert start.url.startswith("https://www.facebook.com/v21.0/dialog/oauth?client_id=meta-app&")
    assert fb.finish_login(start, meta.approve(start.url)).access_token.startswith("meta-long")
    with pytest.raises(UsageError, match="belongs to another login"):
        fb.finish_login(start, meta.approve(start.url).replace(start.state, "forged"))

    settings = LinkedInAdapter.parse_settings("li", {
        "adapter": "linkedin", "organization": "1", "auth": "oauth2",
        "client_id_env": "LI_CLIENT_ID", "client_secret_env": "LI_CLIENT_SECRET",
        "token_url": server.base_url + "/li/oauth/v2/accessToken"})
    linkedin = flow_for("linkedin", "li", settings, env=ENV, clock=clock)
    start = linkedin.start_login()
    assert start.url.startswith("https://www.linkedin.com/oauth/v2/authorization?response_type=code")
    code = li.approve(start.url).split("code=")[1].split("&")[0]
    grant = linkedin.finish_login(start, code)  # the bare code works as well as the address
    assert grant.refresh_token in li.refresh_ends and code not in li.codes


def test_instagram_login_tokens_renew_with_ig_refresh_token(server: LocalServer) -> None:
    from scheduler.credentials.flows.meta import (
        FacebookLoginFlow,
        InstagramLoginFlow,
        instagram_flow,
    )

    meta = MetaStandIn(exchange="ig_exchange_token", refresh="ig_refresh_token")
    server.handler = meta
    on_instagram = graph_settings("facebook", "https://graph.instagram.com/v21.0")
    on_facebook = graph_settings("facebook", "https://graph.facebook.com/v21.0")
    assert isinstance(instagram_flow("ig", on_instagram, env=ENV, clock=Clock()),
                      InstagramLoginFlow)
    assert type(instagram_flow("ig", on_facebook, env=ENV, clock=Clock())) is FacebookLoginFlow
    clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
    flow = InstagramLoginFlow("ig", graph_settings("facebook", server.base_url + "/v21.0"),
                              env=ENV, clock=clock)
    grant = flow.import_token(meta.short_token())
    assert meta.seen[-1][1]["grant_type"] == "ig_exchange_token" and flow.renewable(grant)
    clock.at += timedelta(days=50)
    flow.refresh(grant)
    assert meta.seen[-1] == ("/refresh_access_token", {"grant_type": "ig_refresh_token",
                                                        "access_token": grant.access_token})
