"""The exact texts people sign, one function per kind of decision.

Each is plain text a person could read in the audit trail, and each names everything the
decision covers: an author signs the post id and its content hash; an approver signs the
hash, the revision and every delivery with its due time (the time is part of what was
approved, so moving it needs a new approval); other actions sign what they act on, the
reason and the moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

HEADER = "postq-signed-v1"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def queue_doc(post_id: str, content_hash: str) -> str:
    """What the author signs when queueing."""
    return f"{HEADER}\naction queue\npost {post_id}\ncontent {content_hash}\n"


def approval_doc(post_id: str, revision: int, content_hash: str,
                 deliveries: Iterable[tuple[str, datetime]]) -> str:
    """What the approver signs: the hash and each delivery id with its due time."""
    lines = [HEADER, "action approve", f"post {post_id}", f"revision {revision}",
             f"content {content_hash}"]
    lines += [f"delivery {did} due {_utc(due)}" for did, due in sorted(deliveries)]
    return "\n".join(lines) + "\n"


def approval_covers(doc: str, post_id: str, content_hash: str, delivery_id: str,
                    due: datetime) -> bool:
    """Whether an approval text covers this delivery of this content at this time."""
    lines = set(doc.splitlines())
    return (doc.startswith(HEADER + "\naction approve\n") and f"post {post_id}" in lines
            and f"content {content_hash}" in lines
            and f"delivery {delivery_id} due {_utc(due)}" in lines)


def action_doc(action: str, target: str, at: datetime, reason: str | None = None) -> str:
    """What a person signs for reject, cancel, pause, resume, retry and reschedule."""
    text = f"{HEADER}\naction {action}\ntarget {target}\nat {_utc(at)}\n"
    if reason:
        text += "reason " + " ".join(reason.split()) + "\n"
    return text
