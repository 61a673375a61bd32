"""The systemd units shipped in ``contrib/systemd`` say what the README promises: a notify
service with a watchdog, restarted on failure, hardened, and a timer for ``postq watch``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[1] / "contrib" / "systemd"


def _settings(name: str) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in (UNITS / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current[key] = value
    return sections


def test_the_publisher_unit_is_a_hardened_notify_service() -> None:
    service = _settings("postq.service")["Service"]
    assert {k: service[k] for k in ("Type", "Restart", "NoNewPrivileges", "ProtectSystem",
                                    "WatchdogSec", "NotifyAccess")} == {
        "Type": "notify", "Restart": "on-failure", "NoNewPrivileges": "yes",
        "ProtectSystem": "strict", "WatchdogSec": "60", "NotifyAccess": "main"}
    assert service["ReadWritePaths"] == "/srv/postq/.postq"
    assert service["ExecStart"].endswith("postq run --log-format text")


def test_the_watch_timer_starts_the_watch_service() -> None:
    timer = _settings("postq-watch.timer")
    assert timer["Timer"]["OnUnitActiveSec"] == "5min"
    service = _settings("postq-watch.service")["Service"]
    assert service["ExecStart"].endswith("postq watch")
    assert service["SuccessExitStatus"] == "2" and service["Type"] == "oneshot"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("name", ["postq.service", "postq-watch.service", "postq-watch.timer"])
def test_systemd_accepts_the_unit(name: str) -> None:
    out = subprocess.run(["systemd-analyze", "verify", str(UNITS / name)],
                         capture_output=True, text=True)
    # The only complaint allowed is the example install path not existing on this machine.
    complaints = [line for line in (out.stdout + out.stderr).splitlines()
                  if line.strip() and "/opt/postq/venv/bin/postq" not in line
                  and "postq-watch.service" not in line]
    assert complaints == []
