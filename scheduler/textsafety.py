"""Characters that must not hide anything: one normaliser, one refusal, one way to show.

Three questions every piece of post text is asked, answered here and nowhere else:

* :func:`hidden_characters` — does it hold a control, bidirectional or invisible
  character? Such a character can hide text from a reviewer (``ESC[8m`` in a terminal,
  a right-to-left override on a web page) or split a deny-listed word so no rule sees it,
  so post files may not contain them at all.
* :func:`fold` — the form deny-list matching compares: compatibility-normalised (NFKC:
  fullwidth and mathematical letters become plain ones), invisible characters and
  accents removed, look-alike letters mapped to the Latin letter they imitate (Unicode's
  confusables data, as shipped by the ``confusable-homoglyphs`` package), case-folded
  and with every run of white space or line breaks collapsed into one space.
* :func:`show` — how a command prints text it did not write: every control or invisible
  character as an escape (``\\x1b``, ``\\u200b``), so a terminal never interprets it.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

# Bidirectional controls (Unicode UAX #9): they reorder what a reader sees.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# Characters that draw nothing (format characters and fillers) besides the bidi set.
_INVISIBLE = ("\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2028\u2029"
              "\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
              "\U0001d173-\U0001d17a\U000e0000-\U000e007f")
# C0 controls except tab and line feed, DEL and the C1 controls (NEL, CSI...).
_CONTROL = "\x00-\x08\x0b-\x1f\x7f-\x9f"
# The ASCII controls show() escapes, as a str.translate table that deletes them: on long
# plain text, comparing lengths after deleting is several times quicker than a search.
_ASCII_CONTROLS = dict.fromkeys([*range(0x09), *range(0x0B, 0x20), 0x7F])


class _Patterns(NamedTuple):
    hidden: Any
    # Emoji need two invisible characters: a zero-width joiner between pictographs
    # (family, profession emoji) and tag characters in subdivision flags (Wales, Scotland).
    emoji_zwj: Any
    flag_tags: Any
    space: Any
    marks: Any


@lru_cache(maxsize=1)
def _re() -> _Patterns:
    """The patterns, compiled on first use: the ``regex`` module takes about 25 ms to
    import and compile the Unicode property classes, which a listing of plain text (every
    ``queue list`` or ``log --csv`` of ASCII ids and reasons) never needs."""
    import regex

    return _Patterns(
        hidden=regex.compile(f"[{_CONTROL}{_BIDI}{_INVISIBLE}]"),
        emoji_zwj=regex.compile(
            r"(?<=[\p{Extended_Pictographic}\uFE0F\U0001F3FB-\U0001F3FF])\u200D"
            r"(?=\p{Extended_Pictographic})"),
        flag_tags=regex.compile(r"(?<=\U0001F3F4)[\U000E0020-\U000E007E]+\U000E007F"),
        space=regex.compile(r"\s+"),
        marks=regex.compile(r"\p{Mn}+"),
    )


def _without_emoji_joiners(text: str) -> str:
    # Replaced by a character of the same length so offsets stay true.
    text = _re().emoji_zwj.sub("\uE000", text)
    return _re().flag_tags.sub(lambda m: "\uE000" * len(m.group(0)), text)


def hidden_characters(text: str) -> list[tuple[int, str]]:
    """``(offset, character)`` for every control, bidi or invisible character in ``text``.

    Tab and line feed are text; a carriage return on its own is not (line endings are
    normalised to ``\\n`` when a post file is read)."""
    if text.isascii() and text.isprintable():
        return []
    return [(m.start(), m.group(0)) for m in _re().hidden.finditer(_without_emoji_joiners(text))]


def describe(char: str) -> str:
    """``U+200B (ZERO WIDTH SPACE)``: how a message names a character nobody can see."""
    name = unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = f"control character {show(char)}"
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"


def show(text: str) -> str:
    """``text`` with every control, bidi or invisible character written as an escape.

    Line feeds and tabs are kept. Every command that prints text from a post file or the
    queue passes it through here, so ``ESC[8m`` prints as ``\\x1b[8m`` instead of hiding
    what follows it."""
    # Long listings (log --csv, the calendar) are shown a piece of many lines at a time.
    # The ellipsis of a cell cut in the middle (report.elide_middle) is the one character
    # beyond ASCII a plain listing holds: without it, a plain text stays out of the
    # regex search (its module alone takes longer to load than a listing to draw).
    plain = text if text.isascii() else text.replace("\u2026", "")
    if plain.isascii() and (plain.isprintable()
                            or len(plain.translate(_ASCII_CONTROLS)) == len(plain)):
        return text
    marks = {i for i, _ in hidden_characters(text)}
    if not marks:
        return text
    out = []
    for i, c in enumerate(text):
        if i in marks:
            cp = ord(c)
            out.append(f"\\x{cp:02x}" if cp <= 0xFF else
                       f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}")
        else:
            out.append(c)
    return "".join(out)


@lru_cache(maxsize=1)
def _confusables() -> dict[int, str]:
    """Each non-ASCII character that imitates an ASCII letter or digit, and that letter,
    as a ``str.translate`` table.

    The data is Unicode's confusables.txt as packaged by ``confusable-homoglyphs``
    (https://www.unicode.org/Public/security/latest/confusables.txt)."""
    import confusable_homoglyphs

    data_file = Path(confusable_homoglyphs.__file__).with_name("confusables.json")
    data: dict[str, list[dict[str, str]]] = json.loads(data_file.read_text(encoding="utf-8"))
    table: dict[int, str] = {}
    for char, homoglyphs in data.items():
        if len(char) != 1 or char.isascii():
            continue
        targets = sorted((h["c"] for h in homoglyphs
                          if len(h["c"]) == 1 and h["c"].isascii() and h["c"].isalnum()),
                         key=lambda c: (not c.isalpha(), not c.islower(), c))
        if targets:
            table[ord(char)] = targets[0]
    return table


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """The form deny-listed terms are matched in (see the module docstring).

    Cached: the same caption is folded once for every channel that sends it."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isprintable():
        text = _re().hidden.sub("", text)
    if not text.isascii():
        text = _re().marks.sub("", unicodedata.normalize("NFD", text))
        text = text.translate(_confusables())
    return _re().space.sub(" ", text.casefold()).strip()
