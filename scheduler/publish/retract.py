"""Carrying out retractions: claim, ask the adapter to delete, confirm, record.

The publisher calls :func:`retract_due` on every tick and ``postq retract`` calls it at
once for what it just asked, so a retraction happens whether or not a publisher is
running; the claim (fenced by its token, like a publishing claim) makes sure only one
process carries out each attempt. Deleting is safe to repeat, so a claim taken over from
a silent process is simply tried again.
"""

from __future__ import annotations

import logging
from typing import Any

from scheduler.adapters.base import CannotDelete, PublishedPost
from scheduler.errors import (
    AuthError,
    ClaimLost,
    OutcomeUnknown,
    PermanentPublishError,
    PostqError,
    RateLimited,
    TransientPublishError,
)
from scheduler.publish.backoff import retry_delay, sane_retry_after
from scheduler.publish.worker import Outcome, Publisher
from scheduler.redaction import redact

log = logging.getLogger("postq.publish")


def retract_due(publisher: Publisher, ids: list[str] | None = None) -> list[Outcome]:
    """Claim the retractions that are due (or just ``ids``) and carry each out."""
    store = publisher.store
    rows = store.claim_retractions(publisher.clock.now(), worker=publisher.worker,
                                   stale_after=publisher.stale_after, ids=ids)
    return [retract_one(publisher, row) for row in rows]


def published_post(row: Any) -> PublishedPost:
    retraction = row.remote_state.get("retraction") or {}
    return PublishedPost(
        delivery_id=row.id, post_id=row.post_id, channel=row.channel,
        remote_id=str(row.remote_id or ""), url=row.remote_url,
        reason=str(retraction.get("reason") or ""), remote_state=row.remote_state,
        claim_token=row.claim_token)


def retract_one(publisher: Publisher, row: Any) -> Outcome:
    """One attempt at one claimed retraction; exactly one outcome is recorded."""
    try:
        return _attempt(publisher, row)
    except ClaimLost as exc:
        log.warning("%s: %s", row.ref, exc)
        return Outcome(row.id, row.ref, "taken_over", str(exc))
    except Exception as exc:  # one bad delivery never stops the others
        log.exception("retracting %s failed unexpectedly", row.ref)
        msg = redact(f"retraction error: {type(exc).__name__}: {exc}")
        try:
            return _later(publisher, row, msg, None)
        except Exception:  # the store is gone too: the claim lapses and is taken again
            log.exception("could not record the retraction of %s", row.ref)
            return Outcome(row.id, row.ref, "retracting", msg)


def _attempt(publisher: Publisher, row: Any) -> Outcome:
    store, token, who = publisher.store, row.claim_token, publisher.worker
    post = published_post(row)
    try:
        adapter = publisher.adapter(row.channel)
    except PostqError as exc:
        msg = redact(str(exc))
        store.mark_retract_failed(row.id, msg, who=who, token=token)
        return publisher._record(Outcome(row.id, row.ref, "retract_failed", msg, notify=True))
    secrets = adapter.secrets()
    try:
        if not post.remote_id:
            # Published without an id the platform named: nothing to address a delete to.
            raise CannotDelete(f"channel '{row.channel}': no remote id was recorded when "
                               "it was published", adapter.manual_steps(post))
        adapter.retract(post)
        gone = adapter.is_gone(post)
    except CannotDelete as exc:
        steps = [redact(s, secrets) for s in exc.steps]
        store.mark_retract_manual(row.id, redact(str(exc), secrets), steps, who=who,
                                  token=token)
        detail = "remove it by hand: " + " ".join(steps)
        return publisher._record(Outcome(row.id, row.ref, "retract_manual", detail,
                                         notify=True))
    except (RateLimited, TransientPublishError, OutcomeUnknown) as exc:
        return _later(publisher, row, redact(str(exc), secrets),
                      sane_retry_after(getattr(exc, "retry_after", None)))
    except (AuthError, PermanentPublishError, PostqError) as exc:
        msg = redact(str(exc), secrets)
        store.mark_retract_failed(row.id, msg, who=who, token=token)
        return publisher._record(Outcome(row.id, row.ref, "retract_failed", msg, notify=True))
    if gone is False:
        return _later(publisher, row, f"{row.ref} is still served after the delete call; "
                      "asking again later", None)
    how = "confirmed gone" if gone else "deleted (the platform cannot be asked to confirm)"
    store.mark_retracted(row.id, f"{how}: {post.url or post.remote_id}", who=who,
                         token=token)
    return publisher._record(Outcome(row.id, row.ref, "retracted",
                                     f"{how}: {post.url or post.remote_id}", notify=True))


def _later(publisher: Publisher, row: Any, msg: str, retry_after: float | None) -> Outcome:
    attempts = int((row.remote_state.get("retraction") or {}).get("attempts", 1))
    token, who = row.claim_token, publisher.worker
    if attempts >= publisher.max_attempts:
        final = f"gave up after {attempts} attempts: {msg}"
        publisher.store.mark_retract_failed(row.id, final, who=who, token=token)
        return publisher._record(Outcome(row.id, row.ref, "retract_failed", final,
                                         notify=True))
    wake = publisher.clock.now() + retry_delay(attempts, publisher.retry_base, retry_after,
                                               publisher.rng)
    publisher.store.mark_retract_retry(row.id, msg, wake, who=who, token=token)
    detail = f"{msg}; trying again at {publisher.store.local(wake)}"
    return publisher._record(Outcome(row.id, row.ref, "retracting", detail))


def retract_now(settings: Any, store: Any, ids: list[str], **publisher_args: Any
                ) -> list[Outcome]:
    """Carry out the retractions ``ids`` in this process, at once (``postq retract``),
    with the ``[notify]`` notices; those another process holds are left to it."""
    from scheduler.publish.notify import attach

    publisher = Publisher(settings, store, **publisher_args)
    attach(publisher)
    try:
        return retract_due(publisher, ids)
    finally:
        publisher.close()


def describe(row: Any, local: Any) -> list[str]:
    """What a person reads about one delivery after ``postq retract``."""
    if row.state == "retracted":
        return [f"retracted {row.ref}: {row.remote_url or row.remote_id}"]
    if row.state == "retract_manual":
        steps = (row.remote_state.get("retraction") or {}).get("steps") or []
        return [f"{row.ref} must be removed by hand ({row.last_error}):",
                *(f"  {n}. {s}" for n, s in enumerate(steps, start=1))]
    if row.state == "retract_failed":
        return [f"{row.ref} could not be retracted: {row.last_error}"]
    if row.claimed_by:
        return [f"{row.ref} is being retracted by {row.claimed_by}"]
    return [f"{row.ref} will be retracted again at {local(row.wake_at)}"
            + (f": {row.last_error}" if row.last_error else "")]
