"""Real OS users in one Unix group, each with a real SSH key, running ``postq`` as
themselves: what the team tests stand on.

The users, their group and the keys are made once per test module with ``groupadd``,
``useradd`` and ``ssh-keygen`` and removed afterwards. Each test gets its own project
folder, owned by root, group-owned by the team and setgid, so any member may create the
queue in it. Commands run with ``runuser -u USER -- env -i ...`` and the interpreter of
this checkout's virtual environment, so nothing from the test process leaks into them
(``POSTQ_USER`` included, unless a test sets it on purpose).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.project import CAREERS, make_photo

TOOLS = ("groupadd", "groupdel", "useradd", "userdel", "runuser", "ssh-keygen")
PEOPLE = ("alice", "bob", "carol")  # carol's key is not on the allowed-signers list

CONFIG = """\
[postq]
timezone = "Europe/London"
data_dir = ".postq"
{shared}

[policy]
link_hosts = ["www.example.gov.uk"]

[notify]
channel = "comms"

[channels.outbox]
adapter = "outbox"
path = ".postq/outbox"

[channels.comms]
adapter = "outbox"
path = ".postq/notices"
{team}
"""

TEAM = """
[team]
allowed_signers = "team/allowed_signers"
"""


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def _readable_by_others(path: Path) -> bool:
    """Whether every folder from / down to ``path`` lets other users in."""
    for p in [path, *path.parents]:
        if not os.stat(p).st_mode & 0o001:
            return False
    return True


def interpreter() -> tuple[str, dict[str, str]] | None:
    """A Python the test users may run, and the environment that gives it this
    checkout's packages.

    The virtual environment's own interpreter is a link to its base Python, which may
    live where only root can go (a pyenv build under /root, say). Then a system Python of
    the same minor version runs with the environment's site-packages on ``PYTHONPATH``
    (same ABI, so compiled packages load) and the checkout first, which is what the
    editable install points at.
    """
    import sysconfig

    real = Path(sys.executable).resolve()
    if _readable_by_others(real):
        return sys.executable, {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    repo = Path(__file__).resolve().parent.parent
    paths = [str(repo), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    if not all(_readable_by_others(Path(x)) for x in paths):
        return None
    for candidate in (Path("/usr/bin") / version, Path("/usr/local/bin") / version):
        if candidate.is_file() and _readable_by_others(candidate.resolve()):
            return str(candidate), {"PYTHONPATH": ":".join(dict.fromkeys(paths))}
    return None


@dataclass
class Team:
    """The group, the users (name → OS login) and where their keys are."""

    group: str
    logins: dict[str, str]
    base: Path
    pubkeys: dict[str, str] = field(default_factory=dict)

    def home(self, person: str) -> Path:
        return self.base / "homes" / person

    def key(self, person: str) -> Path:
        return self.home(person) / ".ssh" / "id_ed25519"


@pytest.fixture(scope="module")
def team() -> Iterator[Team]:
    if os.geteuid() != 0:
        pytest.skip("the team tests create OS users and groups, which needs root "
                    "(CI runs as root)")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"the team tests need {', '.join(missing)}")
    repo = Path(__file__).resolve().parent.parent
    if not _readable_by_others(repo):
        pytest.skip(f"the checkout {repo} is not readable by other users, so test users "
                    "cannot run postq from it")
    if interpreter() is None:
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that other "
                    f"users may run ({Path(sys.executable).resolve()} is not reachable for "
                    "them)")
    tag = f"{os.getpid() % 100000}"
    group = f"pq{tag}team"
    logins = {p: f"pq{tag}{p}" for p in PEOPLE}
    base = Path(tempfile.mkdtemp(prefix="postq-team-", dir="/tmp"))
    made_users: list[str] = []
    made_group = False
    try:
        _sh("groupadd", group)
        made_group = True
        for login in logins.values():
            _sh("useradd", "-M", "-U", "-G", group, "-s", "/bin/sh", login)
            made_users.append(login)
        os.chmod(base, 0o755)
        t = Team(group, logins, base)
        for person, login in logins.items():
            ssh = t.key(person).parent
            ssh.mkdir(parents=True)
            _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", person, "-f",
                str(t.key(person)))
            t.pubkeys[person] = t.key(person).with_suffix(".pub").read_text().strip()
            for p in (t.home(person), ssh, t.key(person), t.key(person).with_suffix(".pub")):
                shutil.chown(p, login, login)
            os.chmod(t.home(person), 0o700)
            os.chmod(ssh, 0o700)
            os.chmod(t.key(person), 0o600)
        os.chmod(base / "homes", 0o755)
        yield t
    finally:
        for login in made_users:
            subprocess.run(["userdel", login], capture_output=True, timeout=60)
            subprocess.run(["groupdel", login], capture_output=True, timeout=60)
        if made_group:
            subprocess.run(["groupdel", group], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@dataclass
class TeamProject:
    """One project folder the team shares, and a way to run postq as each person."""

    team: Team
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "postq.toml"

    @property
    def db(self) -> Path:
        return self.root / ".postq" / "queue.sqlite3"

    @property
    def signers(self) -> Path:
        return self.root / "team" / "allowed_signers"

    def write_config(self, *, shared: bool = True, team: bool = True) -> None:
        self.config.write_text(CONFIG.format(
            shared='shared = "group"' if shared else "", team=TEAM if team else ""),
            encoding="utf-8")

    def allow(self, *people: str) -> None:
        """The allowed-signers file lists exactly ``people`` (by name, not login)."""
        self.signers.write_text(
            "".join(f"{p} {self.team.pubkeys[p]}\n" for p in people), encoding="utf-8")

    def post(self, post_id: str = "io", caption: str = "Join us.") -> Path:
        text = CAREERS.format(id=post_id).replace("2026-12-14", "2099-12-14")
        text = text.replace("Join us.", caption)
        path = self.root / "posts" / f"{post_id}.md"
        path.write_text(text, encoding="utf-8")
        return path

    def postq(self, person: str, *args: str, env: dict[str, str] | None = None,
              key: bool = True) -> subprocess.CompletedProcess[str]:
        """``postq ARGS`` as ``person``'s OS user, signing with their key."""
        clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.team.home(person)),
                 "LANG": "C.UTF-8"}
        if key:
            clean["POSTQ_SIGNING_KEY"] = str(self.team.key(person))
        python, extra = interpreter() or (sys.executable, {})
        clean.update(extra)
        clean.update(env or {})
        cmd = ["runuser", "-u", self.team.logins[person], "--", "env", "-i",
               *(f"{k}={v}" for k, v in clean.items()),
               python, "-m", "scheduler", "--config", str(self.config), *args]
        return subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=180)

    def ok(self, person: str, *args: str, **kw: object) -> str:
        done = self.postq(person, *args, **kw)  # type: ignore[arg-type]
        assert done.returncode == 0, f"postq {' '.join(args)} as {person}: {done.stderr}"
        return done.stdout

    def content_hash(self, post_id: str = "io") -> str:
        import json

        return str(json.loads(self.ok("bob", "queue", "show", post_id, "--json"))
                   ["content_hash"])

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Change the queue behind postq's back, as someone with database access could."""
        conn = sqlite3.connect(self.db)
        try:
            with conn:
                return list(conn.execute(statement, params))
        finally:
            conn.close()

    def published(self) -> list[Path]:
        out = self.root / ".postq" / "outbox"
        return sorted(p for p in out.iterdir() if (p / "meta.json").exists()) \
            if out.is_dir() else []

    def notices(self) -> list[str]:
        out = self.root / ".postq" / "notices"
        if not out.is_dir():
            return []
        return [(p / "caption.txt").read_text(encoding="utf-8") for p in sorted(out.iterdir())
                if (p / "caption.txt").exists()]


