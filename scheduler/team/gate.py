"""The publisher's last check before a claimed delivery goes out.

Called once per claimed delivery from :meth:`Publisher.publish_one`. It recomputes the
content hash from the rows as they are now and reads every media file, so a caption
edited in the database or a file changed on disk is caught; with ``[team]`` it also
verifies the author's and the approver's signatures against the allowed-signers file as
it is *now* (a key removed since stops publication), that the two are different people,
and that the approval covers this delivery at this due time. Anything wrong holds the
delivery with an audit event saying why; the publisher then sends a ``[notify]`` notice.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from scheduler.content.snapshot import hash_content
from scheduler.errors import PostqError
from scheduler.team.documents import approval_covers, queue_doc
from scheduler.team.identity import Signed

log = logging.getLogger("postq.publish")


def check_claimed(store: Any, row: Any, *, who: str) -> str | None:
    """None if ``row`` may be published; else it is held and the reason returned."""
    reason = why_held(store, row)
    if reason is not None:
        try:
            store.hold(row.id, reason, who=who)
        except PostqError as exc:  # taken over meanwhile: its new owner checks it again
            log.warning("%s could not be held: %s", row.ref, exc)
    return reason


def why_held(store: Any, row: Any) -> str | None:
    """Why a claimed delivery may not go out as it stands, or None."""
    try:
        return _why_held(store, row)
    except PostqError as exc:  # e.g. the allowed-signers file is gone: nothing can pass
        return f"its signatures cannot be checked: {exc}"


def _why_held(store: Any, row: Any) -> str | None:
    # A claimed row carries the evidence its claim read; anything else is read now.
    ev = getattr(row, "evidence", None) or store.claim_evidence(row.id)
    now_hash = hash_content(ev.post_id, ev.language, [
        (s.channel, s.adapter, s.caption, [(m.sha256, m.mime, m.alt) for m in s.media])
        for s in ev.siblings if not s.reminder
    ], ev.reminders)
    recorded = {(c, o): (cap, shas) for c, o, cap, shas in ev.reminders}
    changed = [s for s in ev.siblings if s.reminder and recorded.get((s.channel, s.reminder))
               != (s.caption, tuple(m.sha256 for m in s.media))]
    if now_hash != ev.content_hash or changed:
        return (f"its caption or media in the queue database no longer match the queued "
                f"content {ev.content_hash[:12]} (now {now_hash[:12]}); it was changed "
                "after queueing")
    # The media files' bytes are checked once, by the store as it hands them to the
    # adapter (Store.outgoing): those verified bytes are what is sent.
    team = store.team
    if team is None:
        return None
    where = team.allowed_signers
    author = _signed(ev.queued_by, ev.queued_sig)
    if author is None or author.doc != queue_doc(ev.post_id, ev.content_hash):
        return f"the author's signature ({ev.queued_by}) is missing or not for this content"
    if not team.verify(author):
        return (f"the author's signature ({ev.queued_by}) does not verify against {where} "
                "as it is now")
    if not ev.approval_required:
        return None
    approver = _signed(ev.approved_by, ev.approval)
    if approver is None:
        return "it has no signed approval (was its state changed in the database?)"
    if not approval_covers(approver.doc, ev.post_id, ev.content_hash, ev.delivery.id,
                           ev.due_at):
        return (f"the approval by {approver.who} does not cover this content at this time "
                "(it was changed or rescheduled after approval)")
    if not team.verify(approver):
        return (f"the approval by {approver.who} does not verify against {where} as it "
                "is now")
    if approver.who == ev.queued_by:
        return f"{approver.who} both queued and approved it; someone else must approve"
    refused = team.may_approve(approver.who, [ev.delivery.channel])
    return refused


def _signed(who: str | None, raw: str | None) -> Signed | None:
    if not who or not raw:
        return None
    try:
        doc = json.loads(raw)
        return Signed(who=who, doc=str(doc["doc"]), signature=str(doc["sig"]))
    except (ValueError, KeyError, TypeError):
        return None


def approval_note(store: Any, delivery_id: str) -> str | None:
    """``queue show``'s line about one delivery's approval, its signature checked now;
    None when it has none."""
    ev = store.claim_evidence(delivery_id)
    if not ev.approved_by:
        return None
    if ev.delivery.state == "awaiting_approval":
        return (f"held: the approval by {ev.approved_by} no longer holds (see last error); "
                "it needs a new approval")
    if store.team is None:
        return f"approved by {ev.approved_by} (login name only, no signature)"
    approver = _signed(ev.approved_by, ev.approval)
    if approver is None:
        return f"approved by {ev.approved_by}, NO signature"
    if not approval_covers(approver.doc, ev.post_id, ev.content_hash, ev.delivery.id,
                           ev.due_at):
        return f"approved by {approver.who}, signature NOT for this content and time"
    if not store.team.verify(approver):
        return (f"approved by {approver.who}, signature does NOT verify against "
                f"{store.team.allowed_signers}")
    return f"approved by {approver.who}, signature verified"
