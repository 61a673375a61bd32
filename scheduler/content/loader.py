"""Reading post files: front matter with line numbers, safe YAML only, every problem kept.

The loader never raises on bad input; it returns a :class:`LoadedPost` whose ``problems``
list says what is wrong, each with the line of the offending key, so ``postq validate``
can report everything in one pass. YAML goes through the safe loader only: a
``!!python/...`` tag is a problem to report, never code to run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scheduler.content.model import NESTED_MODELS, POST_ADAPTER, TEXT_FIELDS, known_keys
from scheduler.content.yamlnodes import NodeBuilder, YamlRefused
from scheduler.errors import Problem
from scheduler.textsafety import describe, hidden_characters

# Post files are short; anything far larger is a mistake (or an attack) and is refused
# before it is read, so a 10 MB file costs nothing.
MAX_POST_BYTES = 256 * 1024

_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class LoadedPost:
    """One post file as read: raw data, line map, model (when valid) and problems."""

    path: Path
    display: str
    text: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    body: str = ""
    body_line: int = 1
    model: Any = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def post_id(self) -> str:
        raw_id = self.raw.get("id")
        return str(raw_id) if isinstance(raw_id, str) and raw_id else self.path.stem

    def line_of(self, key: str) -> int | None:
        """Line of a field path like ``images[0].alt``, falling back to its parents."""
        probe = key
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.lines.get("", 1)

    def problem(self, field_name: str, message: str, line: int | None = None) -> None:
        self.problems.append(
            Problem(self.display, line if line is not None else self.line_of(field_name),
                    field_name, message)
        )


def _map_lines(node: yaml.Node, prefix: str, offset: int, out: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            path = f"{prefix}.{key}" if prefix else key
            out[path] = key_node.start_mark.line + offset
            _map_lines(value_node, path, offset, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            out[path] = item.start_mark.line + offset
            _map_lines(item, path, offset, out)


def _split_front_matter(post: LoadedPost) -> str | None:
    text = post.text
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        post.problem("", "no front matter: a post file starts with a line '---', then YAML, "
                         "then another '---' line", line=1)
        return None
    for i in range(1, len(lines)):
        if lines[i].rstrip() in ("---", "..."):
            rest = "\n".join(lines[i + 1:])
            post.body = rest.strip("\n")
            # Blank lines before the caption do not count towards its first line.
            post.body_line = i + 2 + (len(rest) - len(rest.lstrip("\n")))
            return "\n".join(lines[1:i])
    post.problem("", "the front matter is not closed: add a line '---' after the YAML",
                 line=1)
    return None


def read_post(path: Path, display: str | None = None) -> LoadedPost:
    """Read and shape-check one post file. Problems are collected, never raised."""
    post = LoadedPost(path=path, display=display or str(path))
    try:
        size = path.stat().st_size
    except OSError as exc:
        post.problem("", f"cannot read the file: {exc.strerror or exc}", line=0)
        return post
    if size > MAX_POST_BYTES:
        post.problem("", f"the file is {size:,} bytes; post files are limited to "
                         f"{MAX_POST_BYTES // 1024} KiB", line=0)
        return post
    if size == 0:
        post.problem("", "the file is empty", line=0)
        return post
    try:
        data = path.read_bytes()
    except OSError as exc:
        post.problem("", f"cannot read the file: {exc.strerror or exc}", line=0)
        return post
    try:
        post.text = data.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        post.problem("", f"not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}); save the file as UTF-8", line=line)
        return post
    if not post.text.strip():
        post.problem("", "the file is empty", line=0)
        return post
    yaml_text = _split_front_matter(post)
    if yaml_text is None:
        return post
    if _refuse_hidden_in_file(post, yaml_text):
        return post
    _parse_yaml(post, yaml_text)
    if post.problems:
        return post
    _refuse_hidden_in_values(post, post.raw, "")
    if post.problems:
        return post
    _check_model(post)
    return post


_KEY_ON_LINE = re.compile(r"^\s*(?:-\s+)?([\w.-]+)\s*:")


def _hidden_message(text: str) -> str | None:
    hidden = hidden_characters(text)
    if not hidden:
        return None
    names = ", ".join(dict.fromkeys(describe(c) for _, c in hidden))
    return (f"contains {names}: control, invisible and bidirectional characters can hide "
            "text from reviewers and rules; remove them")


def _refuse_hidden_in_file(post: LoadedPost, yaml_text: str) -> bool:
    """Refuse control, invisible and bidi characters anywhere in the file, by line."""
    front_lines = yaml_text.count("\n") + 1
    found = False
    for n, line in enumerate(post.text.split("\n"), start=1):
        message = _hidden_message(line)
        if message is None:
            continue
        found = True
        if 2 <= n <= front_lines + 1:
            key = _KEY_ON_LINE.match(line)
            post.problem(key.group(1) if key else "", message, line=n)
        elif n > front_lines + 1:
            post.problem("caption", message, line=n)
        else:
            post.problem("", message, line=n)
    return found


def _refuse_hidden_in_values(post: LoadedPost, value: Any, path: str) -> None:
    """The same refusal for characters written as YAML escapes (``"\\e[8m"``)."""
    if isinstance(value, str):
        message = _hidden_message(value)
        if message:
            post.problem(path, message)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_hidden_in_values(post, key, path)
            _refuse_hidden_in_values(post, item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _refuse_hidden_in_values(post, item, f"{path}[{i}]")


def _refuse_aliases(yaml_text: str) -> None:
    """Refuse an alias where it is written, before any node is composed or built: a
    400-byte alias bomb would otherwise expand to gigabytes."""
    for event in yaml.parse(yaml_text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise YamlRefused(event.start_mark.line, "",
                              "YAML aliases (*name) are not allowed; write the value out")


def _parse_yaml(post: LoadedPost, yaml_text: str) -> None:
    loader = _SafeLoader(yaml_text)
    try:
        if "*" in yaml_text:  # an alias is always written with a '*'
            _refuse_aliases(yaml_text)
        node = loader.get_single_node()
        data = NodeBuilder(loader, TEXT_FIELDS).build(node) if node is not None else None
    except YamlRefused as exc:
        post.problem(exc.field, str(exc), line=exc.line + 2)
        return
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        post.problem("", f"malformed YAML: {what}", line=line)
        return
    except RecursionError:
        post.problem("", "malformed YAML: nested too deeply", line=1)
        return
    finally:
        loader.dispose()
    if data is None:
        post.problem("", "the front matter is empty", line=1)
        return
    if not isinstance(data, dict):
        post.problem("", "the front matter must be a mapping of key: value lines", line=2)
        return
    post.raw = data
    post.lines[""] = 1
    _map_lines(node, "", 2, post.lines)


def _loc_to_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if parts:
                parts[-1] += f"[{item}]"
            continue
        parts.append(str(item))
    return ".".join(parts)


def _check_model(post: LoadedPost) -> None:
    kind = post.raw.get("kind")
    if kind is None:
        post.problem("kind", "missing: every post has a kind (careers_promo, "
                             "archive_exhibit or qa_announcement)", line=1)
        return
    try:
        post.model = POST_ADAPTER.validate_python(post.raw)
        if post.model.id is None:  # the file name is the id: templates ({id}) see it too
            post.model = post.model.model_copy(update={"id": post.path.stem})
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err["loc"])
            # The discriminated union prefixes the kind's tag; drop it.
            if loc and loc[0] == kind:
                loc = loc[1:]
            path = _loc_to_path(loc)
            # A missing key has no line of its own; point at the kind that requires it.
            line = post.line_of("kind") if err["type"] == "missing" else None
            post.problem(path or "kind", _message(err, loc, kind), line)


def _message(err: Any, loc: tuple[Any, ...], kind: Any) -> str:
    etype = err["type"]
    if etype == "union_tag_invalid":
        return (f"'{kind}' is not a kind; use careers_promo, archive_exhibit or "
                "qa_announcement")
    if etype == "extra_forbidden":
        key = str(loc[-1])
        if len(loc) == 1:
            choices = known_keys(kind)
        else:
            parent = str(loc[0])
            model = NESTED_MODELS.get(parent)
            choices = list(model.model_fields) if model else []
        close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        return f"unknown key{hint}"
    if etype == "missing":
        return f"missing: required for {kind}"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if etype in ("literal_error",) and loc and loc[-1] == "cleared_for_release":
        return msg
    return msg[0].lower() + msg[1:] if msg else msg
