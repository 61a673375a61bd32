"""Signed approvals by real people: OS users in one group, each with their own SSH key,
sharing one SQLite queue (``[postq] shared = "group"``, ``[team] allowed_signers``)."""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

from tests.team_support import TeamProject, wait_until_due


def queue_and_approve(p: TeamProject, at: str = "+8s") -> str:
    """alice queues io, bob approves the hash he looked at; returns that hash."""
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", at)
    digest = p.content_hash()
    out = p.ok("bob", "approve", "io", "--hash", digest[:12])
    assert out.startswith("approved io@outbox, due ") and out.rstrip().endswith(
        "signed by bob")
    return digest


def run_publisher(p: TeamProject) -> str:
    done = p.postq("alice", "run", "--once")
    return done.stdout + done.stderr


def hold_reason(p: TeamProject) -> str:
    rows = p.sql("SELECT reason FROM events WHERE action = 'hold' ORDER BY id")
    assert rows, "no hold event was recorded"
    return str(rows[-1][0])


def test_two_colleagues_share_one_sqlite_queue_and_publish(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+8s")
    group = p.team.group
    data = p.root / ".postq"
    assert data.stat().st_mode & stat.S_ISGID
    # Hold the database open so its -wal and -shm files stay while bob writes through them.
    held = sqlite3.connect(p.db)
    try:
        held.execute("SELECT count(*) FROM events").fetchone()
        for f in (p.db, Path(f"{p.db}-wal"), Path(f"{p.db}-shm")):
            st = f.stat()
            assert stat.S_IMODE(st.st_mode) & 0o060 == 0o060, f"{f} is not group read/write"
            assert st.st_gid == data.stat().st_gid
        out = p.ok("bob", "approve", "io", "--hash", p.content_hash()[:12])
        assert out.rstrip().endswith("signed by bob")
    finally:
        held.close()
    import grp

    assert grp.getgrgid(data.stat().st_gid).gr_name == group
    media = [f for f in (data / "media").rglob("*") if f.is_file()]
    assert media and all(stat.S_IMODE(f.stat().st_mode) & 0o060 == 0o060 for f in media)

    shown = p.ok("bob", "queue", "show", "io")
    assert "  approval: approved by bob, signature verified" in shown
    assert "approved by bob at " in shown and shown.count("signature verified") == 2
    js = json.loads(p.ok("alice", "queue", "show", "io", "--json"))
    assert js["revision"] == 1 and len(js["content_hash"]) == 64
    assert js["deliveries"][0]["approval"] == "approved by bob, signature verified"
    assert js["queued_by"] == "alice"

    wait_until_due(p.db)
    out = run_publisher(p)
    (folder,) = p.published()
    for f in (folder, folder / "caption.txt", folder / "meta.json"):
        assert f.stat().st_mode & 0o060 == 0o060 and f.stat().st_gid == data.stat().st_gid, out
    status = p.ok("bob", "status")
    assert f"Approvals: signed with SSH keys listed in {p.signers}" in status
    assert ("Audit trail: the audit trail verifies: 4 events chained, the last 2 signatures "
            "verified ('postq log --verify' checks them all)") in status

    # The records archive keeps who queued and who approved, with their signatures.
    p.ok("bob", "archive", "--out", str(p.root / "records"))
    (record,) = (p.root / "records").rglob("record.json")
    signed = json.loads(record.read_text(encoding="utf-8"))["signatures"]
    assert sorted(signed) == ["approver", "author"]
    assert (signed["author"]["who"], signed["approver"]["who"]) == ("alice", "bob")
    assert all(s["sig"].startswith("-----BEGIN SSH SIGNATURE-----") for s in signed.values())
    assert p.content_hash() in signed["approver"]["doc"]


def test_the_author_cannot_approve_even_as_someone_else(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h")
    digest = p.content_hash()
    done = p.postq("alice", "approve", "io", "--hash", digest[:12],
                   env={"POSTQ_USER": "bob", "LOGNAME": "bob", "USER": "bob"})
    assert done.returncode == 1
    assert done.stderr == "error: you queued 'io' yourself; someone else must approve it\n"
    assert p.sql("SELECT state FROM deliveries") == [("awaiting_approval",)]


def test_a_key_not_on_the_list_cannot_approve(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h")
    digest = p.content_hash()
    done = p.postq("carol", "approve", "io", "--hash", digest[:12])
    assert done.returncode == 1
    assert done.stderr == (
        f"error: your key {p.team.key('carol')} is not in the allowed-signers file "
        f"{p.signers} ([team] allowed_signers); ask whoever keeps that file to add it\n")
    assert p.sql("SELECT state FROM deliveries") == [("awaiting_approval",)]


def test_without_a_terminal_approve_needs_the_reviewed_hash(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h")
    done = p.postq("bob", "approve", "io")
    assert done.returncode == 1
    assert done.stderr == (
        "error: without a terminal, approve needs --hash PREFIX: at least 12 characters "
        "of the content hash 'postq queue show io' prints, so that what is approved is "
        "what was reviewed\n")
    short = p.postq("bob", "approve", "io", "--hash", "abc")
    assert short.stderr == ("error: --hash 'abc' is not at least 12 hexadecimal characters "
                            "of the content hash 'postq queue show io' prints\n")


def test_a_replace_between_review_and_approval_is_refused(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h")
    reviewed = p.content_hash()
    p.post(caption="Join us. Salary doubled!")
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h", "--replace")
    now = p.content_hash()
    done = p.postq("bob", "approve", "io", "--hash", reviewed[:12])
    assert done.returncode == 1
    assert done.stderr == (
        f"error: post 'io' is now revision 2 with content {now[:12]}, not the "
        f"{reviewed[:12]} you reviewed: it was replaced after your review; look at it "
        "again with 'postq queue show io'\n")
    assert p.sql("SELECT state FROM deliveries WHERE revision = 2") == [("awaiting_approval",)]


def test_a_state_switched_in_the_database_is_not_published(shared_project: TeamProject) -> None:
    p = shared_project
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+8s")
    digest = p.content_hash()
    p.sql("UPDATE deliveries SET state = 'scheduled'")
    p.sql("UPDATE posts SET approved_by = 'bob', approved_hash = ?", (digest,))
    wait_until_due(p.db)
    done = p.postq("alice", "run", "--once")
    assert done.returncode == 1
    assert done.stdout == ("io@outbox: held (it has no signed approval (was its state "
                           "changed in the database?))\n")
    assert p.published() == []
    assert hold_reason(p) == ("it has no signed approval (was its state changed in the "
                              "database?)")
    assert p.sql("SELECT state FROM deliveries") == [("awaiting_approval",)]
    assert p.notices() == ["postq: delivery io@outbox was HELD, not published: it has no "
                           "signed approval (was its state changed in the database?)"]


def test_a_caption_edited_after_approval_is_not_published(shared_project: TeamProject) -> None:
    p = shared_project
    digest = queue_and_approve(p)
    p.sql("UPDATE deliveries SET caption = 'Join us. Apply at evil.example'")
    wait_until_due(p.db)
    dry = p.ok("alice", "run", "--dry-run")
    assert dry.startswith("io@outbox  due ") and "  would be HELD: its caption or media" in dry
    assert "evil.example" not in dry
    run_publisher(p)
    assert p.published() == []
    reason = hold_reason(p)
    assert reason.startswith("its caption or media in the queue database no longer match "
                             f"the queued content {digest[:12]} (now ")
    assert p.sql("SELECT state FROM deliveries") == [("awaiting_approval",)]


def test_a_media_file_changed_after_approval_is_not_published(
        shared_project: TeamProject) -> None:
    p = shared_project
    queue_and_approve(p)
    (media,) = [f for f in (p.root / ".postq" / "media").rglob("*") if f.is_file()]
    media.write_bytes(media.read_bytes()[:-10] + b"0123456789")
    wait_until_due(p.db)
    run_publisher(p)
    assert p.published() == []
    assert hold_reason(p) == (f"held back at claim time: media file {media} has changed "
                              "since it was queued")


def test_a_key_removed_after_approval_stops_publication(shared_project: TeamProject) -> None:
    p = shared_project
    queue_and_approve(p)
    p.allow("alice")  # bob has left; his line is deleted
    before = p.ok("alice", "queue", "show", "io")
    assert (f"  approval: approved by bob, signature does NOT verify against {p.signers}"
            in before)
    assert "signature NOT verified (see each channel)" in before
    wait_until_due(p.db)
    run_publisher(p)
    assert p.published() == []
    assert hold_reason(p) == (f"the approval by bob does not verify against {p.signers} "
                              "as it is now")
    shown = p.ok("alice", "queue", "show", "io")
    assert ("  approval: held: the approval by bob no longer holds (see last error); it "
            "needs a new approval") in shown
    assert "  last error: the approval by bob does not verify against " in shown


def test_rescheduling_an_approved_delivery_needs_a_new_approval(
        shared_project: TeamProject) -> None:
    p = shared_project
    queue_and_approve(p, at="+2h")
    out = p.ok("alice", "queue", "reschedule", "io", "--at", "+3h")
    assert out.startswith("rescheduled io@outbox to ")
    assert p.sql("SELECT state, approved_by FROM deliveries") == [("awaiting_approval", None)]
    p.ok("bob", "approve", "io", "--hash", p.content_hash()[:12])
    assert p.sql("SELECT state, approved_by FROM deliveries") == [("scheduled", "bob")]


def test_log_verify_catches_deleted_edited_and_inserted_events(
        shared_project: TeamProject) -> None:
    p = shared_project
    queue_and_approve(p, at="+2h")
    p.ok("bob", "pause", "--reason", "Incident")
    p.ok("alice", "resume")
    good = p.ok("alice", "log", "--verify")
    assert good == "the audit trail verifies: 4 events chained, 4 signatures verified\n"
    assert p.sql("SELECT who FROM events ORDER BY id") == [
        ("alice",), ("bob",), ("bob",), ("alice",)]
    backup = p.db.read_bytes()
    p.sql("PRAGMA wal_checkpoint(TRUNCATE)")
    backup = p.db.read_bytes()

    def restore() -> None:
        p.sql("PRAGMA wal_checkpoint(TRUNCATE)")
        p.db.write_bytes(backup)
        assert p.postq("alice", "log", "--verify").returncode == 0

    p.sql("UPDATE events SET reason = 'nothing to see' WHERE id = 3")
    bad = p.postq("alice", "log", "--verify")
    assert bad.returncode == 1
    assert bad.stderr == ("error: the audit trail does NOT verify: event 3 was changed after "
                          "it was recorded\n")
    assert "the audit trail does NOT verify: event 3 was changed" in p.ok("bob", "status")
    check = p.postq("bob", "status", "--check")  # a monitor hears of it too
    assert check.returncode == 1
    assert ("WARNING: the audit trail does not verify: event 3 was changed after it was "
            "recorded; see `postq log --verify`") in check.stdout.splitlines()
    restore()

    p.sql("DELETE FROM events WHERE id = 2")
    bad = p.postq("alice", "log", "--verify")
    assert bad.stderr == ("error: the audit trail does NOT verify: event 3 does not follow "
                          "the event before it: an event after event 1 was deleted, or "
                          "event 3 was inserted\n")
    restore()

    p.sql("INSERT INTO events (at, who, action, post_id, reason) "
          "VALUES ('2026-01-01 00:00:00.000000', 'bob', 'approve', 'io', 'forged')")
    bad = p.postq("alice", "log", "--verify")
    assert bad.stderr == ("error: the audit trail does NOT verify: event 5 has no chain "
                          "hash: it was inserted outside postq\n")


def test_without_the_group_setting_a_colleague_gets_a_clear_permission_error(
        shared_project: TeamProject) -> None:
    p = shared_project
    p.write_config(shared=False)
    p.post()
    p.ok("alice", "queue", "add", "posts/io.md", "--at", "+2h")
    shown = p.postq("bob", "queue", "show", "io", "--json")  # reading needs no write access
    assert shown.returncode == 0, shown.stderr
    reviewed = json.loads(shown.stdout)["content_hash"]
    done = p.postq("bob", "approve", "io", "--hash", reviewed[:12])
    assert done.returncode == 1
    alice = p.team.logins["alice"]
    data = p.root / ".postq"
    assert done.stderr == (
        f"error: cannot write {data}: it belongs to {alice} and you may not write it; for "
        "colleagues to share one queue, put them in one Unix group and set [postq] "
        'shared = "group" in postq.toml\n')
