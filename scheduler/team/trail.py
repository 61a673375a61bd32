"""Checking the audit trail: the hash chain, and each person's signature.

Signatures are checked as the allowed-signers file stood when each was made (``ssh-keygen
-O verify-time``), so a colleague's key marked ``valid-before`` when they leave keeps
their earlier decisions verifiable; a line deleted outright makes them unverifiable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from scheduler.store.chain import TrailCheck, verify_trail
from scheduler.store.rows import EventRow
from scheduler.team import sshsig


def check_trail(events: Sequence[EventRow], allowed_signers: Path | None) -> TrailCheck:
    """The :class:`TrailCheck` of ``events``; without an allowed-signers file only the
    chain is checked."""
    if allowed_signers is None:
        return verify_trail(events)

    def check(who: str, doc: str, sig: str, at: datetime) -> bool:
        return sshsig.verify(doc, sig, who, allowed_signers, at=at)

    return verify_trail(events, check)


def trail_line(result: TrailCheck, signatures_checked: bool) -> str:
    """One line for ``status`` and ``log --verify``."""
    if result.problem:
        return f"the audit trail does NOT verify: {result.problem}"
    what = (f"{result.signatures} signatures verified" if signatures_checked
            else "signatures not checked (no [team] in postq.toml)")
    return f"the audit trail verifies: {result.events} events chained, {what}"
