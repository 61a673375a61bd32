"""``postq archive``: every delivery that went out, as a BagIt bag, with an offline index.

BagIt (RFC 8493, https://www.rfc-editor.org/rfc/rfc8493) is the Library of Congress
packaging format archives ingest: a folder whose ``data/`` payload is listed with its
checksums in ``manifest-sha256.txt``, so any later change is detected by ``bagit``'s
validation. Each bag holds, for one delivery: ``caption.txt`` (exactly what was sent),
``media/`` (the approved bytes, checked against their hashes as they are copied),
``record.json`` (alt text, remote id and URL, what the platform answered and the adapter
recorded, who queued and who approved, every event) — and nothing is ever rewritten.

Bags are named after the delivery and its state, so running the archive again adds only
what is new: a delivery published last week and retracted today gets a second bag
recording the retraction, and the first one stays as it was.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scheduler.errors import StoreError
from scheduler.timeutil import utc_iso

#: States worth a bag: settled ones (a ``retracting`` delivery is archived once settled).
ARCHIVED_STATES = ("published", "retracted", "retract_failed", "retract_manual")
_UNSAFE = re.compile(r"[^A-Za-z0-9._@~+-]")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
               "image/gif": ".gif"}
INDEX = "index.html"


@dataclass
class ArchiveResult:
    """What one run did: the bags it added, how many were there already, the index."""

    out: Path
    added: list[str] = field(default_factory=list)
    kept: int = 0

    @property
    def index(self) -> Path:
        return self.out / INDEX


def bag_name(row: Any) -> str:
    rem = f"~{row.reminder}" if row.reminder else ""
    return _UNSAFE.sub("_", f"{row.post_id}@{row.channel}{rem}-r{row.revision}--{row.state}")


def write_archive(store: Any, out: Path, since: datetime | None = None,
                  until: datetime | None = None, *, organisation: str = "") -> ArchiveResult:
    """Add a bag for every delivery that went out in [since, until) and is not archived
    yet, then rewrite ``index.html`` over every bag in ``out``."""
    import bagit

    result = ArchiveResult(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the archive folder {out}: {exc.strerror or exc}") \
            from None
    for row in store.archivable(since, until):
        if row.state not in ARCHIVED_STATES:
            continue
        name = bag_name(row)
        if (out / name).exists():
            result.kept += 1
            continue
        tmp = out / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            _write_payload(store, row, tmp)
            info = {"External-Identifier": row.id,
                    "External-Description": f"{row.ref} revision {row.revision}, {row.state}",
                    "Bag-Group-Identifier": row.post_id}
            if organisation:
                info["Source-Organization"] = organisation
            bagit.make_bag(str(tmp), bag_info=info, checksums=["sha256"])
            os.rename(tmp, out / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        result.added.append(name)
    _write_index(out)
    return result


def _write_payload(store: Any, row: Any, folder: Path) -> None:
    """caption.txt, media/ and record.json of one delivery into ``folder``."""
    (folder / "caption.txt").write_text(row.caption, encoding="utf-8")
    media = []
    if row.media:
        (folder / "media").mkdir()
    for m in row.media:
        data = store.media.verify(m.path, m.sha256)  # the approved bytes, or an error
        file = f"media/{m.position + 1}{_EXTENSIONS.get(m.mime, '.bin')}"
        (folder / file).write_bytes(data)
        media.append({"file": file, "alt": m.alt, "mime": m.mime, "sha256": m.sha256,
                      "width": m.width, "height": m.height, "source": m.source})
    post = store.post_row(row.post_id, row.revision)
    events = [e.as_dict() for e in store.events(row.post_id)
              if e.delivery_id in (row.id, None)]
    record = {
        "delivery": row.as_dict(),
        "caption": row.caption,
        "media": media,
        "platform_answer": {"remote_id": row.remote_id, "url": row.remote_url,
                            "recorded": row.remote_state},
        "post": {
            "post_id": post["post_id"], "revision": post["revision"], "kind": post["kind"],
            "language": post["language"], "content_hash": post["content_hash"],
            "source_path": post["source_path"], "source_text": post["source_text"],
            "queued_by": post["queued_by"], "queued_at": _iso(post["queued_at"]),
            "approval_required": bool(post["approval_required"]),
            "approved_by": post["approved_by"], "approved_at": _iso(post["approved_at"]),
            "approved_hash": post["approved_hash"],
        },
        # With [team]: the author's and the approver's signed statements (OpenSSH
        # signatures; `ssh-keygen -Y verify` checks them against the allowed-signers file).
        "signatures": _signatures(store, row.id),
        "events": events,
    }
    (folder / "record.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def _signatures(store: Any, delivery_id: str) -> dict[str, Any]:
    ev = store.claim_evidence(delivery_id)
    out: dict[str, Any] = {}
    for role, who, raw in (("author", ev.queued_by, ev.queued_sig),
                           ("approver", ev.approved_by, ev.approval)):
        if raw:
            try:
                out[role] = {"who": who, **json.loads(raw)}
            except (ValueError, TypeError):
                out[role] = {"who": who, "unreadable": raw}
    return out


def _iso(moment: Any) -> str | None:
    return utc_iso(moment) if isinstance(moment, datetime) else None


# -- the offline index ------------------------------------------------------------------

_STYLE = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem;max-width:70rem;color:#0b0c0c}
article{border:1px solid #b1b4b6;padding:1rem;margin:0 0 1.5rem}
h2{margin:.2rem 0;font-size:1.1rem} .state{font-weight:bold} .retracted{color:#d4351c}
pre{white-space:pre-wrap;background:#f3f2f1;padding:.5rem} img{max-width:14rem;margin:.3rem}
table{border-collapse:collapse;font-size:13px} td,th{border:1px solid #b1b4b6;padding:2px 6px}"""


