"""Recording what happened to a claimed delivery: one ``UPDATE ... RETURNING`` and its
event per outcome.

The publisher records an outcome for every delivery it sends, so this is its busiest
write: nothing is read before or after the update unless the update is refused (then
only to say why). ``token`` is the claim's fencing token: given, the outcome is recorded
only while that claim is still the delivery's current one.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, select

from scheduler.errors import ClaimLost, UsageError
from scheduler.store import audit
from scheduler.store.base import StoreBase, _delivery
from scheduler.store.chain import GENESIS
from scheduler.store.rows import DeliveryRow
from scheduler.store.schema import T


class OutcomeOps(StoreBase):
    """Outcomes of claimed deliveries, and the settling of unknown ones."""

    # -- outcomes ---------------------------------------------------------------------
    # ``token`` is the claim's fencing token (``Claimed.claim_token``): given, the outcome
    # is recorded only while that claim is still the delivery's current one, so a
    # publisher judged dead and taken over can never overwrite what others decided.
    def mark_published(self, delivery_id: str, remote_id: str, url: str | None = None, *,
                       who: str | None = None, token: int | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "published", ("publishing", "needs_check"),
                            who=who, token=token, **self._publication(remote_id, url))

    def _publication(self, remote_id: str, url: str | None) -> dict[str, Any]:
        """What recording a publication writes, with its event's action and reason."""
        return {"action": "publish", "reason": url or remote_id, "remote_id": remote_id,
                "remote_url": url, "published_at": self._now(), "last_error": None}

    def mark_published_checking(self, delivery_id: str, remote_id: str, url: str | None,
                                *, token: int | None, following: Any,
                                worker: str) -> tuple[DeliveryRow, bool]:
        """:meth:`mark_published` for a claim, and whether ``worker`` still holds
        ``following`` (as :meth:`~scheduler.store.publishing.PublishOps.still_mine`
        asks), read by the same ``UPDATE ... RETURNING``.

        ``following`` is the claim the worker sends next on the channel: a worker
        publishing a backlog checks each claim without a statement or transaction of its
        own for it (round trips on PostgreSQL, for every delivery). Writes take the
        chain's lock first, so a takeover is either committed before the update reads
        ``following`` or waits until this commit; the worker sends ``following`` right
        after this commit, as it would after a check of its own.
        """
        with self._write(lazy=token is not None) as conn:
            row, got = self._settle_in(
                conn, delivery_id, "published", ("publishing", "needs_check"), who=None,
                token=token, following=following.id, **self._publication(remote_id, url))
        return row, holds(got.next_state, got.next_claimed_by, got.next_attempts,
                          got.next_token, worker, following.attempts, following.claim_token)

    def mark_retry(self, delivery_id: str, error: str, next_attempt_at: datetime, *,
                   who: str | None = None, token: int | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "retry_wait", ("publishing",), action="retry_later",
                            who=who, reason=error, token=token, last_error=error,
                            wake_at=next_attempt_at)

    def mark_failed(self, delivery_id: str, error: str, *, who: str | None = None,
                    token: int | None = None, action: str = "fail") -> DeliveryRow:
        return self._settle(delivery_id, "failed", ("publishing", "needs_check", "retry_wait"),
                            action=action, who=who, reason=error, token=token,
                            last_error=error)

    def mark_needs_check(self, delivery_id: str, reason: str, *,
                         who: str | None = None, token: int | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "needs_check", ("publishing",), action="needs_check",
                            who=who, reason=reason, token=token, last_error=reason)

    def mark_missed(self, delivery_id: str, reason: str, *, who: str | None = None,
                    token: int | None = None) -> DeliveryRow:
        return self._settle(delivery_id, "missed",
                            ("awaiting_approval", "scheduled", "retry_wait", "publishing"),
                            action="miss", who=who, reason=reason, token=token,
                            last_error=reason)

    def _settle(self, delivery_id: str, to: str, allowed: tuple[str, ...], *, action: str,
                who: str | None, reason: str | None, token: int | None = None,
                **values: Any) -> DeliveryRow:
        """One ``UPDATE ... RETURNING`` plus its event: the publisher records an outcome
        per delivery, so nothing is read before or after unless the update is refused
        (then only to say why).

        An outcome on a claim (``token``) is committed lazily: if a power loss takes it,
        the delivery is still claimed, and the claim is settled by asking the platform
        (see :mod:`scheduler.store.db`). What a person records is durable.
        """
        with self._write(lazy=token is not None) as conn:
            return self._settle_in(conn, delivery_id, to, allowed, action=action, who=who,
                                   reason=reason, token=token, **values)[0]

    def _settle_in(self, conn: Connection, delivery_id: str, to: str,
                   allowed: tuple[str, ...], *, action: str, who: str | None,
                   reason: str | None, token: int | None = None,
                   following: str | None = None, **values: Any) -> tuple[DeliveryRow, Any]:
        """:meth:`_settle` inside the caller's write transaction; also returns what the
        update returned (with ``following``, that delivery's claim columns too)."""
        d = T["deliveries"]
        now = self._now()
        if token is not None:  # a claim's outcome: only from that very claim
            before: str | None = "publishing" if "publishing" in allowed else None
        elif len(allowed) == 1:
            before = allowed[0]
        else:  # several states allowed: the event names the one it was in
            before = conn.execute(select(d.c.state).where(d.c.id == delivery_id)).scalar()
            before = before if before in allowed else None
        params = {f"v_{k}": v for k, v in values.items()}
        got = None if before is None else conn.execute(
            _outcome_update(tuple(sorted(values)), token is not None, following is not None),
            {"v_id": delivery_id, "v_before": before, "v_token": token, "v_state": to,
             "v_updated_at": now, "v_next": following, **params}).first()
        if got is None:
            raise self._refusal(conn, delivery_id, to, allowed, token)
        row = _delivery(got)
        # The update returned the audit chain's last link too: _write took the
        # chain's lock first (BEGIN IMMEDIATE on SQLite), so it is still the last.
        audit.record(conn, at=now, who=who or row.claimed_by or self.user, action=action,
                     post_id=row.post_id, delivery_id=row.id, channel=row.channel,
                     before=before, after=to, reason=reason,
                     prev=got.last_link or GENESIS)
        return row, got

    def _refusal(self, conn: Connection, delivery_id: str, to: str, allowed: tuple[str, ...],
                 token: int | None) -> Exception:
        """Why :meth:`_settle` recorded nothing, in one sentence."""
        d = T["deliveries"]
        rows = self._deliveries(conn, [d.c.id == delivery_id])
        if not rows:
            return UsageError(f"no delivery has the id '{delivery_id}'")
        row = rows[0]
        if token is not None and (row.state != "publishing" or row.claim_token != token):
            return ClaimLost(
                f"delivery {row.ref} is no longer this publisher's claim (it is "
                f"{row.state}, claim {row.claim_token}, not {token}); nothing recorded"
            )
        if row.state not in allowed:
            return UsageError(
                f"delivery {row.ref} is {row.state}; it cannot become {to} from there")
        if token is not None:
            return ClaimLost(f"delivery {row.ref} was taken over meanwhile; nothing recorded")
        return UsageError(f"delivery {row.ref} changed while this command ran; look at it "
                          "again")

    def take_over(self, row: DeliveryRow, reason: str, *, who: str) -> DeliveryRow:
        """``publishing`` → ``needs_check`` for an abandoned claim, only if it is still the
        very claim that was judged abandoned (same fencing token)."""
        return self.mark_needs_check(row.id, reason, who=who, token=row.claim_token)

    def settle_published(self, delivery_id: str, remote_id: str, url: str | None = None, *,
                         who: str | None = None) -> DeliveryRow:
        """``needs_check`` → ``published``: the platform says it has the post."""
        return self._settle(delivery_id, "published", ("needs_check",), action="check",
                            who=who, reason=f"found on the platform: {url or remote_id}",
                            remote_id=remote_id, remote_url=url, published_at=self._now(),
                            last_error=None)

    def settle_not_published(self, delivery_id: str, at: datetime, *,
                             who: str | None = None) -> DeliveryRow:
        """``needs_check`` → ``scheduled`` at ``at``: the platform certainly lacks it.

        Claiming re-checks the deadline and the grace, so a post whose moment has passed
        becomes ``missed`` instead of going out late.
        """
        return self._settle(delivery_id, "scheduled", ("needs_check",), action="check",
                            who=who, reason="not on the platform; queued again",
                            wake_at=at, claimed_by=None, claimed_at=None)


