"""Meta's upload service (rupload.facebook.com), shared by Facebook Reels and Instagram's
resumable video upload.

The file goes in pieces, each ``POST``-ed to the session's address with
``Authorization: OAuth <token>``, ``offset`` (the bytes Meta holds so far) and
``file_size`` headers (https://developers.facebook.com/docs/video-api/guides/reels-publishing
and https://developers.facebook.com/docs/instagram-platform/content-publishing/resumable-uploads/).
The offset reached is recorded after each piece, so a restart sends only the rest; the
last piece goes only once the whole file has matched its approved hash.
"""

from __future__ import annotations

from scheduler.adapters.base import OutgoingPost
from scheduler.adapters.http import redact
from scheduler.adapters.meta import GraphAdapter, classify_graph_error
from scheduler.adapters.transport import credential_may_go_to
from scheduler.errors import PermanentPublishError


class UploadRefused(PermanentPublishError):
    """Meta refused a piece (an offset it does not expect, a session it no longer has)."""


#: Hosts besides ``base_url`` that may receive the token with the bytes.
META_DOMAINS = ("facebook.com",)
#: Bytes per request.
PIECE = 8 * 1024 * 1024


def send_pieces(adapter: GraphAdapter, post: OutgoingPost, upload_url: str, offset: int, *,
                piece: int = PIECE) -> None:
    """Send ``post.video`` from byte ``offset`` to ``upload_url``, recording
    ``uploaded_bytes`` after each piece."""
    video = post.video
    assert video is not None
    check_upload_address(adapter, upload_url)
    for data in video.chunks(piece, start=offset):
        response = adapter.send_authorised(
            "POST", upload_url, lambda: {"Authorization": f"OAuth {adapter.bearer()}"},
            headers={"offset": str(offset), "file_size": str(video.size)},
            content=(data, "application/octet-stream"), idempotent=True)
        error = classify_graph_error(response, platform=adapter.http.platform,
                                     secrets=adapter.secrets(), now=adapter.clock.now())
        if type(error) is PermanentPublishError:
            raise UploadRefused(str(error))
        if error is not None:
            raise error
        offset += len(data)
        adapter.remember(post, uploaded_bytes=offset)


def check_upload_address(adapter: GraphAdapter, upload_url: str) -> None:
    """Refuse an upload address off Meta (a tampered answer) before any token goes there."""
    if not credential_may_go_to(upload_url, adapter.http_base_url(), META_DOMAINS):
        raise PermanentPublishError(
            f"{adapter.http.platform}: the upload address Meta gave "
            f"({redact(upload_url, adapter.secrets())}) is not on {META_DOMAINS[0]} over "
            "https; the access token was not sent there")
