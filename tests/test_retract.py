"""postq retract through the outbox, the webhook and the pause switch: on the record."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.test_queue_cli_add import careers


def _no_approval(project: object) -> None:
    project.write_config("", base=project.config.read_text().replace(  # type: ignore[attr-defined]
        'data_dir = ".postq"', 'data_dir = ".postq"\nrequire_approval = false'))


def _store(project: object) -> object:
    from scheduler.config import load
    from scheduler.store import Store

    return Store.open(load(project.config))  # type: ignore[attr-defined]


def _publish(project: object, *paths: Path) -> None:
    run = project.run  # type: ignore[attr-defined]
    for path in paths:
        r = run("queue", "add", "--at", "+1s", str(path))
        assert r.exit_code == 0, r.stderr
    time.sleep(1.5)
    ran = run("run", "--once")
    assert ran.exit_code == 0, ran.stderr


def test_retract_moves_the_outbox_folder_with_the_reason_and_records_it(
        project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    _no_approval(project)
    _publish(project, careers(project))
    outbox = project.root / ".postq" / "outbox"  # type: ignore[attr-defined]
    (folder,) = [p for p in outbox.iterdir() if p.is_dir()]
    r = run("retract", "io", "--reason", "wrong closing date")
    assert r.exit_code == 0, r.stderr
    moved = outbox / "retracted" / folder.name
    assert r.stdout == f"retracted io@outbox: {folder.resolve().as_uri()}\n"
    assert not folder.exists() and (moved / "caption.txt").is_file()
    note = json.loads((moved / "retraction.json").read_text())
    assert note["reason"] == "wrong closing date"
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    assert [d["state"] for d in shown["deliveries"]] == ["retracted"]
    actions = [(e["action"], e["state_after"], e["reason"]) for e in shown["events"]]
    assert ("retract", "retracting", "wrong closing date") in actions
    assert actions[-1][:2] == ("retracted", "retracted")
    again = run("retract", "io", "--reason", "again")
    assert (again.exit_code, again.stderr) == (
        1, "error: nothing of 'io' is published, so nothing to retract (io@outbox "
           "retracted)\n")


# -- through the command line, against the stand-ins -------------------------------------

TOKEN = "tok-Retract-5c4b3a2910"


def _masto_project(project: object, local_server: object, extra: str = "") -> object:
    from tests.fakes import FakeMastodon

    fake = FakeMastodon(local_server, TOKEN)  # type: ignore[arg-type]
    project.write_config(  # type: ignore[attr-defined]
        f'[channels.masto]\nadapter = "mastodon"\nbase_url = "{fake.base_url}"\n'
        f'token_env = "POSTQ_MASTO_TOKEN"\n' + extra,
        base=project.config.read_text().replace(  # type: ignore[attr-defined]
            'data_dir = ".postq"',
            'data_dir = ".postq"\nrequire_approval = false\nretry_base = "1s"'))
    return fake


def _env() -> dict[str, str]:
    return {"POSTQ_MASTO_TOKEN": TOKEN, "POSTQ_USER": "duty-officer"}


def _publish_masto(project: object) -> str:
    run = project.run  # type: ignore[attr-defined]
    path = careers(project, channels="[masto]")
    assert run("queue", "add", "--at", "+1s", str(path), env=_env()).exit_code == 0
    time.sleep(1.5)
    ran = run("run", "--once", env=_env())
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    return shown["deliveries"][0]["remote_url"]


def test_a_transient_error_is_retried_and_then_the_post_is_gone(
        project: object, local_server: object) -> None:
    fake = _masto_project(project, local_server)
    run = project.run  # type: ignore[attr-defined]
    url = _publish_masto(project)
    fake.fail_next_delete("transient")  # type: ignore[attr-defined]
    r = run("retract", "io", "--reason", "wrong closing date", env=_env())
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("io@masto will be retracted again at ")
    assert r.stdout.endswith(": mastodon 'masto': DELETE /api/v1/statuses/"
                             f"{url.rsplit('/', 1)[-1]} answered 503: Service Unavailable\n")
    assert len(fake.statuses) == 1  # type: ignore[attr-defined]
    time.sleep(1.2)
    ran = run("run", "--once", env=_env())
    assert ran.exit_code == 0, ran.stderr
    assert f"io@masto: retracted (confirmed gone: {url})" in ran.stdout
    assert fake.statuses == [] and fake.delete_calls == 2  # type: ignore[attr-defined]
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    trail = [(e["who"], e["action"], e["state_after"]) for e in shown["events"]]
    assert ("duty-officer", "retract", "retracting") in trail
    assert [a for _w, a, _s in trail if "retract" in a] == [
        "retract", "claim_retract", "retract_later", "claim_retract", "retracted"]


def test_a_post_already_gone_counts_as_retracted(project: object, local_server: object) -> None:
    fake = _masto_project(project, local_server)
    url = _publish_masto(project)
    fake.statuses.clear()  # type: ignore[attr-defined]  # deleted on the platform by hand
    r = project.run("retract", "io@masto", "--reason", "duplicate", env=_env())  # type: ignore[attr-defined]
    assert (r.exit_code, r.stdout) == (0, f"retracted io@masto: {url}\n")


def test_an_expired_token_fails_the_retraction_and_notifies(
        project: object, local_server: object) -> None:
    fake = _masto_project(project, local_server, '\n[channels.alerts]\nadapter = "outbox"\n'
                                                 'path = ".postq/alerts"\n\n[notify]\n'
                                                 'channel = "alerts"\n')
    run = project.run  # type: ignore[attr-defined]
    url = _publish_masto(project)
    fake.fail_next_delete("expired_token")  # type: ignore[attr-defined]
    r = run("retract", "io", "--reason", "wrong date", env=_env())
    sid = url.rsplit("/", 1)[-1]
    why = (f"mastodon 'masto': DELETE /api/v1/statuses/{sid} answered 401: The access token "
           "is invalid")
    assert (r.exit_code, r.stdout) == (1, f"io@masto could not be retracted: {why}\n")
    assert TOKEN not in r.stdout + r.stderr
    alerts = project.root / ".postq" / "alerts"  # type: ignore[attr-defined]
    (notice,) = [p for p in alerts.iterdir() if p.is_dir()]
    assert (notice / "caption.txt").read_text() == (
        f"postq: delivery io@masto could NOT BE RETRACTED: {why}")
    # Once the token is renewed, the same command finishes the job.
    again = run("retract", "io", "--reason", "wrong date", env=_env())
    assert (again.exit_code, again.stdout) == (0, f"retracted io@masto: {url}\n")


def test_retraction_is_not_held_by_a_pause_or_approval(
        project: object, local_server: object) -> None:
    fake = _masto_project(project, local_server)
    run = project.run  # type: ignore[attr-defined]
    url = _publish_masto(project)
    assert run("pause", "--reason", "incident", env=_env()).exit_code == 0
    r = run("retract", "io", "--reason", "incident", env=_env())
    assert (r.exit_code, r.stdout) == (0, f"retracted io@masto: {url}\n")
    assert fake.statuses == []  # type: ignore[attr-defined]


def test_pause_retract_since_lists_asks_then_takes_three_posts_down(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    _no_approval(project)
    _publish(project, *(careers(project, post_id=f"p{n}") for n in (1, 2, 3)))
    outbox = project.root / ".postq" / "outbox"  # type: ignore[attr-defined]
    assert len([p for p in outbox.iterdir() if p.is_dir()]) == 3
    shown = {d["post_id"]: d for d in json.loads(run("queue", "list", "--json").stdout)[
        "deliveries"]}
    r = project.runner.invoke(  # type: ignore[attr-defined]
        __import__("scheduler.cli", fromlist=["cli"]).cli,
        ["--config", str(project.config), "pause", "--reason",  # type: ignore[attr-defined]
         "bad hour", "--retract-since", "1h"], input="n\n")
    listed = r.stdout.splitlines()
    assert listed[0] == "published in the last 1h:"
    assert sorted(line.split()[0] for line in listed[1:4]) == ["p1@outbox", "p2@outbox",
                                                              "p3@outbox"]
    assert listed[4:] == ["Pause and retract these 3? [y/N]: n", "nothing changed"]
    assert r.exit_code == 1
    assert _store(project).pauses() == []  # answered no: nothing paused, nothing retracted
    assert len([p for p in outbox.iterdir() if p.is_dir()]) == 3
    r = run("pause", "--reason", "bad hour", "--retract-since", "1h", "--yes")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[4] == "paused every channel: bad hour"
    assert sorted(lines[5:]) == [f"retracted p{n}@outbox: {shown[f'p{n}']['remote_url']}"
                                 for n in (1, 2, 3)]
    assert sorted(p.name for p in outbox.iterdir()) == ["retracted"]
    assert len(list((outbox / "retracted").iterdir())) == 3
    again = run("pause", "--reason", "bad hour", "--retract-since", "1h", "--yes")
    assert again.stdout == ("nothing was published in the last 1h\n"
                            "paused every channel: bad hour\n")


def test_instagram_without_delete_api_waits_for_a_person_then_done(
        project: object, local_server: object, tmp_path: Path) -> None:
    from tests.fakes import FakeGraphContainers

    www = tmp_path / "www"
    fake = FakeGraphContainers(local_server, TOKEN, www)  # type: ignore[arg-type]
    project.write_config(  # type: ignore[attr-defined]
        f'[channels.ig]\nadapter = "instagram"\nbase_url = "{fake.base_url}"\n'
        f'user_id = "{fake.user}"\ntoken_env = "POSTQ_IG_TOKEN"\n'
        f'media_host = {{ kind = "directory", path = "{www}", '
        f'public_base_url = "{fake.media_url}" }}\n',
        base=project.config.read_text().replace(  # type: ignore[attr-defined]
            'data_dir = ".postq"', 'data_dir = ".postq"\nrequire_approval = false'))
    env = {"POSTQ_IG_TOKEN": TOKEN, "POSTQ_USER": "duty-officer"}
    run = project.run  # type: ignore[attr-defined]
    path = careers(project, channels="[ig]")
    assert run("queue", "add", "--at", "+1s", str(path), env=env).exit_code == 0
    time.sleep(1.5)
    ran = run("run", "--once", env=env)
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    url = json.loads(run("queue", "show", "io", "--json").stdout)["deliveries"][0]["remote_url"]
    r = run("retract", "io", "--reason", "photo not cleared", env=env)
    assert (r.exit_code, r.stdout) == (0, (
        "io@ig must be removed by hand (channel 'ig': the instagram adapter cannot delete "
        "posts through the platform's API; a person must remove it):\n"
        f"  1. Open {url} in the Instagram app or on instagram.com, signed in to the account "
        "of channel 'ig'.\n"
        "  2. Tap the three dots (...) above the post, then Delete, and confirm.\n"
        "  3. Record it: postq retract --done io@ig\n"))
    assert len(fake.posts) == 1  # type: ignore[attr-defined]
    listed = json.loads(run("queue", "list", "--state", "retract_manual", "--json").stdout)
    assert [d["delivery_id"] for d in listed["deliveries"]] == ["io@ig#r1"]
    text = run("queue", "show", "io@ig").stdout
    assert ("  retraction: photo not cleared (asked by duty-officer)\n"
            f"    1. Open {url} in the Instagram app") in text
    assert "    3. Record it: postq retract --done io@ig\n" in text
    done = run("retract", "--done", "io", env=env)
    assert (done.exit_code, done.stderr) == (
        1, "error: 'io' names no channel; --done needs ID@CHANNEL, the one removed by hand\n")
    done = run("retract", "--done", "io@ig", env=env)
    assert (done.exit_code, done.stdout) == (0, "recorded: io@ig was removed by hand\n")
    shown = json.loads(run("queue", "show", "io", "--json").stdout)
    assert shown["deliveries"][0]["state"] == "retracted"
    assert shown["events"][-1]["action"] == "retract_done"
    assert shown["events"][-1]["who"] == "duty-officer"


def test_bad_retract_since_is_one_sentence_and_pauses_nothing(project: object) -> None:
    run = project.run  # type: ignore[attr-defined]
    r = run("pause", "--reason", "x", "--retract-since", "soon")
    assert (r.exit_code, r.stdout, r.stderr) == (
        1, "", "error: --retract-since: 'soon' is not a duration such as 30m, 2h or 1d\n")
    r = run("pause", "--reason", "x", "--retract-since", "-1h")
    assert (r.exit_code, r.stderr) == (
        1, "error: --retract-since: '-1h' is not a length of time back; write e.g. 2h\n")
    assert _store(project).pauses() == []
