"""``postq calendar``: the terminal grid and the HTML page, checked in headless Chromium."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.project import Project
from tests.test_preview import CHROMIUM, FLAGS
from tests.test_queue_cli_add import LONDON
from tests.test_reminders import qa_post

SCREENSHOT = os.environ.get("POSTQ_CALENDAR_SCREENSHOT")


def day(days: int) -> date:
    return (datetime.now(UTC) + timedelta(days=days)).astimezone(LONDON).date()


class Page(HTMLParser):
    """Entries, marks and day cells of the calendar page."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[tuple[str, str]] = []
        self.channels: list[str] = []
        self.marks: list[tuple[str, str]] = []
        self.days: dict[str, str] = {}
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-day" in a:
            self.days[a["data-day"]] = a.get("class", "")
        if tag == "div" and "data-post" in a and "data-reminder" in a:
            self.entries.append((a["data-post"], a["data-reminder"]))
        if "data-mark" in a:
            self.marks.append((a["data-mark"], a["data-post"]))
        if tag == "span" and "data-channel" in a:
            self.channels.append(a["data-channel"])
        if tag == "img":
            self.images.append(a.get("src", ""))


def _seed(project: Project) -> date:
    """Twenty careers posts on one day, a Q&A post with reminders; returns the busy day."""
    busy = day(3)
    paths = []
    for n in range(20):
        paths.append(str(project.careers(f"c{n:02d}.md", f"careers-{n:02d}", **{
            "2026-12-01 09:00": f"{busy} 09:00", "2026-12-14": str(day(20))})))
    r = project.run("queue", "add", "--at", f"{busy} 10:00", *paths)
    assert r.exit_code == 0, r.stderr
    r = project.run("queue", "add", str(qa_post(project, '["-1d", "-1h"]')))
    assert r.exit_code == 0, r.stderr
    return busy


def test_terminal_grid_keeps_ids_and_channels(project: Project) -> None:
    _seed(project)
    r = project.run("calendar", "--weeks", "2", env={"COLUMNS": "100"})
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("Mon ") for line in lines)
    assert "?10:00 outbox" in r.stdout
    assert "  careers-19" in r.stdout
    assert all(len(line) <= 100 for line in lines)
    wide = project.run("calendar", "--weeks", "2", env={"COLUMNS": "200"}).stdout
    assert "?17:00 instagram ~-1h" in wide and "?17:00 outbox ~-1h" in wide


def test_html_page_marks_days_and_groups_reminders(project: Project, tmp_path: Path) -> None:
    busy = _seed(project)
    out = tmp_path / "calendar.html"
    r = project.run("calendar", "--weeks", "4", "--html", str(out))
    assert r.exit_code == 0, r.stderr
    page = Page()
    page.feed(out.read_text(encoding="utf-8"))
    _check_page(page, busy)


def _check_page(page: Page, busy: date) -> None:
    today = day(0)
    assert [p for p, _ in page.entries].count("careers-05") == 1  # one block per post
    assert sum(1 for p, _ in page.entries if p.startswith("careers-")) == 20
    assert ("qa", "-1d") in page.entries and ("qa", "-1h") in page.entries
    assert page.channels.count("instagram") == 3  # the Q&A and its two reminders
    assert ("closing_date", "careers-00") in page.marks
    assert ("event_at", "qa") in page.marks
    assert page.days[today.isoformat()] == "today"
    assert page.days[busy.isoformat()] == "future"
    monday = today - timedelta(days=today.weekday())
    for n in range(today.weekday()):
        assert page.days[(monday + timedelta(days=n)).isoformat()] == "past"
    assert page.images and all(src.startswith("data:image/jpeg;base64,") for src in page.images)


class _Quiet(SimpleHTTPRequestHandler):
    seen: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        _Quiet.seen.append(f"{self.command} {self.path} {args[1] if len(args) > 1 else ''}")


@pytest.mark.skipif(CHROMIUM is None and os.environ.get("POSTQ_REQUIRE_BROWSER") != "1",
                    reason="Debian chromium is not installed")
def test_calendar_page_in_headless_chromium(project: Project, tmp_path: Path) -> None:
    assert CHROMIUM, "POSTQ_REQUIRE_BROWSER=1 but chromium is not installed"
    busy = _seed(project)
    site = tmp_path / "site"
    site.mkdir()
    out = site / "calendar.html"
    assert project.run("calendar", "--weeks", "4", "--html", str(out)).exit_code == 0
    _Quiet.seen = []
    handler = lambda *a: _Quiet(*a, directory=str(site))  # noqa: E731
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/calendar.html"
    profile = tmp_path / "chrome-profile"
    try:
        dom = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                              url], capture_output=True, text=True, timeout=120)
        assert dom.returncode == 0, dom.stderr[-2000:]
        shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "calendar.png"
        subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                        "--window-size=1600,1400", url], capture_output=True, timeout=120,
                       check=True)
    finally:
        server.shutdown()
        server.server_close()
    page = Page()
    page.feed(dom.stdout)
    _check_page(page, busy)
    # The page is all there is: no request for an image, a stylesheet or an icon.
    assert {line.rsplit(" ", 1)[0] for line in _Quiet.seen} == {"GET /calendar.html"}
    assert {line.rsplit(" ", 1)[1] for line in _Quiet.seen} <= {"200", "304"}
    with Image.open(shot) as im:
        colours = im.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 50
