"""Arbitrary bytes and arbitrary YAML never raise anything but postq's own reports."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.adapters import AdapterRegistry
from scheduler.config import settings_from_dict
from scheduler.content.loader import read_post
from scheduler.content.rules import RuleContext, run_rules

SETTINGS = settings_from_dict({
    "policy": {"link_hosts": ["www.example.gov.uk"], "deny_terms": ["codeword"]},
    "channels": {"outbox": {"adapter": "outbox"}, "x": {"adapter": "x"}},
}, None)
EXAMPLES = int(os.environ.get("POSTQ_FUZZ_EXAMPLES", "150"))
CTX = RuleContext.create(SETTINGS, AdapterRegistry({}))

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.dates(), st.datetimes())
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=12)
keys = st.sampled_from(["kind", "id", "publish_at", "channels", "role", "closing_date",
                        "apply_url", "images", "overlay", "overrides", "hashtags", "event_at",
                        "topic", "host", "venue", "exhibit", "cleared_for_release", "junk"])
kinds = st.sampled_from(["careers_promo", "archive_exhibit", "qa_announcement", "other"])


def _check(path: Path) -> None:
    post = read_post(path, "post.md")
    run_rules(post, CTX)
    for problem in post.problems:
        assert str(problem).startswith("post.md")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "post.md"
    path.write_bytes(data)
    _check(path)
    path.write_bytes(b"---\n" + data + b"\n---\nbody")
    _check(path)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(keys, values, max_size=10), kind=kinds)
def test_arbitrary_yaml(tmp_path: Path, doc: dict, kind: str) -> None:
    doc = {"kind": kind, **doc}
    path = tmp_path / "post.md"
    path.write_text("---\n" + yaml.safe_dump(doc, allow_unicode=True) + "---\nbody\n",
                    encoding="utf-8")
    _check(path)
