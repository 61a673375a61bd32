"""The publisher's own policy, applied to the exact snapshot it is about to send.

Whoever queues a post does so under their own ``postq.toml``; a member of staff can point
a private configuration (its own link allow-list, no deny list) at the shared queue. So
the publisher checks again at claim time, with **its** configuration, the values it will
send: the final caption and every alt text, through the same content rules that
``validate`` and ``queue add`` use (:func:`scheduler.content.rules.check_text`), and that
the channel is one it knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduler.adapters import AdapterRegistry
from scheduler.adapters.base import OutgoingPost
from scheduler.config import Settings


class PolicyCheck:
    """The publisher's content rules, built once (the deny list is compiled once)."""

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        self.settings = settings
        self.registry = registry
        self._ctx: Any = None

    def _context(self) -> Any:
        if self._ctx is None:
            from scheduler.content.rules import RuleContext

            self._ctx = RuleContext.create(self.settings, self.registry)
        return self._ctx

    def problems(self, post: OutgoingPost) -> list[str]:
        """Why ``post`` may not go out under this configuration; empty when it may."""
        channel = self.settings.channels.get(post.channel)
        if channel is None:
            return [f"channel '{post.channel}' is not configured for this publisher"]
        # The row's adapter name is the queuer's; the post goes out through this
        # configuration's adapter, whose own limit check runs before it sends.
        texts = {"caption": post.caption}
        for n, img in enumerate(post.images):
            texts[f"images[{n}].alt"] = img.alt
        if post.video is not None:
            texts["video.alt"] = post.video.alt
            if post.video.captions_vtt is not None:
                texts["video.captions"] = post.video.captions_vtt
        return check_texts(texts, self._context())


def check_texts(texts: dict[str, str], ctx: Any) -> list[str]:
    """Run the content rules for links and deny-listed terms over final text values.

    The rules read a loaded post file; the values are handed to them as one, so the rules
    themselves (and any improvement to them) are shared, never copied here.
    """
    from scheduler.content.loader import LoadedPost
    from scheduler.content.rules import check_text
    from scheduler.textsafety import describe, hidden_characters

    hidden = [f"{name}: contains {describe(found[0][1])}, which could hide text from a "
              "reviewer" for name, value in texts.items()
              if (found := hidden_characters(value))]
    images = [{"alt": v} for k, v in texts.items() if k.startswith("images[")]
    loaded = LoadedPost(path=Path("snapshot"), display="snapshot", body=texts.get("caption", ""),
                        raw={"images": images} if images else {})
    check_text(loaded, ctx)
    return hidden + [f"{p.field}: {p.message}" for p in loaded.problems]
