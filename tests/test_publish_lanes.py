"""The channel workers' bookkeeping: which claim a channel sends next, and how long a
check made ahead for it may stand in for one made just before the send."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from scheduler.publish.lanes import CHECK_FRESH_S, Lanes


@dataclass(frozen=True)
class Claim:
    id: str
    channel: str
    claim_token: int


def test_a_check_made_ahead_is_used_once_for_that_very_claim_while_fresh() -> None:
    lanes = Lanes(lambda channel: None)
    one, again = Claim("a@c1", "c1", 1), Claim("a@c1", "c1", 2)
    lanes.checked(one, False)
    assert lanes.take_check(one) is False
    assert lanes.take_check(one) is None  # used up: the next send asks the store
    lanes.checked(one, True)
    assert lanes.take_check(again) is None  # another claim of the same delivery
    lanes.checked(one, True)
    time.sleep(CHECK_FRESH_S + 0.05)
    assert lanes.take_check(one) is None  # too old to stand in for a check before sending


def test_a_claim_that_ends_before_its_send_leaves_no_check_behind() -> None:
    """Checks are kept per channel, for the claim it sends next: one that was failed or
    held back before its send is replaced by the next channel's check, not kept for ever."""
    lanes = Lanes(lambda channel: None)
    held = [Claim(f"d{n}@c1", "c1", 1) for n in range(50)]
    for claim in held:
        lanes.checked(claim, True)  # each ended without asking for its check
    last = Claim("e@c1", "c1", 1)
    lanes.checked(last, False)
    assert lanes.take_check(held[0]) is None
    lanes.checked(last, False)
    assert lanes.take_check(last) is False
    assert lanes._checked == {}


def test_the_claim_sent_next_is_the_first_still_waiting_on_its_channel() -> None:
    gate = threading.Event()
    idle: list[str] = []
    lanes = Lanes(idle.append)
    first, second = Claim("a@c1", "c1", 1), Claim("b@c1", "c1", 1)
    seen: list[object] = []

    def send(claim: Claim) -> None:
        lanes.started(claim)
        gate.wait(5)
        seen.append(lanes.following("c1"))

    lanes.submit("c1", lambda: send(first), claim=first)
    lanes.submit("c1", lambda: send(second), claim=second)
    lanes.submit("c2", lambda: None)  # a retraction: no claim waits for it
    gate.set()
    lanes.drain()
    lanes.shutdown()
    assert seen == [second, None]
    assert lanes.busy() == set() and sorted(idle) == ["c1", "c2"]