def _write_index(out: Path) -> None:
    """``index.html`` over every bag in ``out``: plain HTML, no script, no network."""
    cards = []
    for bag in sorted(p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")):
        try:
            record = json.loads((bag / "data" / "record.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        cards.append(_card(bag.name, record))
    page = ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>postq records archive</title>"
            f"<style>{_STYLE}</style></head><body>\n<h1>postq records archive</h1>\n"
            f"<p>{len(cards)} deliveries. Each folder is a BagIt bag; its "
            "<code>manifest-sha256.txt</code> lists a checksum for every file.</p>\n"
            + "\n".join(cards) + "\n</body></html>\n")
    tmp = out / f".{INDEX}.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out / INDEX)


def _card(name: str, record: dict[str, Any]) -> str:
    e = html.escape
    d, post = record["delivery"], record["post"]
    ref = f"{d['post_id']}@{d['channel']}"
    answer = record["platform_answer"]
    link = (f'<a href="{e(answer["url"])}">{e(answer["url"])}</a>' if answer.get("url")
            else e(str(answer.get("remote_id") or "")))
    images = "".join(
        f'<figure><img src="{e(name)}/data/{e(m["file"])}" alt="{e(m["alt"])}">'
        f"<figcaption>{e(m['alt'])}</figcaption></figure>" for m in record["media"])
    rows = "".join(
        f"<tr><td>{e(str(ev['at']))}</td><td>{e(str(ev['who']))}</td>"
        f"<td>{e(str(ev['action']))}</td><td>{e(str(ev['state_after'] or ''))}</td>"
        f"<td>{e(str(ev['reason'] or ''))}</td></tr>" for ev in record["events"])
    css = "state retracted" if d["state"].startswith("retract") else "state"
    return (
        f'<article id="{e(name)}" data-delivery="{e(d["delivery_id"])}">'
        f"<h2>{e(ref)} (revision {d['revision']})</h2>"
        f'<p class="{css}">{e(d["state"])}</p>'
        f"<p>Published {e(str(d['published_at']))} at {link}</p>"
        f"<p>Queued by {e(str(post['queued_by']))}; approved by "
        f"{e(str(post['approved_by'] or 'nobody (approval not required)'))}</p>"
        f'<pre class="caption">{e(record["caption"])}</pre>{images}'
        f"<table><tr><th>when</th><th>who</th><th>what</th><th>state</th><th>why</th></tr>"
        f"{rows}</table>"
        f'<p><a href="{e(name)}/data/record.json">record.json</a></p></article>')
