"""The :class:`Store`: every queue operation, assembled from the modules that hold them."""

from __future__ import annotations

from scheduler.store.control import ControlOps
from scheduler.store.evidence import EvidenceOps
from scheduler.store.publishing import PublishOps
from scheduler.store.queue import QueueOps
from scheduler.store.retracting import RetractOps
from scheduler.store.views import ReadOps


class Store(QueueOps, ReadOps, PublishOps, ControlOps, EvidenceOps, RetractOps):
    """The queue: ``Store.open(settings)`` in commands, ``Store(url, media_dir)`` in tests."""
