"""Values read back from the queue database: a time or a JSON document as stored, or
one sentence naming the row that holds something else.

Kept out of :mod:`scheduler.store.rows`, whose dataclasses take a while to define: a
listing that only reads times (``queue list``, ``calendar``) does not load them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from scheduler.errors import StoreError


def damaged(delivery_id: str | int, column: str, value: Any, expected: str, *,
            record: str = "delivery") -> str:
    """The one sentence for a row (a delivery, or an ``event``) whose stored value
    cannot be read back."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return (f"{record} {delivery_id} in the queue database is damaged: {column} holds "
            f"{shown}, not {expected}; correct it in the database or restore a backup")


def read_time(delivery_id: str, column: str, value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime, or a StoreError naming the row.

    Called five times per row of a listing, so it imports nothing and tries the common
    case (SQLite's text) first."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            raise StoreError(damaged(delivery_id, column, value, "a time")) from None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
    except ValueError:
        raise StoreError(damaged(delivery_id, column, value, "a time")) from None


def read_state(delivery_id: str, raw: Any) -> dict[str, Any]:
    """The adapter's remote state document, or a StoreError naming the row."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise StoreError(damaged(delivery_id, "remote_state", raw, "a JSON object"))
    return value
