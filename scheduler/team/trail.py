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


def check_trail(events: Sequence[EventRow], allowed_signers: Path | None,
                recent: int | None = None, *, from_start: bool = True) -> TrailCheck:
    """The :class:`TrailCheck` of ``events``; without an allowed-signers file only the
    chain is checked. ``recent`` checks only the signatures of the last so many signed
    events (``status``; each check runs ``ssh-keygen``, ~20 ms), ``log --verify`` all."""
    if allowed_signers is None:
        return verify_trail(events, from_start=from_start)
    seen: dict[tuple[str, str, str, datetime], bool] = {}

    def check(who: str, doc: str, sig: str, at: datetime) -> bool:
        # One queue add or approve signs once for all its deliveries: check it once.
        key = (who, doc, sig, at)
        if key not in seen:
            seen[key] = sshsig.verify(doc, sig, who, allowed_signers, at=at)
        return seen[key]

    signed_ids = None
    if recent is not None:
        signed_ids = {e.id for e in events if e.signed}
        signed_ids = set(sorted(signed_ids)[-recent:]) if recent else set()
    return verify_trail(events, check, signed_ids, from_start=from_start)


def trail_line(result: TrailCheck, signatures_checked: bool, recent: int | None = None,
               newest: int | None = None) -> str:
    """One line for ``status`` and ``log --verify``."""
    if result.problem:
        return f"the audit trail does NOT verify: {result.problem}"
    if newest is not None and result.events >= newest:
        chained = f"the newest {result.events} events chained"
    else:
        chained = f"{result.events} events chained"
    what = (f"{result.signatures} signatures verified" if signatures_checked
            else "signatures not checked (no [team] in postq.toml)")
    if signatures_checked and recent is not None:
        what = (f"the last {result.signatures} signatures verified ('postq log --verify' "
                "checks them all)")
    return f"the audit trail verifies: {chained}, {what}"
