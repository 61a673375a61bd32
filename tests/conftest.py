"""Shared fixtures: a throw-away postq project folder with real files."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from scheduler.redaction import forget_all

pytest_plugins = [
    name for name in ("tests.project", "tests.peers", "tests.team_support") if importlib.util.find_spec(name)
]


@pytest.fixture(autouse=True)
def _each_test_remembers_its_own_secrets() -> Iterator[None]:
    """Secrets read are remembered for the life of the process, so that any text is
    redacted of them; in a test run one test's secrets must not redact the next one's
    expected messages."""
    forget_all()
    yield
