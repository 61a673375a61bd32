"""``postq run`` as a service, in a real process: JSON log lines, Prometheus metrics scraped
while it runs, systemd's notify protocol over a real datagram socket, and the stop kept in
``status``.

The publisher is the slow outbox plug-in of :mod:`tests.publish_support`; systemd is
stood in for by the socket this test opens, speaking the protocol of
https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html (datagrams of
``KEY=VALUE`` lines to ``$NOTIFY_SOCKET``).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scheduler.ops.sdnotify import SystemdNotifier
from tests.publish_support import PublisherProcess, make_rig, queue_posts, state_counts, wait_until

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs unix sockets")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listen(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    return sock


def _received(sock: socket.socket, until: float) -> list[str]:
    got = []
    while time.monotonic() < until:
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
    return got


def test_notify_speaks_the_protocol_to_a_path_and_an_abstract_socket(tmp_path: Path) -> None:
    sock = _listen(tmp_path / "notify")
    with sock:
        assert SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "notify")}).notify(
            READY=1, STATUS="publishing")
        assert sock.recv(4096) == b"READY=1\nSTATUS=publishing"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    name = f"postq-test-{time.monotonic_ns()}"
    abstract.bind("\0" + name)
    with abstract:
        assert SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).notify(WATCHDOG=1)
        assert abstract.recv(4096) == b"WATCHDOG=1"
    assert SystemdNotifier({}).notify(READY=1) is False
    assert SystemdNotifier({"WATCHDOG_USEC": "4000000"}).watchdog_seconds == 4.0
    assert SystemdNotifier({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "1"}).watchdog_seconds is None


def _scrape(port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("postq_"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def test_a_run_logs_json_serves_metrics_notifies_systemd_and_is_shown_stopped(
        tmp_path: Path) -> None:
    rig = make_rig(tmp_path / "rig", channels=("c1", "c2"), before=(0.05, 0.1))
    due = datetime.now(UTC) + timedelta(seconds=6)
    queue_posts(rig, [due] * 3 + [due + timedelta(hours=1)])
    port = _free_port()
    sock = _listen(tmp_path / "notify")
    proc = PublisherProcess(rig, ("--log-format", "json", "--metrics-port", str(port)),
                            extra_env={"NOTIFY_SOCKET": str(tmp_path / "notify"),
                                       "WATCHDOG_USEC": "1000000"})
    try:
        proc.start()
        assert wait_until(lambda: state_counts(rig)["published"] == 6, 30), proc.stderr()
        scraped = _scrape(port)
        messages = _received(sock, time.monotonic() + 1.5)
        proc.signal(signal.SIGTERM)
        assert proc.wait(20) == 0, proc.stderr()
    finally:
        proc.stop()
        sock.close()
    counts = state_counts(rig)
    for ch in ("c1", "c2"):
        assert scraped[f'postq_deliveries{{channel="{ch}",state="published"}}'] == 3
        assert scraped[f'postq_deliveries{{channel="{ch}",state="scheduled"}}'] == 1
        assert scraped[f'postq_attempts_total{{channel="{ch}",outcome="published"}}'] == 3
        assert scraped[f'postq_lateness_seconds_count{{channel="{ch}"}}'] == 3
        assert scraped[f'postq_publish_seconds_count{{channel="{ch}"}}'] == 3
        assert scraped[f'postq_last_published_timestamp_seconds{{channel="{ch}"}}'] > 0
    assert sum(v for k, v in scraped.items() if k.startswith("postq_deliveries{")) == sum(
        counts.values())
    assert scraped['postq_lateness_seconds_bucket{channel="c1",le="5.0"}'] == 3
    # READY once started, then the watchdog kept fed at least twice a second.
    assert messages[0].startswith("READY=1\nSTATUS=publishing as ")
    assert messages.count("WATCHDOG=1") >= 2
    lines = [json.loads(line) for line in proc.stderr().splitlines()]  # every line is JSON
    events = [obj.get("event") for obj in lines]
    assert events[0] == "start" and events[-1] == "stop"
    assert events.count("published") == 6
    assert lines[-1]["reason"] == "SIGTERM received"
    assert lines[-1]["message"].endswith("stopped: SIGTERM received")
    status = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(rig.config),
                             "status"], capture_output=True, text=True, env=rig.env(), check=True)
    worker = lines[0]["worker"]
    (line,) = [x for x in status.stdout.splitlines() if x.startswith(f"  {worker}: ")]
    assert line.startswith(f"  {worker}: stopped ") and line.endswith("SIGTERM received")


def test_a_metrics_port_in_use_is_one_clear_sentence(project: Any) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = project.run("run", "--once", "--metrics-port", str(port))
    assert result.exit_code == 1
    assert result.output == (f"error: --metrics-port {port}: cannot listen on "
                             f"127.0.0.1:{port} (Address already in use)\n")
