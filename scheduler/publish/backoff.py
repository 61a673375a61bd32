"""When to try a transient failure again: exponential backoff with jitter.

Jitter spreads retries of many deliveries that failed together (a platform outage) so they
do not all return at the same second; a platform's own ``Retry-After`` always wins when it
asks for a longer wait.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from typing import Any

MAX_DELAY = timedelta(hours=1)
#: Longer waits are cut here before any date arithmetic; the publisher then cuts them
#: again at the delivery's own deadline.
MAX_RETRY_AFTER = 366 * 24 * 3600.0


def sane_retry_after(value: Any) -> float | None:
    """A platform's ``Retry-After`` in seconds, or None when it is nonsense (negative,
    not a number, infinite, ``1e400``): a wait nobody can honour is treated as absent."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def retry_delay(
    attempt: int,
    base: timedelta,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> timedelta:
    """Delay before attempt ``attempt + 1``: base·2^(attempt−1), jittered to 50–100 %."""
    rng = rng or random.Random()
    exp = base * (2 ** max(0, attempt - 1))
    delay = min(exp, MAX_DELAY)
    jittered = delay * (0.5 + rng.random() / 2)
    wait = sane_retry_after(retry_after)
    if wait is not None:
        jittered = max(jittered, timedelta(seconds=wait))
    return jittered
