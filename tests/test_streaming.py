"""Long listings stream: ``queue list``, ``log`` and ``log --csv`` (and the ``--json``
form) write rows as they are read, so memory stays flat whatever the history's size.

Issue 17 measured 2.0 GB for ``queue list`` at a million deliveries and 4.2 GB for
``log --csv`` at four million events. Here the same commands run in a child process on
a queue of 4,000 deliveries and on one ten times larger; the child's peak resident
memory (``VmHWM``, see :data:`tests.bulk_queue.MEASURE`) must not grow with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scheduler.store.report import json_lines
from tests.bulk_queue import fill, measured, template

REPO = Path(__file__).resolve().parents[1]

#: How much more a listing ten times longer may take at its peak.
GROWTH_LIMIT_KIB = 12 * 1024


def make_queue(root: Path, deliveries: int) -> Path:
    root.mkdir()
    (root / "postq.toml").write_text(
        '[postq]\ntimezone = "Europe/London"\ndata_dir = ".postq"\n\n'
        '[channels.outbox]\nadapter = "outbox"\n', encoding="utf-8")
    db = root / ".postq" / "queue.sqlite3"
    template(root / ".postq", f"sqlite:///{db}")
    fill(db, deliveries)
    return root


def peak(root: Path, *args: str) -> tuple[int, int]:
    """(peak KiB, lines printed) of ``postq --config ... ARGS`` in a child process."""
    out = root / "out.txt"
    _took, kib, _err = measured(root, ["--config", str(root / "postq.toml"), *args], out)
    with open(out, "rb") as fh:
        lines = sum(1 for _ in fh)
    return kib, lines


@pytest.fixture(scope="module")
def queues(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("streaming")
    return make_queue(base / "small", 4_000), make_queue(base / "large", 40_000)


@pytest.mark.parametrize("args", [("queue", "list"), ("queue", "list", "--json"),
                                  ("log",), ("log", "--csv")],
                         ids=["list", "list-json", "log", "log-csv"])
def test_peak_memory_does_not_grow_with_the_listing(queues: tuple[Path, Path],
                                                    args: tuple[str, ...]) -> None:
    small, large = queues
    small_kib, small_lines = peak(small, *args)
    large_kib, large_lines = peak(large, *args)
    # Everything was printed: ten times the rows, ten times the lines (give or take the
    # header and the JSON's fixed lines).
    assert large_lines > 9 * small_lines > 9 * 4_000
    assert large_kib - small_kib < GROWTH_LIMIT_KIB, (small_kib, large_kib)


@pytest.mark.parametrize("count", [0, 1, 3])
def test_streamed_json_is_the_same_text_as_json_dumps(count: int) -> None:
    head = {"pauses": [{"channel": None, "reason": "café"}]}
    items = [{"delivery_id": f"d{i}", "nested": {"a": [1, 2]}, "none": None}
             for i in range(count)]
    streamed = "\n".join(json_lines(head, "deliveries", iter(items)))
    assert streamed == json.dumps({**head, "deliveries": items}, indent=2)
