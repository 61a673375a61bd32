"""Per-platform limits and text counting, shared by validation, renders and adapters.

Every number here comes from the platform's own documentation (see the project's platform
notes); a few marked *unconfirmed* there are defaults a channel may override with
``text_limit``. Counting follows each platform's own rules, because a caption that a naive
``len()`` accepts can still be refused (X weights CJK double) or silently cut (Bluesky
counts graphemes, Threads counts emoji by their UTF-8 bytes).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import regex

# A URL as the platforms' own parsers see one: scheme, host and anything up to white space.
URL_RE = regex.compile(r"https?://[^\s<>\"']+", regex.IGNORECASE)
# Any scheme followed by //, or a protocol-relative //host: the allow-list sees them all.
_SCHEME_RE = regex.compile(
    r"(?<![\p{L}\p{N}_/:])(?:[a-z][a-z0-9+.\-]*:)?//[\p{L}\p{N}\[][^\s<>\"']*",
    regex.IGNORECASE)
# A domain without a scheme, as twitter-text finds one (extractUrlsWithIndices in
# https://github.com/twitter/twitter-text/blob/master/js/src/extractUrlsWithIndices.js):
# not after a letter, digit, @, $, # or one of -_./ ; labels of ASCII letters, digits,
# - and _; a known top-level domain; then an optional port, path, query or fragment.
_BARE_RE = regex.compile(
    r"(?<![A-Za-z0-9@$#\-_./\uFF20\uFF03])"
    r"((?:[A-Za-z0-9_-]+\.)+([A-Za-z]{2,63}|xn--[A-Za-z0-9-]+))(?![A-Za-z0-9_-])"
    r"(?::[0-9]+)?(?:[/?#][^\s<>\"']*)?")
# twitter-text's validSpecialCCTLD: a one-label .co or .tv name is a link even bare.
_SPECIAL_CCTLD = {"co", "tv"}
# Special-use names (RFC 6761, RFC 2606) are no public TLD, but a platform with its own
# list may still link them; the allow-list treats them as links to stay on the safe side.
_SPECIAL_USE = {"example", "test", "invalid", "localhost", "local", "onion"}
# Trailing punctuation is not part of a link in any of the platforms' parsers.
_URL_TRAIL = ".,;:!?)]}'\""
HASHTAG_RE = regex.compile(r"(?<![\p{L}\p{N}_&/])#([\p{L}\p{N}_]*\p{L}[\p{L}\p{N}_]*)")
MENTION_RE = regex.compile(r"(?<![\p{L}\p{N}_])@([A-Za-z0-9_]+)(@[A-Za-z0-9.-]+\.[A-Za-z]+)?")
_GRAPHEME_RE = regex.compile(r"\X")
_EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")
# Anything outside X's weight-1 ranges (or an emoji, which is outside them too).
_X_HEAVY_RE = regex.compile(r"[^\u0000-\u10FF\u2000-\u200D\u2010-\u201F\u2032-\u2037]")


@lru_cache(maxsize=1)
def _public_suffixes() -> object:
    # The Public Suffix List's ICANN section holds every delegated top-level domain (the
    # IANA root zone twitter-text's own TLD list is made from); loaded on first use.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(accept_unknown=False, only_icann=True)


@lru_cache(maxsize=2048)
def is_tld(label: str) -> bool:
    """Whether ``label`` is a top-level domain in use (or a special-use name)."""
    label = label.lower()
    if label in _SPECIAL_USE:
        return True
    psl = _public_suffixes()
    return psl.publicsuffix(f"x.{label}") is not None  # type: ignore[attr-defined]


def _trim(url: str) -> str:
    url = url.rstrip(_URL_TRAIL)
    # A closing bracket is part of the link only when the link opened it (Wikipedia paths).
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1].rstrip(_URL_TRAIL)
    return url


@lru_cache(maxsize=4096)
def find_urls(text: str) -> tuple[tuple[int, int, str], ...]:
    """Return ``(start, end, href)`` for each link in ``text`` (character offsets).

    Links are found as the platforms find them: with any scheme, protocol-relative
    (``//host``), and bare domains such as ``gov.uk/careers`` or ``www.example.co.uk``,
    which X, Threads, LinkedIn and Facebook all make clickable and count as links.
    ``href`` is the link as a browser would open it (``https://`` added to a bare
    domain); ``text[start:end]`` is the link as written. One finder serves the
    allow-list, the link limits and the character counts, so they always agree.
    Cached: validation asks about the same caption for every channel of a post."""
    found: list[tuple[int, int, str]] = []
    for m in _SCHEME_RE.finditer(text):
        url = _trim(m.group(0))
        href = "https:" + url if url.startswith("//") else url
        found.append((m.start(), m.start() + len(url), href))
    for m in _BARE_RE.finditer(text):
        if any(s <= m.start() < e for s, e, _ in found):
            continue
        domain, tld = m.group(1), m.group(2)
        if not is_tld(tld):
            continue
        url = _trim(m.group(0))
        has_path = len(url) > len(domain)
        one_label = domain.count(".") == 1
        if one_label and not has_path and tld.lower() not in _SPECIAL_CCTLD and len(tld) == 2:
            continue  # twitter-text's invalidShortDomain: "readme.md" alone is no link
        found.append((m.start(), m.start() + len(url), "https://" + url))
    found.sort()
    return tuple(found)


#: How a stored caption separates the parts of a thread: a line holding only ``+++``,
#: as the author writes it. A caption without it is one post.
THREAD_SEPARATOR = "\n+++\n"
#: Platforms that publish a thread as a chain of replies; the others get one post.
THREAD_PLATFORMS = frozenset({"x", "bluesky", "threads", "mastodon"})
_THREAD_LINE = regex.compile(r"^[ \t]*\+\+\+[ \t]*$", regex.MULTILINE)


def thread_parts(caption: str) -> list[str]:
    """The parts of a stored caption, in order (one part when it is no thread)."""
    return caption.split(THREAD_SEPARATOR)


def split_thread(body: str) -> list[str]:
    """A post body cut at each line holding only ``+++``; empty parts dropped."""
    return [p.strip("\n") for p in _THREAD_LINE.split(body) if p.strip()]


def graphemes(text: str) -> list[str]:
    """Split into extended grapheme clusters (what a reader sees as one character)."""
    return _GRAPHEME_RE.findall(text)


def _replace_urls(text: str, placeholder_len: int) -> tuple[str, int]:
    """Cut every URL out of ``text``; return the rest and the weight the URLs add."""
    out, last, weight = [], 0, 0
    for start, end, _url in find_urls(text):
        out.append(text[last:start])
        last = end
        weight += placeholder_len
    out.append(text[last:])
    return "".join(out), weight


def _x_weight(cluster: str) -> int:
    # X's twitter-text config v3: an emoji sequence counts 2 as a whole; other code points
    # in the listed ranges weigh 1 and everything else 2.
    if _EMOJI_RE.search(cluster):
        return 2
    total = 0
    for ch in cluster:
        cp = ord(ch)
        light = (
            cp <= 0x10FF
            or 0x2000 <= cp <= 0x200D
            or 0x2010 <= cp <= 0x201F
            or 0x2032 <= cp <= 0x2037
        )
        total += 1 if light else 2
    return total


def count_x(text: str) -> int:
    """X's weighted length: NFC first, each URL 23, CJK and emoji 2."""
    rest, weight = _replace_urls(unicodedata.normalize("NFC", text), 23)
    if not _EMOJI_RE.search(rest):
        # Without emoji sequences every code point counts on its own: 1, or 2 when heavy.
        return weight + len(rest) + len(_X_HEAVY_RE.findall(rest))
    return weight + sum(_x_weight(c) for c in graphemes(rest))


def count_graphemes(text: str) -> int:
    """Bluesky's length: grapheme clusters, links counted in full as typed."""
    return len(graphemes(text))


def count_mastodon(text: str) -> int:
    """Mastodon's length: graphemes, each URL 23, ``@user@domain`` counts as ``@user``."""
    rest, weight = _replace_urls(text, 23)
    rest = MENTION_RE.sub(lambda m: "@" + m.group(1), rest)
    return weight + len(graphemes(rest))


def count_threads(text: str) -> int:
    """Threads: characters, with each emoji counted by its UTF-8 bytes (Meta's docs)."""
    total = 0
    for cluster in graphemes(text):
        if _EMOJI_RE.search(cluster):
            total += len(cluster.encode("utf-8"))
        else:
            total += len(cluster)
    return total


def count_codepoints(text: str) -> int:
    """Plain character count, for platforms that document no special rule."""
    return len(text)


@dataclass(frozen=True)
class PlatformProfile:
    """What one platform accepts; validation, renders and adapters all read this."""

    name: str
    text_limit: int
    counter: Callable[[str], int]
    counting: str
    max_hashtags: int | None
    max_links: int | None
    max_mentions: int | None
    max_images: int
    image_max_bytes: int
    aspect_min: float
    aspect_max: float
    render_size: tuple[int, int]
    min_width: int
    max_width: int
    alt_limit: int
    formats: tuple[str, ...]
    links_clickable: bool = True
    requires_image: bool = False
    # A second limit on the UTF-8 size of the text, beside the counted length.
    text_max_bytes: int | None = None

    def count(self, text: str) -> int:
        return self.counter(text)

    @property
    def render_aspect(self) -> float:
        return self.render_size[0] / self.render_size[1]


_MIB = 1024 * 1024

PROFILES: dict[str, PlatformProfile] = {
    p.name: p
    for p in (
        PlatformProfile(
            name="instagram", text_limit=2200, counter=count_codepoints,
            counting="characters", max_hashtags=30, max_links=None, max_mentions=20,
            max_images=10, image_max_bytes=8 * _MIB - 1, aspect_min=0.8, aspect_max=1.91,
            render_size=(1080, 1350), min_width=320, max_width=1440, alt_limit=1000,
            formats=("jpeg",), links_clickable=False, requires_image=True,
        ),
        PlatformProfile(
            name="facebook", text_limit=63206, counter=count_codepoints,
            counting="characters", max_hashtags=None, max_links=None, max_mentions=None,
            max_images=10, image_max_bytes=10 * 1000 * 1000 - 1, aspect_min=0.5,
            aspect_max=2.0, render_size=(1080, 1350), min_width=320, max_width=2048,
            alt_limit=1000, formats=("jpeg", "png"),
        ),
        PlatformProfile(
            name="threads", text_limit=500, counter=count_threads,
            counting="characters, emoji by UTF-8 bytes", max_hashtags=1, max_links=5,
            # A carousel holds up to 20 images and videos (https://developers.facebook.com/
            # docs/threads/posts#carousel-posts).
            max_mentions=None, max_images=20, image_max_bytes=8 * _MIB - 1,
            aspect_min=0.1, aspect_max=10.0, render_size=(1080, 1350), min_width=320,
            max_width=1440, alt_limit=1000, formats=("jpeg", "png"),
        ),
        PlatformProfile(
            name="x", text_limit=280, counter=count_x,
            counting="weighted (URL 23, CJK and emoji 2)", max_hashtags=None,
            max_links=None, max_mentions=None, max_images=4, image_max_bytes=5 * _MIB - 1,
            aspect_min=0.33, aspect_max=3.0, render_size=(1200, 675), min_width=600,
            max_width=4096, alt_limit=1000, formats=("jpeg", "png", "gif", "webp"),
        ),
        PlatformProfile(
            name="linkedin", text_limit=3000, counter=count_codepoints,
            counting="characters", max_hashtags=None, max_links=None, max_mentions=None,
            max_images=20, image_max_bytes=36 * _MIB, aspect_min=1 / 2.4, aspect_max=2.4,
            render_size=(1200, 627), min_width=552, max_width=7680, alt_limit=4086,
            formats=("jpeg", "png"),
        ),
        PlatformProfile(
            name="mastodon", text_limit=500, counter=count_mastodon,
            counting="graphemes (URL 23)", max_hashtags=None, max_links=None,
            max_mentions=None, max_images=4, image_max_bytes=16 * _MIB, aspect_min=0.1,
            aspect_max=10.0, render_size=(1200, 1200), min_width=320, max_width=4096,
            alt_limit=1500, formats=("jpeg", "png"),
        ),
        PlatformProfile(
            name="bluesky", text_limit=300, counter=count_graphemes,
            counting="graphemes", max_hashtags=None, max_links=None, max_mentions=None,
            max_images=4, image_max_bytes=1_000_000, aspect_min=0.1, aspect_max=10.0,
            render_size=(1200, 1200), min_width=320, max_width=2000, alt_limit=2000,
            formats=("jpeg",),
            # app.bsky.feed.post: text maxGraphemes 300 and maxLength 3000 (UTF-8 bytes),
            # https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json
            text_max_bytes=3000,
        ),
        # Local channels: they take what the organisation gives them, so limits are wide.
        PlatformProfile(
            name="outbox", text_limit=10000, counter=count_codepoints,
            counting="characters", max_hashtags=None, max_links=None, max_mentions=None,
            max_images=10, image_max_bytes=20 * _MIB, aspect_min=0.1, aspect_max=10.0,
            render_size=(1080, 1350), min_width=320, max_width=4096, alt_limit=2000,
            formats=("jpeg",),
        ),
        PlatformProfile(
            name="webhook", text_limit=10000, counter=count_codepoints,
            counting="characters", max_hashtags=None, max_links=None, max_mentions=None,
            max_images=10, image_max_bytes=20 * _MIB, aspect_min=0.1, aspect_max=10.0,
            render_size=(1080, 1350), min_width=320, max_width=4096, alt_limit=2000,
            formats=("jpeg",),
        ),
    )
}


#: How each platform is named in messages people read.
TITLES = {"x": "X", "linkedin": "LinkedIn", "instagram": "Instagram", "facebook": "Facebook",
          "threads": "Threads", "mastodon": "Mastodon", "bluesky": "Bluesky"}


def title_of(profile: PlatformProfile) -> str:
    return TITLES.get(profile.name, profile.name)


@lru_cache(maxsize=64)
def get_profile(name: str, text_limit: int | None = None) -> PlatformProfile | None:
    """The profile for a platform name, with an optional per-channel text limit."""
    base = PROFILES.get(name)
    if base is None or text_limit is None:
        return base
    return replace(base, text_limit=text_limit)


@dataclass(frozen=True)
class VideoProfile:
    """What one platform accepts as a video, and what postq renders for it.

    Limits that cannot be fixed by rendering (duration, a source too small) are errors at
    ``validate``; the rest (container, codecs, frame rate, aspect, size, bit rate) decide
    whether the source passes through untouched, is remuxed, or is transcoded.
    """

    name: str
    #: How messages name the product ("Facebook Reels").
    title: str
    min_seconds: float
    max_seconds: float
    fps_min: float
    fps_max: float
    aspect_min: float
    aspect_max: float
    #: The frame a transcode aims at (width, height); smaller sources are never upscaled.
    render_size: tuple[int, int]
    #: The narrowest a render may be (a source narrower than this after cropping fails).
    min_width: int
    max_width: int
    max_height: int
    max_bytes: int
    max_video_bitrate: int
    audio_bitrate: int = 128_000
    video_codecs: tuple[str, ...] = ("h264",)
    #: Whether the platform takes a caption file beside the video (else captions are burned).
    captions_sidecar: bool = False
    #: The shape the platform shows full screen (Reels: 9:16); sources are framed to it
    #: around the focus point. None: any shape in the aspect range is kept.
    frame_aspect: float | None = None
    #: Most pixels in one picture (Mastodon's ``video_matrix_limit``); None: no such limit.
    max_pixels: int | None = None
    #: Where each number comes from.
    source: str = ""

    @property
    def render_aspect(self) -> float:
        return self.render_size[0] / self.render_size[1]


_MB = 1000 * 1000

# Each limit is the platform's own documentation (URL in ``source``); a number the page
# does not give is marked in a comment with what was chosen instead.
VIDEO_PROFILES: dict[str, VideoProfile] = {
    p.name: p
    for p in (
        # Reels: MOV/MP4, moov atom first, HEVC or H.264, AAC <= 48 kHz, 23-60 fps, 3 s to
        # 15 min, max 1920 columns, aspect 0.01:1 to 10:1 (9:16 recommended), 25 Mbps VBR,
        # 300 MB.
        VideoProfile(
            name="instagram", title="Instagram Reels", min_seconds=3, max_seconds=15 * 60,
            fps_min=23, fps_max=60, aspect_min=0.01, aspect_max=10.0,
            render_size=(1080, 1920), min_width=320, max_width=1920, max_height=3600,
            max_bytes=300 * _MB, max_video_bitrate=25_000_000, video_codecs=("h264", "hevc"),
            frame_aspect=9 / 16,
            source="https://developers.facebook.com/docs/instagram-platform/"
                   "instagram-graph-api/reference/ig-user/media#reel-specifications",
        ),
        # Stories (a channel with format = "story"): MOV/MP4, H.264 or HEVC, 23-60 fps,
        # 3 to 60 s, at most 100 MB and 1920 columns, 9:16 recommended.
        VideoProfile(
            name="instagram_story", title="Instagram Stories", min_seconds=3, max_seconds=60,
            fps_min=23, fps_max=60, aspect_min=0.1, aspect_max=10.0,
            render_size=(1080, 1920), min_width=320, max_width=1920, max_height=3600,
            max_bytes=100 * _MB, max_video_bitrate=25_000_000, video_codecs=("h264", "hevc"),
            frame_aspect=9 / 16,
            source="https://developers.facebook.com/docs/instagram-platform/"
                   "instagram-graph-api/reference/ig-user/media#story-video-specifications",
        ),
        # Reels on a Page: .mp4, 9:16, 1080x1920 recommended (540x960 minimum), 24-60 fps,
        # 3 to 90 s. The page gives no size or bit rate; Instagram's are used.
        VideoProfile(
            name="facebook", title="Facebook Reels", min_seconds=3, max_seconds=90,
            fps_min=24, fps_max=60, aspect_min=9 / 16 - 0.01, aspect_max=9 / 16 + 0.01,
            render_size=(1080, 1920), min_width=540, max_width=1080, max_height=1920,
            max_bytes=300 * _MB, max_video_bitrate=25_000_000, frame_aspect=9 / 16,
            source="https://developers.facebook.com/docs/video-api/guides/reels-publishing",
        ),
        # Page Stories (a channel with format = "story"): as Reels, but at most 60 s
        # ("A reel published as a story on a Facebook Page can not exceed 60 seconds").
        VideoProfile(
            name="facebook_story", title="Facebook Page Stories", min_seconds=3,
            max_seconds=60, fps_min=24, fps_max=60, aspect_min=9 / 16 - 0.01,
            aspect_max=9 / 16 + 0.01, render_size=(1080, 1920), min_width=540,
            max_width=1080, max_height=1920, max_bytes=300 * _MB,
            max_video_bitrate=25_000_000, frame_aspect=9 / 16,
            source="https://developers.facebook.com/docs/page-stories-api/",
        ),
        # Page videos (a channel with format = "video"), fetched from the media host by
        # ``file_url`` (a non-resumable upload: at most 1 GB and 20 minutes); any shape,
        # and a caption file beside the video (/{video-id}/captions). The page gives no
        # frame rates or bit rate; the Reels' are used.
        VideoProfile(
            name="facebook_video", title="Facebook Page videos", min_seconds=1,
            max_seconds=20 * 60, fps_min=24, fps_max=60, aspect_min=9 / 16 - 0.01,
            aspect_max=16 / 9 + 0.01, render_size=(1920, 1080), min_width=320,
            max_width=1920, max_height=1920, max_bytes=1000 * _MB,
            max_video_bitrate=25_000_000, captions_sidecar=True,
            source="https://developers.facebook.com/docs/video-api/guides/publishing",
        ),
        # Threads: as Instagram, but at most 300 s and 1 GB.
        VideoProfile(
            name="threads", title="Threads", min_seconds=0.1, max_seconds=300,
            fps_min=23, fps_max=60, aspect_min=0.01, aspect_max=10.0,
            render_size=(1080, 1920), min_width=320, max_width=1920, max_height=3600,
            max_bytes=1000 * _MB, max_video_bitrate=25_000_000,
            video_codecs=("h264", "hevc"),
            source="https://developers.facebook.com/docs/threads/overview#video-specifications",
        ),
        # X: 512 MB (amplify_video), 0.5 to 140 s, 32x32 to 1280x1024, <= 60 fps, aspect
        # 1:3 to 3:1, H.264 High with AAC-LC. The page sets no lower frame rate; 1 fps is
        # what the chosen floor means here.
        VideoProfile(
            name="x", title="X", min_seconds=0.5, max_seconds=140, fps_min=1, fps_max=60,
            aspect_min=1 / 3, aspect_max=3.0, render_size=(1280, 720), min_width=32,
            max_width=1280, max_height=1024, max_bytes=512 * _MIB,
            max_video_bitrate=25_000_000, captions_sidecar=True,
            source="https://docs.x.com/x-api/media/quickstart/best-practices",
        ),
        # Bluesky: one video a post, up to 3 minutes and 100 MB (raised on 12 March 2025),
        # aspect 1:3 to 3:1, MP4. Captions are a sidecar (app.bsky.embed.video#caption).
        VideoProfile(
            name="bluesky", title="Bluesky", min_seconds=1, max_seconds=180, fps_min=1,
            fps_max=60, aspect_min=1 / 3, aspect_max=3.0, render_size=(1080, 1920),
            min_width=32, max_width=1920, max_height=1920, max_bytes=100 * _MB,
            max_video_bitrate=10_000_000, captions_sidecar=True,
            source="https://bsky.social/about/blog/09-11-2024-video",
        ),
        # Mastodon: each instance says its own limits in /api/v2/instance
        # (configuration.media_attachments); mastodon.social answers video_size_limit
        # 103809024 (99 MiB), video_frame_rate_limit 120 and video_matrix_limit 8294400
        # (3840x2160 pixels). No duration limit is documented; 1 hour is chosen. A channel
        # sets its own instance's values with the same three names (see
        # scheduler.content.video.channel_video_profile).
        VideoProfile(
            name="mastodon", title="Mastodon", min_seconds=0.1, max_seconds=3600, fps_min=1,
            fps_max=120, aspect_min=0.1, aspect_max=10.0, render_size=(1080, 1920),
            min_width=32, max_width=3840, max_height=3840, max_bytes=99 * _MIB,
            max_video_bitrate=10_000_000, max_pixels=8_294_400,
            source="https://docs.joinmastodon.org/entities/Instance/#media_attachments",
        ),
        # LinkedIn Videos API: MP4, 3 s to 30 min, 75 KB to 500 MB, aspect 1:2.4 to 2.4:1.
        VideoProfile(
            name="linkedin", title="LinkedIn", min_seconds=3, max_seconds=30 * 60, fps_min=10,
            fps_max=60, aspect_min=1 / 2.4, aspect_max=2.4, render_size=(1080, 1920),
            min_width=256, max_width=4096, max_height=2304, max_bytes=500 * _MB,
            max_video_bitrate=30_000_000, captions_sidecar=True,
            source="https://learn.microsoft.com/en-us/linkedin/marketing/"
                   "community-management/shares/videos-api",
        ),
        # Local channels take what the organisation gives them.
        VideoProfile(
            name="outbox", title="the outbox", min_seconds=0.1, max_seconds=3600, fps_min=1,
            fps_max=120, aspect_min=0.1, aspect_max=10.0, render_size=(1080, 1920),
            min_width=16, max_width=4096, max_height=4096, max_bytes=2000 * _MB,
            max_video_bitrate=50_000_000, captions_sidecar=True,
        ),
        VideoProfile(
            name="webhook", title="the webhook", min_seconds=0.1, max_seconds=3600,
            fps_min=1, fps_max=120, aspect_min=0.1, aspect_max=10.0,
            render_size=(1080, 1920), min_width=16, max_width=4096, max_height=4096,
            max_bytes=2000 * _MB, max_video_bitrate=50_000_000, captions_sidecar=True,
        ),
    )
}

#: Profiles whose posts may hold images and one video together, as one carousel: an
#: Instagram feed carousel (https://developers.facebook.com/docs/instagram-platform/
#: content-publishing#carousel-posts), a Threads carousel (https://developers.facebook.com/
#: docs/threads/posts#carousel-posts), and the outbox, which writes whatever it is given.
MIXED_CAROUSELS = ("instagram", "threads", "outbox")
#: Platforms whose posts carry images or one video, never both (named in that order in
#: the validation message).
NO_MIXED_MEDIA = ("x", "bluesky", "mastodon", "facebook", "linkedin")


def video_profile_for(profile: PlatformProfile) -> VideoProfile | None:
    """The video profile of a channel's platform (None: the platform takes no video)."""
    return VIDEO_PROFILES.get(profile.name)
