"""Attacks on the publisher: what it sends must be what its own configuration allows,
byte for byte what was checked, once, and never later than the delivery's deadline.

Each test is named after the attack it withstands. The store is a real SQLite file, the
platform a scripted adapter passed in through the registry (as a plug-in would be), the
outbox writes real folders, and the claims use the database's own clock.
"""

from __future__ import annotations

import hashlib
import random
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import Adapter, AdapterSettings, OutgoingPost, Published
from scheduler.adapters.outbox import OutboxAdapter
from scheduler.config import load_settings, settings_from_dict
from scheduler.errors import ClaimLost, ConfigError, RateLimited
from scheduler.publish.notify import attach
from scheduler.publish.worker import Publisher
from scheduler.store import Store
from scheduler.timeutil import FixedClock, get_zone, localize
from tests.project import BASE_CONFIG, CAREERS, Project, make_photo
from tests.test_store_support import DB_PARAMS, make_db_url, snap

LONDON = get_zone("Europe/London")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Recording(Adapter):
    """Keeps the bytes it was handed; ``during`` runs inside the call (the attack)."""

    platform = "mastodon"
    settings_model = AdapterSettings
    sent: ClassVar[list[tuple[str, list[bytes]]]] = []
    script: ClassVar[list[Any]] = []
    during: ClassVar[Any] = None

    def publish(self, post: OutgoingPost) -> Published:
        if type(self).during is not None:
            type(self).during(post)
        step = type(self).script.pop(0) if type(self).script else "ok"
        if step != "ok":
            raise step
        type(self).sent.append((post.delivery_id, [img.read_bytes() for img in post.images]))
        return Published(f"id-{len(type(self).sent)}", f"https://social.example/{post.post_id}")

    def check(self, post: OutgoingPost) -> Published | None:
        return None


@pytest.fixture(autouse=True)
def _fresh() -> Any:
    Recording.sent, Recording.script, Recording.during = [], [], None
    yield


def make_env(tmp_path: Path, clock: FixedClock, worker: str = "w1",
             store_clock: FixedClock | None = None, **postq: Any) -> dict[str, Any]:
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data"), "require_approval": False,
                  "retry_base": "30s", "late_grace": "30m", "stale_after": "30s", **postq},
        "notify": {"channel": "alerts"},
        "channels": {"social": {"adapter": "recording"},
                     "alerts": {"adapter": "outbox", "path": str(tmp_path / "alerts")}},
    }, tmp_path / "postq.toml")
    # No claim_clock: claims and heartbeats are on the database's real clock.
    store = Store(settings.database_url, settings.data_dir / "media",
                  clock=store_clock or clock, user="author")
    registry = AdapterRegistry({"recording": Recording, "outbox": OutboxAdapter})
    publisher = Publisher(settings, store, registry=registry, clock=clock, worker=worker,
                          rng=random.Random(3))
    attach(publisher)
    return {"settings": settings, "store": store, "publisher": publisher, "clock": clock}


def notices(tmp_path: Path) -> list[str]:
    folder = tmp_path / "alerts"
    if not folder.exists():
        return []
    return sorted((p / "caption.txt").read_text(encoding="utf-8") for p in folder.iterdir())


