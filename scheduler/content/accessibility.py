"""Accessible-writing checks over what each channel publishes.

The checks follow government guidance on accessible social media
(https://gds.blog.gov.uk/2024/01/17/how-to-make-your-social-media-accessible/ and
https://www.gov.uk/guidance/content-design/writing-for-gov-uk): CamelCase hashtags,
few emoji and none mid-sentence, no "fancy" Unicode letters, no words in capitals,
sentences of 25 words or fewer, one link, and alt text that describes the picture.

They are warnings unless ``[policy] accessibility = "error"``: a reader can still use a
post that breaks them, but a screen-reader user has a harder time. Every message says why
the thing is a problem and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import regex

from scheduler.platforms import HASHTAG_RE, find_urls

#: Longest sentence, in words (GOV.UK content design: 25 words).
MAX_SENTENCE_WORDS = 25
#: Shorter all-lower-case hashtags ("#jobs") are not looked at for words run together.
RUN_TOGETHER_LETTERS = 6
#: A word in capitals at least this long is shouting, not an acronym (GCHQ, NHS, MI5).
SHOUTING_LETTERS = 5

_EMOJI_RE = regex.compile(r"\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*"
                          r"|\p{Regional_Indicator}{2}")
# Mathematical alphanumerics (U+1D400-1D7FF), full-width Latin letters, circled and
# parenthesised letters: styled look-alikes that screen readers name one by one.
_FANCY_RE = regex.compile(r"[\U0001D400-\U0001D7FF\uFF21-\uFF3A\uFF41-\uFF5A"
                          r"\u24B6-\u24E9\u249C-\u24B5\U0001F130-\U0001F189]+")
_WORD_RE = regex.compile(r"[\p{L}\p{N}][\p{L}\p{N}'’-]*")
_SENTENCE_END = regex.compile(r"(?<=[.!?])\s+|\n+")
_ALT_OPENERS = ("image of", "picture of", "photo of", "photograph of", "graphic of")


def _plain(text: str) -> str:
    """``text`` with its links cut out (a link is no word, emoji or capital to judge)."""
    out, last = [], 0
    for start, end, _url in find_urls(text):
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return " ".join(out)


def run_together_words(tag: str) -> list[str] | None:
    """The English words an all-lower-case hashtag is made of, or None when it is one
    word (``apprenticeships``), has capitals already, or is no English (``gyrfaoedd``).

    Split by word frequencies (wordninja, English Wikipedia unigrams): a tag that splits
    into real words averages several letters a word; a word it does not know falls apart
    into one- and two-letter scraps, which are not taken for words."""
    if len(tag) < RUN_TOGETHER_LETTERS or not tag.isalpha() or not tag.islower():
        return None
    import wordninja

    words = [str(w) for w in wordninja.split(tag)]
    if len(words) < 2 or len(tag) / len(words) < 3.5:
        return None
    if any(len(w) == 1 and w not in ("a", "i") for w in words):
        return None
    return words


def caption_findings(text: str, max_emoji: int) -> Iterator[str]:
    """Every accessibility problem of one caption as sent, as one message each."""
    seen: set[str] = set()
    for m in HASHTAG_RE.finditer(text):
        tag = m.group(1)
        words = run_together_words(tag)
        if words and tag not in seen:
            seen.add(tag)
            camel = "".join(w[:1].upper() + w[1:] for w in words)
            yield (f"hashtag #{tag} runs words together in lower case: screen readers read it "
                   f"as one long word; capitalise each word (CamelCase): #{camel}")
    plain = _plain(text)
    emoji = list(_EMOJI_RE.finditer(plain))
    if len(emoji) > max_emoji:
        yield (f"{len(emoji)} emoji; screen readers read out each one's full name, so use at "
               f"most {max_emoji} ([policy] max_emoji)")
    for m in emoji:
        before = plain[:m.start()].rstrip(" ")
        after = plain[m.end():].lstrip(" ")
        if before[-1:].isalnum() and after[:1].isalnum():
            yield (f"emoji {m.group(0)} in the middle of a sentence: a screen reader stops to "
                   "read its name and the sentence loses its thread; move it to the end")
            break
    for m in _FANCY_RE.finditer(plain):
        yield (f"'{m.group(0)}' is written in styled Unicode letters: screen readers spell "
               "them out one by one or skip them, and search cannot find them; use ordinary "
               "letters")
        break
    shouted = [w for w in _WORD_RE.findall(regex.sub(HASHTAG_RE, " ", plain))
               if sum(c.isalpha() for c in w) >= SHOUTING_LETTERS and w.isupper()]
    if shouted:
        yield (f"'{shouted[0]}' is in capitals: capitals are harder to read and some screen "
               "readers spell them out letter by letter; write it in ordinary case")
    for sentence in _SENTENCE_END.split(regex.sub(HASHTAG_RE, " ", plain)):
        words = _WORD_RE.findall(sentence)
        if len(words) > MAX_SENTENCE_WORDS:
            yield (f"the sentence starting '{' '.join(words[:5])}' has {len(words)} words: "
                   f"long sentences are hard to follow; split it into sentences of at most "
                   f"{MAX_SENTENCE_WORDS} words")
    links = find_urls(text)
    if len(links) > 1:
        yield (f"{len(links)} links: each one is read out in full and the reader must choose; "
               "keep one link and move the others to the page it leads to")


def alt_findings(alt: str, caption: str) -> Iterator[str]:
    """Alt text that wastes the listener's time: a stock opener, or the caption again."""
    lowered = " ".join(alt.casefold().split())
    for opener in _ALT_OPENERS:
        if lowered.startswith(opener):
            yield (f"alt text starts '{alt[:len(opener)]}': screen readers already say it is "
                   "an image; start with what it shows")
            break
    spoken = " ".join(caption.casefold().split())
    if lowered and len(lowered) >= 12 and lowered.rstrip(".") in spoken:
        yield ("the alt text repeats the caption: a screen-reader user hears it twice and "
               "learns nothing about the picture; describe what the image shows")


def findings(model: Any, captions: dict[str, str], max_emoji: int) -> list[tuple[str, str]]:
    """``(field, message)`` for each problem across a post's channels, each once.

    ``captions`` maps each channel to its caption as composed for that channel, since
    hashtags and links are added per channel."""
    out: list[tuple[str, str]] = []
    for channel, text in captions.items():
        override = model.overrides.get(channel)
        field = f"overrides.{channel}.caption" if override and override.caption else "caption"
        for msg in caption_findings(text, max_emoji):
            if (field, msg) not in out:
                out.append((field, msg))
        for n, img in enumerate(model.images):
            for msg in alt_findings(img.alt, text):
                if (f"images[{n}].alt", msg) not in out:
                    out.append((f"images[{n}].alt", msg))
    video = getattr(model, "video", None)
    if video is not None and video.alt:
        for msg in alt_findings(video.alt, ""):
            out.append(("video.alt", msg))
    return out
