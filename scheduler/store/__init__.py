"""The queue database: posts as queued, their deliveries, media, pauses and audit trail.

:class:`Store` is the single entry point; its operations are grouped by who uses them
(people queueing and deciding, readers, the publisher, the pause switch) in the modules
of this package. Names are loaded on first use, so ``scheduler.store.fastread`` and the
row types can be imported without paying for SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scheduler.store.base import current_user
    from scheduler.store.queue import describe_state
    from scheduler.store.rows import (
        Claimed,
        DeliveryRow,
        EventRow,
        Heartbeat,
        MediaRow,
        PauseRow,
        PostView,
    )
    from scheduler.store.states import SCHEMA_VERSION, STATES
    from scheduler.store.store import Store

_WHERE = {
    "Store": "store", "current_user": "base", "describe_state": "queue",
    "Claimed": "rows", "DeliveryRow": "rows", "EventRow": "rows", "Heartbeat": "rows",
    "MediaRow": "rows", "PauseRow": "rows", "PostView": "rows",
    "SCHEMA_VERSION": "states", "STATES": "states",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'scheduler.store' has no attribute '{name}'")
    return getattr(importlib.import_module(f"scheduler.store.{module}"), name)


__all__ = [
    "SCHEMA_VERSION", "STATES", "Claimed", "DeliveryRow", "EventRow", "Heartbeat", "MediaRow",
    "PauseRow", "PostView", "Store", "current_user", "describe_state",
]