# -- 9.1 policy comes from whoever queues ---------------------------------------------------
def _future(days: int = 5) -> datetime:
    day = (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date()
    return localize(datetime.combine(day, datetime.min.time().replace(hour=9)), LONDON)


@pytest.fixture
def shared(project: Project) -> tuple[Project, Path, datetime]:
    """The shared queue's configuration (approval required, [notify] on) and a member of
    staff's own ``sub/postq.toml`` that waives approval, allows another link host and
    points its ``data_dir`` at the shared queue."""
    project.write_config(extra="""
        [notify]
        channel = "alerts"

        [channels.alerts]
        adapter = "outbox"
        path = ".postq/alerts"
        """)
    sub = project.root / "sub"
    make_photo(sub / "assets" / "photo.jpg")
    own = (textwrap.dedent(BASE_CONFIG)
           .replace('data_dir = ".postq"', 'data_dir = "../.postq"\nrequire_approval = false')
           .replace('link_hosts = ["www.example.gov.uk", "example.gov.uk"]',
                    'link_hosts = ["www.example.gov.uk", "evil.example"]')
           .replace('deny_terms_file = "policy/deny-terms.txt"', ""))
    (sub / "postq.toml").write_text(own, encoding="utf-8")
    due = _future()
    post = sub / "posts" / "io.md"
    post.parent.mkdir(parents=True)
    post.write_text(CAREERS.format(id="io")
                    .replace("2026-12-01 09:00", due.astimezone(LONDON).strftime("%Y-%m-%d %H:%M"))
                    .replace("2026-12-14", (due + timedelta(days=7)).date().isoformat())
                    .replace("https://www.example.gov.uk/careers/io",
                             "https://evil.example/phish"), encoding="utf-8")
    from scheduler.cli import cli

    result = project.runner.invoke(cli, ["--config", str(sub / "postq.toml"), "queue", "add",
                                         str(post)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return project, sub, due


def _publish_with_the_real_config(project: Project, due: datetime) -> Publisher:
    settings = load_settings(project.config)
    clock = FixedClock(due)
    publisher = Publisher(settings, Store.open(settings, clock=clock), clock=clock, worker="w1")
    attach(publisher)
    publisher.run_once()
    publisher.close()
    return publisher


def _outbox(project: Project) -> list[Path]:
    box = project.root / ".postq" / "outbox"
    return sorted(box.iterdir()) if box.exists() else []


def _alerts(project: Project) -> list[str]:
    box = project.root / ".postq" / "alerts"
    return [(p / "caption.txt").read_text(encoding="utf-8") for p in sorted(box.iterdir())] \
        if box.exists() else []


def test_subfolder_config_waiving_approval_is_not_published(
    shared: tuple[Project, Path, datetime],
) -> None:
    project, _sub, due = shared
    publisher = _publish_with_the_real_config(project, due)
    assert _outbox(project) == []
    reason = ("the publisher's configuration requires approval and this post was queued "
              "without it ([postq] require_approval)")
    assert [(o.ref, o.state, o.detail) for o in publisher.outcomes] == [
        ("io@outbox", "held", reason)]
    store = publisher.store
    assert [r.state for r in store.list_deliveries()] == ["awaiting_approval"]
    assert [(e.action, e.state_after, e.reason) for e in store.events("io")][-1] == (
        "unapprove", "awaiting_approval", reason)
    assert _alerts(project) == [f"postq: delivery io@outbox was HELD, not published: {reason}"]


def test_subfolder_config_with_its_own_link_hosts_is_held_at_claim_time(
    shared: tuple[Project, Path, datetime],
) -> None:
    project, _sub, due = shared
    _publish_with_the_real_config(project, due)  # sends it back for approval first
    approved = project.run("approve", "io", env={"POSTQ_USER": "reviewer"})
    assert approved.exit_code == 0, approved.output
    publisher = _publish_with_the_real_config(project, due)
    assert _outbox(project) == []
    (row,) = publisher.store.list_deliveries()
    assert row.state == "failed"
    assert row.last_error is not None and row.last_error.startswith(
        "held back at claim time: caption: link host 'evil.example' is not on the allow-list "
        "([policy] link_hosts: example.gov.uk, www.example.gov.uk)")
    assert publisher.store.events("io")[-1].action == "hold"
    assert _alerts(project)[1:] == [f"postq: delivery io@outbox FAILED: {row.last_error}"]


def test_deny_listed_alt_text_queued_elsewhere_is_held(tmp_path: Path) -> None:
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    env["store"].add(snap("io", ("social",)), due_at=T0, require_approval=False)
    settings = settings_from_dict({**env["settings"].model_dump(exclude={"path"}),
                                   "policy": {"deny_terms": ["case notes"]}},
                                  tmp_path / "postq.toml")
    publisher = Publisher(settings, env["store"], registry=env["publisher"].registry,
                          clock=env["clock"], worker="w1")
    env["clock"].at = T0
    (out,) = publisher.run_once()
    assert (out.state, out.detail) == (
        "failed", "held back at claim time: images[0].alt: contains the deny-listed term "
        "'case notes'")
    assert Recording.sent == []


def test_hidden_characters_queued_elsewhere_are_held(tmp_path: Path) -> None:
    """A snapshot made by something other than this postq's loader (an older version, a
    script writing the queue) is still asked the loader's question at claim time."""
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    env["store"].add(snap("io", ("social",), caption="We're hiring.\x1b[8m hidden"),
                     due_at=T0, require_approval=False)
    env["clock"].at = T0
    (out,) = env["publisher"].run_once()
    assert (out.state, out.detail) == (
        "failed", "held back at claim time: caption: contains U+001B (control character "
        "\\x1b), which could hide text from a reviewer")
    assert Recording.sent == []


# -- 9.3 bytes checked are the bytes sent ---------------------------------------------------
def test_image_swapped_during_publishing_is_not_sent(tmp_path: Path) -> None:
    env = make_env(tmp_path, FixedClock(T0))
    (row,) = env["store"].add(snap("io", ("social",)), due_at=T0 + timedelta(minutes=1),
                              require_approval=False)
    original = row.media[0].path.read_bytes()

    def swap(post: OutgoingPost) -> None:  # another process rewrites the file mid-call
        post.images[0].path.write_bytes(b"\x89PNG swapped in during publishing")

    Recording.during = swap
    env["clock"].at = T0 + timedelta(minutes=1)
    (out,) = env["publisher"].run_once()
    assert out.state == "published"
    assert Recording.sent == [(row.id, [original])]
    assert hashlib.sha256(Recording.sent[0][1][0]).hexdigest() == row.media[0].sha256


def test_media_file_changed_after_queueing_is_held_with_one_sentence(tmp_path: Path) -> None:
    env = make_env(tmp_path, FixedClock(T0))
    (row,) = env["store"].add(snap("io", ("social",)), due_at=T0 + timedelta(minutes=1),
                              require_approval=False)
    row.media[0].path.write_bytes(b"not the approved image")
    env["clock"].at = T0 + timedelta(minutes=1)
    (out,) = env["publisher"].run_once()
    sentence = (f"held back at claim time: media file {row.media[0].path} has changed since "
                "it was queued")
    assert (out.state, out.detail) == ("failed", sentence)
    assert Recording.sent == []
    assert notices(tmp_path) == [f"postq: delivery io@social FAILED: {sentence}"]


# -- 9.4 the database's clock and fencing tokens --------------------------------------------
def test_two_publishers_with_clocks_60s_apart_publish_once(tmp_path: Path) -> None:
    """The one behind is mid-call when the one ahead reconciles: with process clocks,
    the one ahead took it for dead, found nothing on the platform and sent it again."""
    behind = make_env(tmp_path, FixedClock(T0 - timedelta(minutes=5)), worker="behind")
    ahead = make_env(tmp_path, FixedClock(T0 + timedelta(seconds=60)), worker="ahead")
    behind["store"].add(snap("io", ("social",)), due_at=T0, require_approval=False)
    behind["clock"].at = T0
    behind["publisher"].beat()
    ahead["publisher"].beat()
    seen: list[str] = []

    def the_other_publisher_runs(post: OutgoingPost) -> None:
        Recording.during = None  # once: the other publisher's own call must not recurse
        ahead["publisher"].run_once()
        seen.append(ahead["store"].get_delivery(post.delivery_id).state)

    Recording.during = the_other_publisher_runs
    (out,) = behind["publisher"].run_once()
    assert (out.state, seen) == ("published", ["publishing"])
    assert [d for d, _ in Recording.sent] == ["io@social#r1"]
    assert ahead["publisher"].outcomes == []


def test_claimant_taken_over_can_neither_send_nor_record(tmp_path: Path) -> None:
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    store = env["store"]
    store.add(snap("io", ("social",)), due_at=T0, require_approval=False)
    env["clock"].at = T0
    (first,) = store.claim_due(T0, worker="w1")
    assert first.claim_token == 1
    store.take_over(first, "publisher w1 stopped mid-call", who="w2")
    store.settle_not_published(first.id, T0, who="w2")
    (second,) = store.claim_due(T0, worker="w2")
    assert second.claim_token == 2
    with pytest.raises(ClaimLost) as exc:
        store.mark_published(first.id, "late-id", token=first.claim_token)
    assert str(exc.value) == ("delivery io@social is no longer this publisher's claim (it is "
                              "publishing, claim 2, not 1); nothing recorded")
    out = env["publisher"].publish_one(first)  # w1 wakes up with its old claim
    assert out.state == "taken_over" and Recording.sent == []
    assert store.get_delivery(first.id).claim_token == 2


def test_stale_after_below_the_safe_minimum_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        make_env(tmp_path, FixedClock(T0), stale_after="1s")
    assert str(exc.value) == (f"{tmp_path / 'postq.toml'}: postq.stale_after: '1s' is too "
                              "short: a live publisher would be taken for dead between "
                              "heartbeats; use at least 2s")


# -- 9.12 Retry-After ---------------------------------------------------------------------
def test_retry_after_99999999999_waits_only_until_the_deadline_and_notifies(
    tmp_path: Path,
) -> None:
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    closes = T0 + timedelta(days=2)
    env["store"].add(snap("io", ("social",), publish_before=closes), due_at=T0,
                     require_approval=False)
    env["clock"].at = T0
    Recording.script = [RateLimited("429 Too Many Requests", retry_after=99999999999)]
    (out,) = env["publisher"].run_once()
    (row,) = env["store"].list_deliveries()
    deadline = T0 + timedelta(minutes=30)  # due time plus the late grace, before closing
    assert (row.state, row.next_attempt_at) == ("retry_wait", deadline)
    sentence = ("429 Too Many Requests; the platform asked to wait over a year: waiting only "
                "until 2026-12-01 09:30:00 UTC (its due time plus the late grace of 30m)")
    assert (out.state, out.detail) == ("retry_wait", sentence)
    assert notices(tmp_path) == [f"postq: delivery io@social waits to be retried: {sentence}"]


@pytest.mark.parametrize("nonsense", [float("1e400"), -30, "garbage", float("nan"), "1e400"],
                         ids=["1e400", "negative", "garbage", "nan", "1e400-text"])
def test_nonsense_retry_after_is_treated_as_absent(tmp_path: Path, nonsense: Any) -> None:
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    env["store"].add(snap("io", ("social",)), due_at=T0, require_approval=False)
    env["clock"].at = T0
    Recording.script = [RateLimited("429 Too Many Requests", retry_after=nonsense)]
    (out,) = env["publisher"].run_once()
    (row,) = env["store"].list_deliveries()
    assert (out.state, out.detail) == ("retry_wait", "429 Too Many Requests")
    assert timedelta(seconds=15) <= row.next_attempt_at - T0 <= timedelta(seconds=30)
    assert notices(tmp_path) == []


# -- 9.15 paths from the configuration's folder -------------------------------------------
def test_relative_media_host_path_is_resolved_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from_dict({
        "postq": {"data_dir": str(tmp_path / "data")},
        "channels": {"ig": {"adapter": "instagram", "token_env": "IG_TOKEN", "user_id": "1",
                            "media_host": {"kind": "directory", "path": "www/media",
                                           "public_base_url": "https://media.example/p"}}},
    }, tmp_path / "proj" / "postq.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the publisher started from another folder
    store = Store(settings.database_url, settings.data_dir / "media")
    publisher = Publisher(settings, store, env={"IG_TOKEN": "x" * 12})
    host = publisher.adapter("ig").media_host()  # type: ignore[attr-defined]
    assert host.folder == tmp_path / "proj" / "www" / "media"


# -- the rules run on exactly what is sent ---------------------------------------------------
_WORDS = st.sampled_from(["Join", "us", "today.", "Apply:", "#careers", "\n", "www",
                          "https://www.example.gov.uk/apply", "https://evil.example/x",
                          "https://www.example.gov.uk.evil.example/y"])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORDS, min_size=1, max_size=8), alt=st.lists(_WORDS, min_size=1,
                                                                      max_size=3))
def test_policy_checks_run_on_exactly_the_values_sent(tmp_path_factory: pytest.TempPathFactory,
                                                      words: list[str], alt: list[str]) -> None:
    """Whatever the caption and alt text, a post goes out exactly when the values the
    adapter receives pass the publisher's allow-list, and nothing else is sent."""
    Recording.sent, Recording.script = [], []
    seen: list[OutgoingPost] = []
    Recording.during = seen.append
    tmp = tmp_path_factory.mktemp("property")
    env = make_env(tmp, FixedClock(T0 - timedelta(hours=1)))
    settings = settings_from_dict({**env["settings"].model_dump(exclude={"path"}),
                                   "policy": {"link_hosts": ["www.example.gov.uk"]}},
                                  tmp / "postq.toml")
    publisher = Publisher(settings, env["store"], registry=env["publisher"].registry,
                          clock=env["clock"], worker="w1")
    from tests.test_store_support import image

    caption = " ".join(words)
    env["store"].add(snap("io", ("social",), caption=caption,
                          images=(image(alt=" ".join(alt)),)),
                     due_at=T0, require_approval=False)
    env["clock"].at = T0
    (out,) = publisher.run_once()
    row = env["store"].get_delivery("io@social#r1")
    texts = [row.caption, *(m.alt for m in row.media)]
    foreign = any("evil.example" in t for t in texts)
    assert out.state == ("failed" if foreign else "published"), (texts, out.detail)
    if foreign:
        assert seen == [] and out.detail.startswith("held back at claim time: ")
    else:
        (sent,) = seen
        assert [sent.caption, *(i.alt for i in sent.images)] == texts


# -- 9.13 a damaged row never stops the publisher -------------------------------------------
def test_damaged_row_never_stops_the_publisher(tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)))
    store = env["store"]
    store.add(snap("old", ("social",)), due_at=T0 - timedelta(minutes=30),
              require_approval=False)
    store.add(snap("new", ("social",)), due_at=T0, require_approval=False)
    store.add(snap("bad", ("social",)), due_at=T0, require_approval=False)
    env["clock"].at = T0 - timedelta(minutes=30)
    (old,) = store.claim_due(env["clock"].at, worker="w0")
    store.mark_needs_check(old.id, "read timed out", token=old.claim_token)
    with store.engine.begin() as conn:  # both a leftover and a due row are damaged
        conn.exec_driver_sql("UPDATE deliveries SET remote_state = '{' WHERE post_id = 'old'")
        conn.exec_driver_sql("UPDATE deliveries SET due_at = 'soon' WHERE post_id = 'bad'")
    env["clock"].at = T0
    outcomes = {o.ref: (o.state, o.detail) for o in env["publisher"].run_once()}
    damaged = ("delivery bad@social#r1 in the queue database is damaged: due_at holds "
               "'soon', not a time; correct it in the database or restore a backup")
    assert outcomes == {"new@social": ("published", "https://social.example/new"),
                        "bad@social": ("held", damaged)}
    assert [d for d, _ in Recording.sent] == ["new@social#r1"]
    assert ("settling earlier deliveries failed: delivery old@social#r1 in the queue "
            "database is damaged: remote_state holds '{', not a JSON object; correct it in "
            "the database or restore a backup") in caplog.messages
    assert notices(tmp_path) == [f"postq: delivery bad@social was HELD, not published: {damaged}"]


