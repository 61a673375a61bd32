"""A large SQLite queue in seconds: rows copied in bulk SQL from one post queued normally.

Queueing a million deliveries through the store takes far too long for a test or a
benchmark, and what is measured is reading, so the rows are made by SQL: one real post is
queued through the :class:`~scheduler.store.Store` (so every column holds what postq
writes), then ``INSERT ... SELECT`` over a counter copies it, with its own ids, due times
and states, ``posts`` rows first. Most deliveries are history (published, one per
``step`` minutes going back), the rest are due ahead, as on a queue that has run for years.
Each delivery gets one event. Event chains are copied, not recomputed: the trail of such a
queue does not verify, which no read measured here looks at.

Nothing here imports pytest, so ``bench/queue_list.py`` uses it too.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

CHANNELS = ("outbox", "x", "bluesky", "mastodon")
#: Columns of ``posts`` copied from the template row (everything but the id and post_id).
_POST_COLUMNS = ("revision", "current", "kind", "language", "source_path", "source_text",
                 "content_hash", "publish_at", "publish_before_reason", "details",
                 "approval_required", "queued_by", "queued_at", "approved_by",
                 "approved_at", "approved_hash", "queued_sig")
_DELIVERY_COLUMNS = ("revision", "caption", "attempts", "claimed_by",
                     "claimed_at", "remote_id", "remote_url", "last_error", "updated_at",
                     "remote_state", "reminder", "claim_token", "approved_by", "approval")
_FORMAT = "%Y-%m-%d %H:%M:%S"  # SQLAlchemy's SQLite layout, microseconds appended


def fill(db: Path, deliveries: int, *, now: datetime | None = None, ahead: float = 0.05,
         step_minutes: int = 7) -> None:
    """Make the queue in ``db`` (already holding one post queued on :data:`CHANNELS`,
    see :func:`template`) hold about ``deliveries`` more: a share ``ahead`` scheduled in
    the future, the rest published in the past, and one event each."""
    now = now or datetime.now(UTC)
    posts = deliveries // len(CHANNELS)
    future = int(posts * ahead)
    base = (now - timedelta(minutes=step_minutes * (posts - future))).strftime(_FORMAT)
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        with conn:
            cols = ", ".join(_POST_COLUMNS)
            conn.execute(
                f"""WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
                                           WHERE i < ? - 1)
                    INSERT INTO posts (post_id, publish_before, {cols})
                    SELECT printf('bulk-%07d', i),
                           strftime('{_FORMAT}', ?, '+' || (i * ? + 20160) || ' minutes')
                             || '.000000',
                           {", ".join("t." + c for c in _POST_COLUMNS)}
                    FROM n, (SELECT * FROM posts ORDER BY id LIMIT 1) t""",
                (posts, base, step_minutes))
            dcols = ", ".join(_DELIVERY_COLUMNS)
            conn.execute(
                f"""INSERT INTO deliveries (id, post_row, post_id, channel, adapter, state,
                                            due_at, wake_at, published_at, {dcols})
                    SELECT p.post_id || '@' || ch.channel || '#r1', p.id, p.post_id,
                           ch.channel, ch.adapter,
                           CASE WHEN p.k < :past THEN 'published' ELSE 'scheduled' END,
                           p.due, p.due, CASE WHEN p.k < :past THEN p.due END,
                           {", ".join("t." + c for c in _DELIVERY_COLUMNS)}
                    FROM (SELECT id, post_id, CAST(substr(post_id, 6) AS INTEGER) AS k,
                                 strftime('{_FORMAT}', :base, '+' || (CAST(substr(post_id, 6)
                                          AS INTEGER) * :step) || ' minutes') || '.000000'
                                   AS due
                          FROM posts WHERE post_id LIKE 'bulk-%') p
                    CROSS JOIN (SELECT channel, adapter FROM deliveries
                                WHERE post_id = 'template') ch
                    CROSS JOIN (SELECT * FROM deliveries WHERE post_id = 'template'
                                LIMIT 1) t""",
                {"past": posts - future, "base": base, "step": step_minutes})
            conn.execute(
                """INSERT INTO events (at, who, action, post_id, delivery_id, channel,
                                       state_before, state_after, reason, prev_chain, chain,
                                       signed)
                   SELECT d.due_at, 'publisher', 'publish', d.post_id, d.id, d.channel,
                          'publishing', d.state, 'bulk', e.prev_chain, e.chain, NULL
                   FROM deliveries d, (SELECT * FROM events ORDER BY id DESC LIMIT 1) e
                   WHERE d.post_id LIKE 'bulk-%' ORDER BY d.due_at""")
    finally:
        conn.close()


def template(root: Path, url: str) -> None:
    """Queue the one post :func:`fill` copies, through the real store."""
    from scheduler.store import Store
    from tests.test_store_support import image, snap

    store = Store(url, root / "media")
    try:
        store.add(snap("template", CHANNELS, images=(image(),)),
                  due_at=datetime.now(UTC) + timedelta(days=400), require_approval=False)
    finally:
        store.close()


#: Runs ``postq ARGS`` in this child and writes "<exit code> <VmHWM KiB>" to the file
#: named by POSTQ_TEST_HWM. VmHWM, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over
#: exec, so it would report the (large) process that started this one.
MEASURE = """
import os, runpy, sys
sys.argv = ["postq", *sys.argv[1:]]
try:
    runpy.run_module("scheduler", run_name="__main__")
except SystemExit as exc:
    code = exc.code or 0
else:
    code = 0
with open("/proc/self/status") as status:
    hwm = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:"))
with open(os.environ["POSTQ_TEST_HWM"], "w") as out:
    out.write(f"{code} {hwm}")
"""


def measured(root: Path, args: list[str], out: Path | None = None) -> tuple[float, int, str]:
    """``postq ARGS`` in a fresh process run from ``root``, its output to ``out`` (or
    thrown away): ``(wall seconds, peak KiB, stderr)``; raises if it failed."""
    import os
    import subprocess
    import sys
    import time

    repo = Path(__file__).resolve().parents[1]
    hwm = root / ".hwm"
    began = time.perf_counter()
    with open(out or os.devnull, "wb") as sink:
        done = subprocess.run([sys.executable, "-c", MEASURE, *args], stdout=sink,
                              stderr=subprocess.PIPE, timeout=1800, cwd=root,
                              env={**os.environ, "PYTHONPATH": str(repo),
                                   "POSTQ_TEST_HWM": str(hwm)})
    took = time.perf_counter() - began
    code, kib = hwm.read_text().split()
    if done.returncode != 0 or code != "0":
        raise RuntimeError(f"postq {' '.join(args)} failed: {done.stderr.decode()[-2000:]}")
    return took, int(kib), done.stderr.decode()
