"""Front matter built from YAML nodes: only the types the format needs, nothing expanded.

PyYAML's own constructors accept every standard tag (``!!binary`` decodes base64 into
bytes, ``!!set``, ``!!omap``...) and expand aliases, so a 400-byte alias bomb costs
gigabytes before any rule runs. Here the composed node tree is walked once: an alias
(a node met twice), a merge key, a duplicate key or a tag outside strings, numbers,
booleans, null, dates, lists and maps is refused with the line it is on, before anything
is built. Text fields keep the scalar exactly as written (``era: 1943``,
``catalogue_ref: 0042``), because YAML would otherwise turn them into numbers.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_Y = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_Y}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_PATH_INDEX = re.compile(r"\[\d+\]")


class YamlRefused(ValueError):
    """A node postq does not accept; ``line`` is 0-based within the YAML text."""

    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.field = field


def _shape(path: str) -> str:
    """``images[2].alt`` -> ``images[].alt``; ``overrides.x.caption`` -> ``overrides.*.caption``."""
    shaped = _PATH_INDEX.sub("[]", path)
    if shaped.startswith("overrides."):
        parts = shaped.split(".", 2)
        shaped = ".".join(["overrides", "*", *parts[2:]])
    return shaped


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_Y):] if tag.startswith(_Y) else tag


class NodeBuilder:
    """Turn one composed node tree into plain Python values, refusing what is not plain."""

    def __init__(self, loader: Any, text_fields: frozenset[str]) -> None:
        self._loader = loader
        self._text_fields = text_fields
        self._seen: set[int] = set()

    def build(self, node: yaml.Node, path: str = "") -> Any:
        if id(node) in self._seen:
            raise YamlRefused(node.start_mark.line, path,
                              "YAML aliases (*name) are not allowed; write the value out")
        self._seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != f"{_Y}seq":
                raise self._bad_tag(node, path)
            return [self.build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _bad_tag(self, node: yaml.Node, path: str) -> YamlRefused:
        return YamlRefused(node.start_mark.line, path,
                           f"YAML tag {_tag_name(node.tag)} is not allowed; post files hold "
                           "text, numbers, true/false, dates, lists and key: value maps only")

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[Any, Any]:
        if node.tag != f"{_Y}map":
            raise self._bad_tag(node, path)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == f"{_Y}merge":
                raise YamlRefused(key_node.start_mark.line, path,
                                  "YAML merge keys (<<) are not allowed; write the keys out")
            if not isinstance(key_node, yaml.ScalarNode) or id(key_node) in self._seen:
                raise YamlRefused(key_node.start_mark.line, path,
                                  "every key must be plain text, written out once")
            self._seen.add(id(key_node))
            key = self._scalar(key_node, path)
            if not isinstance(key, str):
                # Keys are names: a number or date as a key is read as written.
                key = str(key_node.value)
            child = f"{path}.{key}" if path else key
            if key in out:
                raise YamlRefused(key_node.start_mark.line, child,
                                  "duplicate key; each key may appear once")
            out[key] = self.build(value_node, child)
        return out

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        if node.tag not in _SCALAR_TAGS:
            raise self._bad_tag(node, path)
        text_field = _shape(path) in self._text_fields
        if node.tag == f"{_Y}str":
            return node.value
        if text_field and node.tag != f"{_Y}null":
            # The source text, not the number YAML reads: 0042 keeps its zeros.
            return node.value
        try:
            return self._loader.construct_object(node, deep=True)
        except (ValueError, OverflowError, yaml.YAMLError) as exc:
            raise YamlRefused(node.start_mark.line, path,
                              f"'{node.value}' is not a valid {_tag_name(node.tag)[2:]}: "
                              f"{exc}") from None
