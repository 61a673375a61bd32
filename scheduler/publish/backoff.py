"""When to try a transient failure again: exponential backoff with jitter.

Jitter spreads retries of many deliveries that failed together (a platform outage) so they
do not all return at the same second; a platform's own ``Retry-After`` always wins when it
asks for a longer wait.
"""

from __future__ import annotations

import random
from datetime import timedelta

MAX_DELAY = timedelta(hours=1)


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
    if retry_after is not None and retry_after > 0:
        jittered = max(jittered, timedelta(seconds=retry_after))
    return jittered
