"""A third-party adapter, installed as a real distribution, publishes through the registry."""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import entry_points

import pytest

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import Adapter
from scheduler.errors import AdapterNotFound

PLUGIN_MODULE = '''
"""A postq adapter from somebody else: appends each post to a JSON-lines file."""

import json
from pathlib import Path

from scheduler.adapters.base import Adapter, AdapterSettings, Published
from scheduler.platforms import PlatformProfile, count_codepoints


class JsonlSettings(AdapterSettings):
    file: str


class JsonlAdapter(Adapter):
    platform = "jsonl"
    settings_model = JsonlSettings
    profile_override = PlatformProfile(
        name="jsonl", text_limit=1000, counter=count_codepoints, counting="characters",
        max_hashtags=None, max_links=None, max_mentions=None, max_images=4,
        image_max_bytes=1_000_000, aspect_min=0.1, aspect_max=10.0,
        render_size=(1080, 1080), min_width=100, max_width=4096, alt_limit=1000,
        formats=("jpeg",),
    )

    def publish(self, post):
        path = Path(self.settings.file)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"delivery_id": post.delivery_id, "caption": post.caption,
                                 "images": [i.alt for i in post.images]}) + "\\n")
        return Published(remote_id=post.delivery_id, url=path.as_uri())

    def check(self, post):
        path = Path(self.settings.file)
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if json.loads(line)["delivery_id"] == post.delivery_id:
                    return Published(remote_id=post.delivery_id, url=path.as_uri())
        return None
'''


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """A distribution `postq-jsonl` laid out as an installer leaves it in site-packages."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "postq_jsonl.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    dist = site / "postq_jsonl-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: postq-jsonl\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
            [postq.adapters]
            jsonl = postq_jsonl:JsonlAdapter
        """), encoding="utf-8")
    (dist / "RECORD").write_text("", encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    yield site


def test_plugin_publishes_through_registry(plugin_on_path, tmp_path, make_post, make_image):
    assert "jsonl" in [ep.name for ep in entry_points(group="postq.adapters")]
    registry = AdapterRegistry.from_entry_points()
    assert {"outbox", "webhook", "mastodon", "bluesky", "jsonl"} <= set(registry.names())

    cls = registry.get("jsonl")
    assert issubclass(cls, Adapter)
    assert registry.profile_for("jsonl").text_limit == 1000

    out = tmp_path / "posts.jsonl"
    settings = cls.parse_settings("mine", {"adapter": "jsonl", "file": str(out)})
    adapter = cls("mine", settings)
    post = make_post("Hello from a plug-in", (make_image(alt="An exhibit."),),
                     delivery_id="p-1")
    assert adapter.check(post) is None
    published = adapter.publish(post)
    assert published.remote_id == "p-1"
    assert json.loads(out.read_text(encoding="utf-8")) == {
        "delivery_id": "p-1", "caption": "Hello from a plug-in", "images": ["An exhibit."]}
    assert adapter.check(post) == published


def test_plugin_settings_are_checked(plugin_on_path):
    cls = AdapterRegistry.from_entry_points().get("jsonl")
    from scheduler.errors import ConfigError

    with pytest.raises(ConfigError, match="channels.mine.fiel: unknown key"):
        cls.parse_settings("mine", {"adapter": "jsonl", "file": "x", "fiel": "y"})


def test_built_ins_load_through_entry_points():
    registry = AdapterRegistry.from_entry_points()
    for name in ("outbox", "webhook", "mastodon", "bluesky"):
        assert issubclass(registry.get(name), Adapter)
        assert registry.get(name).platform == name


def test_unknown_adapter_names_the_installed_ones(plugin_on_path):
    registry = AdapterRegistry.from_entry_points()
    with pytest.raises(AdapterNotFound) as info:
        registry.get("myspace")
    message = str(info.value)
    assert "myspace" in message
    for name in ("bluesky", "jsonl", "mastodon", "outbox", "webhook"):
        assert name in message
