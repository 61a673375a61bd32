"""The read-only configuration path agrees with the full loader, and fails the same way.

``queue list`` and ``status`` read postq.toml with ``tomllib`` alone
(:func:`scheduler.config.load_read_settings`); everything else validates it with the
pydantic models. A queue found in one place by one and elsewhere by the other, or an error
worded differently, would be a real bug, so both are held to the same answers here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scheduler.cli import cli
from scheduler.config import (
    CORE_KEYS,
    SECTIONS,
    CoreSettings,
    ReadSettings,
    Settings,
    find_config,
    load,
    load_read_settings,
    load_settings,
)
from scheduler.errors import ConfigError

GOOD = [
    "",
    '[postq]\ntimezone = "America/New_York"\n',
    '[postq]\ndata_dir = "state/here"\n',
    '[postq]\ndata_dir = "/var/lib/postq"\ntimezone = "UTC"\n',
    '[postq]\ndatabase = "sqlite:///elsewhere.sqlite3"\nlate_grace = "1h"\nmax_attempts = 7\n',
    '[postq]\nrequire_approval = false\nretry_base = "1m"\nstale_after = "2m"\n',
    # accepted by the models only after coercion: the full loader decides, and agrees
    '[postq]\nmax_attempts = "5"\n',
    '[postq]\ntimezone = "Europe/London"\n[channels.outbox]\nadapter = "outbox"\n'
    '[slots]\nmon-fri = ["09:00"]\n',
]

BAD = [
    '[postq\ntimezone = "Europe/London"\n',  # not TOML
    '[postq]\ntimezone = "Europe/Londn"\n',  # unknown zone
    '[postq]\ntimezone = "Mars/Olympus"\ndata_dir = 3\n',  # two problems, both named
    '[postq]\ntimezon = "Europe/London"\n',  # unknown key, with a hint
    '[postq]\ndata_dir = 3\n',
    '[postq]\nlate_grace = "soon"\n',
    '[postq]\nmax_attempts = 0\n',
    "postq = 3\n",
    '[postqq]\ntimezone = "Europe/London"\n',  # unknown table
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "postq.toml"
    path.write_text(text, encoding="utf-8")
    return path


def full_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load(path)
    return str(caught.value)


def test_the_model_and_the_fast_path_know_the_same_keys() -> None:
    assert CORE_KEYS == tuple(CoreSettings.model_fields)
    assert SECTIONS == tuple(k for k in Settings.model_fields if k != "path")


@pytest.mark.parametrize("text", GOOD)
def test_fast_path_agrees_with_the_full_loader(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    full = load_settings(path.resolve())
    fast = load_read_settings(path)
    assert isinstance(fast, ReadSettings)
    assert fast.path == full.path
    assert fast.root == full.root
    assert fast.data_dir == full.data_dir
    assert fast.database_url == full.database_url
    assert fast.zone == full.zone
    assert fast.full() == full


def test_discovery_is_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[postq]\ndata_dir = "d"\n')
    deep = tmp_path / "posts" / "2026"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    monkeypatch.delenv("POSTQ_CONFIG", raising=False)
    assert load_read_settings().path == find_config() == path.resolve()
    assert load_read_settings().data_dir == load().data_dir == tmp_path.resolve() / "d"
    other = write(tmp_path / "posts", '[postq]\ndata_dir = "e"\n')
    monkeypatch.setenv("POSTQ_CONFIG", str(other))
    monkeypatch.chdir(tmp_path)
    assert load_read_settings().data_dir == load().data_dir == other.parent / "e"


@pytest.mark.parametrize("text", BAD)
def test_bad_files_give_the_full_loaders_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    expected = full_error(path)
    with pytest.raises(ConfigError) as caught:
        load_read_settings(path)
    assert str(caught.value) == expected


def test_the_errors_are_one_sentence_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[postq]\ntimezone = "Europe/Londn"\n')
    with pytest.raises(ConfigError) as caught:
        load_read_settings(path)
    assert str(caught.value) == (f"{path.resolve()}: postq.timezone: 'Europe/Londn' is not a "
                                 "known time zone (e.g. Europe/London)")
    write(tmp_path, '[postq\n')
    with pytest.raises(ConfigError, match=r"postq.toml: not valid TOML: .*\(at line 1, column 7\)$"):
        load_read_settings(path)
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_read_settings(missing)
    assert str(caught.value) == f"configuration file {missing} does not exist"


@pytest.mark.parametrize("command", [["status"], ["queue", "list"]])
@pytest.mark.parametrize("text", ['[postq\n', '[postq]\ntimezone = "Europe/Londn"\n'])
def test_read_commands_report_what_writing_commands_report(
    tmp_path: Path, command: list[str], text: str,
) -> None:
    path = write(tmp_path, text)
    runner = CliRunner()
    read = runner.invoke(cli, ["--config", str(path), *command])
    write_ = runner.invoke(cli, ["--config", str(path), "queue", "cancel", "x"])
    assert read.exit_code == write_.exit_code == 1
    assert read.stderr == write_.stderr == f"error: {full_error(path)}\n"


def test_a_store_fallback_validates_the_whole_file(tmp_path: Path) -> None:
    # No queue database yet, so the Store opens it, with the fully checked settings.
    path = write(tmp_path, '[postq]\ndata_dir = "d"\n[channels.x]\nadaptor = "x"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 1
    assert "channels.x.adapter: Field required" in result.stderr


PROBE = """
import sys
from scheduler.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(sorted(m for m in sys.modules if m.split(".")[0] in ("pydantic", "sqlalchemy")))
"""


@pytest.mark.parametrize("command", [["status"], ["queue", "list", "--limit", "5"]])
def test_read_commands_import_neither_pydantic_nor_sqlalchemy(
    tmp_path: Path, command: list[str],
) -> None:
    path = write(tmp_path, '[postq]\ndata_dir = "d"\n')
    CliRunner().invoke(cli, ["--config", str(path), "status"])  # creates the queue
    done = subprocess.run([sys.executable, "-c", PROBE, "--config", str(path), *command],
                          capture_output=True, text=True, check=True)
    assert done.stdout.splitlines()[-1] == "[]", done.stdout
