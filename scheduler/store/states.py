"""Names shared by the store and its readers, kept free of SQLAlchemy so the fast read
path (:mod:`scheduler.store.fastread`) can use them without importing it."""

from __future__ import annotations

from scheduler.errors import UsageError

SCHEMA_VERSION = 9

STATES = (
    "awaiting_approval", "scheduled", "publishing", "published", "retry_wait",
    "failed", "needs_check", "cancelled", "missed",
    "retracting", "retracted", "retract_failed", "retract_manual",
)
#: States of a delivery that went out and was (or is being) taken down again.
RETRACT_STATES = ("retracting", "retracted", "retract_failed", "retract_manual")
#: States the publisher may still act on; everything else is settled.
OPEN_STATES = ("awaiting_approval", "scheduled", "retry_wait", "publishing", "needs_check")
#: Deliveries still waiting to go out (what "next due" lists).
WAITING_STATES = ("awaiting_approval", "scheduled", "retry_wait")
#: The ``pauses.channel`` value of the pause on every channel.
GLOBAL_PAUSE = "*"
#: ``pauses.channel`` of a blackout period added by ``postq blackout add``: the prefix,
#: then the period's name; its ``reason`` holds the period as JSON (see
#: :meth:`scheduler.blackouts.Blackout.stored`). No channel name starts with it.
BLACKOUT_KEY = "blackout:"


def check_state(state: str) -> str:
    """``state`` if it names a delivery state, else a UsageError listing them."""
    if state not in STATES:
        raise UsageError(f"'{state}' is not a delivery state (states: {', '.join(STATES)})")
    return state