def holds(state: str | None, claimed_by: str | None, attempts: int | None,
          claim_token: int | None, worker: str, claimed_attempts: int,
          token: int | None) -> bool:
    """Whether a delivery with these claim columns is still ``worker``'s claim made at
    attempt ``claimed_attempts`` with fencing ``token`` (None: any token)."""
    return (state == "publishing" and claimed_by == worker and attempts == claimed_attempts
            and (token is None or claim_token == token))


@lru_cache(maxsize=64)
def _outcome_update(columns: tuple[str, ...], fenced: bool, following: bool = False) -> Any:
    """The ``UPDATE ... RETURNING`` of :meth:`OutcomeOps._settle`, built once per shape:
    building a statement costs more than SQLite takes to run it. Values are bound as
    ``v_<column>``; ``fenced`` adds the claim token's condition. It returns the audit
    chain's last link beside the row, so recording the event reads nothing more, and
    with ``following`` the claim columns of the delivery ``v_next`` (``next_state``,
    ``next_claimed_by``, ``next_attempts``, ``next_token``)."""
    d = T["deliveries"]
    where = [d.c.id == bindparam("v_id"), d.c.state == bindparam("v_before")]
    if fenced:
        where.append(d.c.claim_token == bindparam("v_token"))
    extra = []
    if following:
        other = d.alias("following")
        extra = [select(other.c[col]).where(other.c.id == bindparam("v_next"))
                 .scalar_subquery().label(name)
                 for col, name in (("state", "next_state"), ("claimed_by", "next_claimed_by"),
                                   ("attempts", "next_attempts"),
                                   ("claim_token", "next_token"))]
    return (d.update().where(*where)
            .values({c: bindparam(f"v_{c}") for c in ("state", "updated_at", *columns)})
            .returning(*d.c, audit.last_link().label("last_link"), *extra))
