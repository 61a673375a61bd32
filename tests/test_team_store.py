"""Signed decisions and the hash-chained trail without OS users: keys, roles, the agent,
upgrades, and postq without ``[team]``."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from scheduler.config import load
from scheduler.store import Store
from scheduler.store.chain import verify_trail
from scheduler.store.fastread import SqliteReader
from scheduler.store.schema import build_metadata, create_schema
from scheduler.team import Team
from tests.project import Project
from tests.team_support import wait_until_due

needs_ssh = pytest.mark.skipif(shutil.which("ssh-keygen") is None,
                               reason="needs OpenSSH's ssh-keygen")


def make_key(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)],
                   check=True, capture_output=True)
    return key


def far_careers(project: Project) -> None:
    project.careers(**{"2026-12-14": "2099-12-14"})


def test_without_team_status_says_approvals_are_by_login_name_only(project: Project) -> None:
    far_careers(project)
    assert project.run("queue", "add", "posts/io.md", "--at", "+2h",
                       env={"POSTQ_USER": "alice"}).exit_code == 0
    out = project.run("status").output
    assert ("Approvals: by login name only (no [team] in postq.toml): anyone who can set "
            "POSTQ_USER or write the queue database can approve") in out
    assert ("Audit trail: the audit trail verifies: 1 events chained, signatures not "
            "checked (no [team] in postq.toml)") in out
    js = json.loads(project.run("status", "--json").output)
    assert js["approvals"] == "login_name"
    assert js["trail"] == {"verifies": True, "events": 1, "signatures": 0, "problem": None}
    shown = project.run("queue", "show", "io").output
    assert "approval: awaiting approval" in shown
    ok = project.run("approve", "io", env={"POSTQ_USER": "bob"})
    assert ok.exit_code == 0, ok.output  # no terminal and no [team]: as before, no --hash
    assert "  approval: approved by bob (login name only, no signature)" in \
        project.run("queue", "show", "io").output


def test_a_caption_edited_in_the_database_is_held_without_team_too(project: Project) -> None:
    far_careers(project)
    project.write_config('[notify]\nchannel = "comms"\n\n[channels.comms]\nadapter = "outbox"'
                         '\npath = ".postq/notices"\n')
    assert project.run("queue", "add", "posts/io.md", "--at", "+6s",
                       env={"POSTQ_USER": "alice"}).exit_code == 0
    assert project.run("approve", "io", env={"POSTQ_USER": "bob"}).exit_code == 0
    db = project.root / ".postq" / "queue.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET caption = 'Something else' WHERE channel = 'outbox'")
    conn.close()
    wait_until_due(project.root / ".postq" / "queue.sqlite3")
    project.run("run", "--once")
    with sqlite3.connect(db) as conn:
        state, error = conn.execute(
            "SELECT state, last_error FROM deliveries WHERE channel = 'outbox'").fetchone()
    conn.close()
    assert state == "awaiting_approval"
    assert re.fullmatch(r"its caption or media in the queue database no longer match the "
                        r"queued content [0-9a-f]{12} \(now [0-9a-f]{12}\); it was changed "
                        r"after queueing", error)
    assert not (project.root / ".postq" / "outbox").exists() or not any(
        (project.root / ".postq" / "outbox").iterdir())


def test_an_upgraded_database_gets_a_chain_that_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    engine = create_engine(url)
    at = datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)
    with engine.begin() as conn:
        create_schema(conn, version=2)
        ev = build_metadata(2).tables["events"]
        for action in ("queue", "approve", "claim"):
            conn.execute(ev.insert().values(at=at, who="carol", action=action, post_id="old"))
    engine.dispose()
    store = Store(url, tmp_path / "media", user="erin")
    events = store.events()
    assert [e.action for e in events] == ["queue", "approve", "claim"]
    assert verify_trail(events).ok and verify_trail(events).events == 3
    reader = SqliteReader(tmp_path / "q.sqlite3")
    assert reader.events() == events  # the fast read path sees the same trail
    tail = reader.events(newest=2)
    assert tail == store.events(newest=2) == events[1:]
    assert verify_trail(tail, from_start=False).ok
    assert verify_trail(tail).problem == ("event 2 does not follow the event before it: an "
                                          "event at the start was deleted, or event 2 was "
                                          "inserted")
    with sqlite3.connect(tmp_path / "q.sqlite3") as conn:
        conn.execute("UPDATE events SET who = 'mallory' WHERE id = 2")
    conn.close()
    assert verify_trail(store.events()).problem == "event 2 was changed after it was recorded"


@needs_ssh
def test_approver_roles_per_channel(project: Project, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    people = {name: make_key(keys, name) for name in ("alice", "bob", "carol")}
    (project.root / "signers").write_text("".join(
        f"{n} {k.with_name(k.name + '.pub').read_text()}" for n, k in people.items()))
    project.write_config('[team]\nallowed_signers = "signers"\napprovers = ["carol"]\n'
                         '[team.channel_approvers]\noutbox = ["bob", "carol"]\n')
    project.careers(**{"2026-12-14": "2099-12-14",
                       "channels: [outbox]": "channels: [outbox, x]"})
    # POSTQ_USER names the approver for everyone and grants nothing: the key decides, so
    # alice stays the author and carol may still approve.
    as_ = {n: {"POSTQ_SIGNING_KEY": str(k), "POSTQ_USER": "carol"} for n, k in people.items()}
    added = project.run("queue", "add", "posts/io.md", "--at", "+2h", env=as_["alice"])
    assert added.exit_code == 0, added.output
    digest = Store.open(load(project.config)).show("io").content_hash
    refused = project.run("approve", "io", "--hash", digest[:12], env=as_["bob"])
    assert refused.exit_code == 1
    assert refused.output == ("error: cannot approve 'io': 'bob' is not an approver for "
                              "channel x ([team] approvers: carol)\n")
    done = project.run("approve", "io", "--hash", digest[:16], env=as_["carol"])
    assert done.exit_code == 0, done.output
    assert "approved io@outbox" in done.output and "signed by carol" in done.output


@needs_ssh
def test_signing_through_ssh_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("ssh-agent") is None or shutil.which("ssh-add") is None:
        pytest.skip("needs ssh-agent and ssh-add")
    key = make_key(tmp_path / "keys", "dana")
    pub = key.with_name(key.name + ".pub")
    signers = tmp_path / "signers"
    signers.write_text(f"dana {pub.read_text()}")
    out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
    sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", out).group(1)  # type: ignore[union-attr]
    pid = int(re.search(r"SSH_AGENT_PID=(\d+);", out).group(1))  # type: ignore[union-attr]
    try:
        monkeypatch.setenv("SSH_AUTH_SOCK", sock)
        subprocess.run(["ssh-add", "-q", str(key)], check=True, capture_output=True)
        key.unlink()  # only the agent holds the private half now
        team = Team(allowed_signers=signers)
        signed = team.sign("postq-signed-v1\naction test\n",
                           env={"POSTQ_SIGNING_KEY": str(key)})
        assert signed.who == "dana" and team.verify(signed)
    finally:
        os.kill(pid, 15)


@needs_ssh
def test_a_missing_signing_key_is_one_sentence(project: Project, tmp_path: Path) -> None:
    (project.root / "signers").write_text("")
    project.write_config('[team]\nallowed_signers = "signers"\n')
    far_careers(project)
    missing = tmp_path / "nowhere" / "id_ed25519"
    r = project.run("queue", "add", "posts/io.md", "--at", "+2h",
                    env={"POSTQ_SIGNING_KEY": str(missing)})
    assert r.exit_code == 1
    assert r.output == (
        f"error: POSTQ_SIGNING_KEY names {missing}, which does not exist; [team] is set in "
        "postq.toml, so every decision must be signed with your SSH key (set "
        "POSTQ_SIGNING_KEY to its path)\n")


@needs_ssh
def test_approve_on_a_terminal_shows_what_it_approves_and_asks(
        project: Project, tmp_path: Path) -> None:
    import pty
    import sys

    keys = tmp_path / "keys"
    people = {name: make_key(keys, name) for name in ("alice", "bob")}
    (project.root / "signers").write_text("".join(
        f"{n} {k.with_name(k.name + '.pub').read_text()}" for n, k in people.items()))
    project.write_config('[team]\nallowed_signers = "signers"\n')
    far_careers(project)
    assert project.run("queue", "add", "posts/io.md", "--at", "+2h",
                       env={"POSTQ_SIGNING_KEY": str(people["alice"])}).exit_code == 0
    digest = Store.open(load(project.config)).show("io").content_hash
    env = {**os.environ, "POSTQ_SIGNING_KEY": str(people["bob"])}

    def approve(answer: bytes) -> subprocess.CompletedProcess[bytes]:
        main, side = pty.openpty()
        os.write(main, answer)
        try:
            return subprocess.run(
                [sys.executable, "-m", "scheduler", "--config", str(project.config),
                 "approve", "io"], stdin=side, capture_output=True, env=env, timeout=60)
        finally:
            os.close(main)
            os.close(side)

    declined = approve(b"n\n")
    assert declined.returncode == 1
    text = declined.stdout.decode()
    assert text.startswith(f"io, revision 1, queued by alice\ncontent hash: {digest}\n\n"
                           "[outbox] due ")
    assert "    Join us." in text and "  image 1: " in text and "alt: A desk with case notes." \
        in text
    assert "Approve revision 1 of 'io'? [y/N]: " in text
    assert declined.stderr.decode() == "error: 'io' was not approved\n"
    accepted = approve(b"y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "approved io@outbox, due " in accepted.stdout.decode()
    assert accepted.stdout.decode().rstrip().endswith("signed by bob")


@needs_ssh
def test_reviving_a_missed_delivery_needs_a_new_signed_approval(
        project: Project, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    people = {name: make_key(keys, name) for name in ("alice", "bob")}
    (project.root / "signers").write_text("".join(
        f"{n} {k.with_name(k.name + '.pub').read_text()}" for n, k in people.items()))
    project.write_config('[team]\nallowed_signers = "signers"\n')
    far_careers(project)
    as_ = {n: {"POSTQ_SIGNING_KEY": str(k)} for n, k in people.items()}
    assert project.run("queue", "add", "posts/io.md", "--at", "+2h", env=as_["alice"]).exit_code == 0
    digest = Store.open(load(project.config)).show("io").content_hash
    assert project.run("approve", "io", "--hash", digest[:12], env=as_["bob"]).exit_code == 0
    db = project.root / ".postq" / "queue.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deliveries SET state = 'missed'")
    conn.close()
    moved = project.run("queue", "reschedule", "io", "--at", "+3h", env=as_["alice"])
    assert moved.exit_code == 0, moved.output
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT state, approved_by FROM deliveries").fetchall() == [
            ("awaiting_approval", None)]
    conn.close()
    assert project.run("queue", "cancel", "io", env=as_["bob"]).exit_code == 0
    events = Store.open(load(project.config)).events("io")
    assert [(e.action, e.who, bool(e.signed)) for e in events] == [
        ("queue", "alice", True), ("approve", "bob", True), ("reschedule", "alice", True),
        ("cancel", "bob", True)]
    assert json.loads(events[-1].signed or "")["doc"].startswith(
        "postq-signed-v1\naction cancel\ntarget io\nat ")


@needs_ssh
def test_a_missing_allowed_signers_file_holds_everything(project: Project, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    people = {name: make_key(keys, name) for name in ("alice", "bob")}
    signers = project.root / "signers"
    signers.write_text("".join(
        f"{n} {k.with_name(k.name + '.pub').read_text()}" for n, k in people.items()))
    project.write_config('[team]\nallowed_signers = "signers"\n')
    far_careers(project)
    as_ = {n: {"POSTQ_SIGNING_KEY": str(k)} for n, k in people.items()}
    assert project.run("queue", "add", "posts/io.md", "--at", "+6s", env=as_["alice"]).exit_code == 0
    digest = Store.open(load(project.config)).show("io").content_hash
    assert project.run("approve", "io", "--hash", digest[:12], env=as_["bob"]).exit_code == 0
    signers.unlink()
    wait_until_due(project.root / ".postq" / "queue.sqlite3")
    project.run("run", "--once")
    with sqlite3.connect(project.root / ".postq" / "queue.sqlite3") as conn:
        state, error = conn.execute("SELECT state, last_error FROM deliveries").fetchone()
    conn.close()
    assert state == "awaiting_approval"
    assert error == (f"its signatures cannot be checked: {project.config}: "
                     f"team.allowed_signers: the allowed-signers file {signers} does not exist")


def test_an_unknown_sharing_mode_is_one_sentence(project: Project) -> None:
    text = project.config.read_text().replace('data_dir = ".postq"',
                                              'data_dir = ".postq"\nshared = "world"')
    project.config.write_text(text)
    r = project.run("queue", "list")
    assert r.exit_code == 1
    assert r.output == (f"error: {project.config}: postq.shared: Input should be '' or "
                        "'group'\n")


@needs_ssh
def test_a_caption_and_hash_rewritten_together_are_still_not_published(
        project: Project, tmp_path: Path) -> None:
    from scheduler.content.snapshot import hash_content

    keys = tmp_path / "keys"
    people = {name: make_key(keys, name) for name in ("alice", "bob")}
    (project.root / "signers").write_text("".join(
        f"{n} {k.with_name(k.name + '.pub').read_text()}" for n, k in people.items()))
    project.write_config('[team]\nallowed_signers = "signers"\n')
    far_careers(project)
    as_ = {n: {"POSTQ_SIGNING_KEY": str(k)} for n, k in people.items()}
    assert project.run("queue", "add", "posts/io.md", "--at", "+6s", env=as_["alice"]).exit_code == 0
    store = Store.open(load(project.config))
    digest = store.show("io").content_hash
    assert project.run("approve", "io", "--hash", digest[:12], env=as_["bob"]).exit_code == 0
    (row,) = store.show("io").deliveries
    forged = hash_content("io", "en", [(row.channel, row.adapter, "Forged caption",
                                        [(m.sha256, m.mime, m.alt) for m in row.media])])
    with sqlite3.connect(project.root / ".postq" / "queue.sqlite3") as conn:
        conn.execute("UPDATE deliveries SET caption = 'Forged caption'")
        conn.execute("UPDATE posts SET content_hash = ?, approved_hash = ?", (forged, forged))
    conn.close()
    wait_until_due(project.root / ".postq" / "queue.sqlite3")
    project.run("run", "--once")
    with sqlite3.connect(project.root / ".postq" / "queue.sqlite3") as conn:
        state, error = conn.execute("SELECT state, last_error FROM deliveries").fetchone()
    conn.close()
    assert state == "awaiting_approval"
    assert error == "the author's signature (alice) is missing or not for this content"
