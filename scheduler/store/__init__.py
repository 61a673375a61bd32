"""The queue database: posts as queued, their deliveries, media, pauses and audit trail.

:class:`Store` is the single entry point; its operations are grouped by who uses them
(people queueing and deciding, readers, the publisher, the pause switch) in the modules
of this package. Importing it imports SQLAlchemy, so commands do it inside their body.
"""

from __future__ import annotations

from scheduler.store.base import current_user
from scheduler.store.control import ControlOps
from scheduler.store.publishing import PublishOps
from scheduler.store.queue import QueueOps, describe_state
from scheduler.store.rows import (
    Claimed,
    DeliveryRow,
    EventRow,
    Heartbeat,
    MediaRow,
    PauseRow,
    PostView,
)
from scheduler.store.schema import SCHEMA_VERSION, STATES
from scheduler.store.views import ReadOps


class Store(QueueOps, ReadOps, PublishOps, ControlOps):
    """The queue: ``Store.open(settings)`` in commands, ``Store(url, media_dir)`` in tests."""


__all__ = [
    "SCHEMA_VERSION", "STATES", "Claimed", "DeliveryRow", "EventRow", "Heartbeat", "MediaRow",
    "PauseRow", "PostView", "Store", "current_user", "describe_state",
]