@pytest.mark.parametrize("db", DB_PARAMS)
def test_next_claim_taken_over_during_the_previous_call_is_never_sent(
        tmp_path: Path, db: str) -> None:
    """A worker with a backlog checks its next claim in the transaction that records the
    previous outcome, not in one of its own: a takeover made before that record (here,
    while the previous call is on the platform) must still stop the next send."""
    env = make_env(tmp_path, FixedClock(T0 - timedelta(hours=1)),
                   database=make_db_url(db, tmp_path))
    store = env["store"]
    for name in ("a1", "a2", "a3", "a4"):
        store.add(snap(name, ("social",)), due_at=T0, require_approval=False)
    env["clock"].at = T0
    own_checks: list[str] = []
    asked = store.still_mine

    def counted(delivery_id: str, **kw: Any) -> bool:
        own_checks.append(delivery_id)
        return asked(delivery_id, **kw)

    store.still_mine = counted

    def taken_over_meanwhile(post: OutgoingPost) -> None:
        if post.post_id != "a1":
            return
        two = next(r for r in store.list_deliveries(state="publishing") if r.post_id == "a2")
        store.take_over(two, "publisher w1 stopped mid-call", who="w2")
        store.settle_not_published(two.id, T0, who="w2")

    Recording.during = taken_over_meanwhile
    outcomes = {o.ref: o.state for o in env["publisher"].run_once()}
    assert Recording.sent[0][0] == "a1@social#r1"
    # a2 was sent once, by w1's next claim after the takeover, never on the old one.
    assert outcomes["a2@social"] == "published"
    assert [d for d, _ in Recording.sent].count("a2@social#r1") == 1
    events = [e for e in store.events() if e.delivery_id == "a2@social#r1"]
    assert [e.action for e in events][:4] == ["queue", "claim", "needs_check", "check"]
    # Only the first claim of each pass was checked on its own; the others rode along.
    assert len(own_checks) < len(Recording.sent)