def wait_until_due(db: Path) -> None:
    """Sleep until every delivery in ``db`` is due (times are stored as naive UTC).

    Tests queue a few seconds ahead, with room for a slow ``queue add``, and wait for
    the stored time rather than a fixed delay.
    """
    from datetime import UTC, datetime

    conn = sqlite3.connect(db)
    try:
        (latest,) = conn.execute("SELECT max(due_at) FROM deliveries").fetchone()
    finally:
        conn.close()
    due = datetime.fromisoformat(latest).replace(tzinfo=UTC)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.3)


@pytest.fixture
def shared_project(team: Team) -> Iterator[TeamProject]:
    root = Path(tempfile.mkdtemp(prefix="proj-", dir=team.base))
    shutil.chown(root, "root", team.group)
    os.chmod(root, 0o2775)  # setgid: whatever the team creates here belongs to the group
    (root / "posts").mkdir()
    (root / "team").mkdir()
    make_photo(root / "assets" / "photo.jpg")
    for folder, dirs, files in os.walk(root):
        for name in dirs:
            os.chmod(Path(folder) / name, 0o2775)
        for name in files:
            os.chmod(Path(folder) / name, 0o664)
    proj = TeamProject(team, root)
    proj.write_config()
    proj.allow("alice", "bob")
    yield proj
    shutil.rmtree(root, ignore_errors=True)


def dedent(text: str) -> str:
    return textwrap.dedent(text)
