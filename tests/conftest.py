"""Shared fixtures: a throw-away postq project folder with real files."""

from __future__ import annotations

import importlib.util

pytest_plugins = [
    name for name in ("tests.project", "tests.peers", "tests.team_support") if importlib.util.find_spec(name)
]
