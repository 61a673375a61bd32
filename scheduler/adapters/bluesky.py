"""The ``bluesky`` adapter: AT Protocol records on the account's PDS.

A video is processed by the video service first (:mod:`scheduler.adapters.bluesky_video`)
and embedded as ``app.bsky.embed.video``.

Flow (https://docs.bsky.app/docs/advanced-guides/posts):

1. A session from ``com.atproto.server.createSession`` (an app password), kept on the
   adapter and, unless ``cache_session = false``, in a private file under ``data_dir``:
   createSession is limited to 30 per 5 minutes and 300 per day, which a publisher run
   from cron every minute would otherwise exhaust. An expired or unusable access token
   (400 ``ExpiredToken`` / ``InvalidToken``) is renewed with ``refreshSession``, or a new
   session when that fails too, and the call is repeated once.
2. ``com.atproto.repo.uploadBlob`` per image, with its real Content-Type.
3. ``com.atproto.repo.createRecord`` in ``app.bsky.feed.post`` with a record key derived
   from the delivery id. Bluesky has no idempotency key, but a deterministic key means a
   retry or a ``check`` finds an earlier success with ``getRecord`` and the post can never
   exist twice: the PDS refuses a second record under the same key.

Links and hashtags are marked with facets counted in UTF-8 bytes (see
:mod:`scheduler.adapters.facets`).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import requests
from pydantic import model_validator

from scheduler.adapters.base import (
    AdapterSettings,
    OutgoingImage,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.bluesky_video import BlueskyVideo, embed
from scheduler.adapters.facets import build_facets
from scheduler.adapters.http import HttpAdapter, error_message_of, raise_for_status, redact
from scheduler.errors import (
    AuthError,
    OutcomeUnknown,
    PublishError,
    RateLimited,
)

COLLECTION = "app.bsky.feed.post"
DEFAULT_SERVICE = "https://bsky.social"
_TOKEN_ERRORS = {"ExpiredToken", "InvalidToken"}
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z in microseconds
_TID_SPAN_US = 1 << 50  # about 35 years


class BlueskySettings(AdapterSettings):
    """``service`` (or ``base_url``): the PDS, default https://bsky.social; ``handle``;
    ``password_env`` naming the app-password variable; ``image_max_bytes`` (1,000,000
    unless the PDS is known to take more); ``cache_session`` (keep the session in
    ``data_dir`` between runs); ``video_service`` and ``video_service_did``: where videos
    are processed (https://video.bsky.app, did:web:video.bsky.app)."""

    service: str | None = None
    base_url: str | None = None
    handle: str
    password_env: str
    image_max_bytes: int = 1_000_000
    cache_session: bool = True
    video_service: str = "https://video.bsky.app"
    video_service_did: str = "did:web:video.bsky.app"

    @model_validator(mode="after")
    def _one_service(self) -> BlueskySettings:
        if self.service and self.base_url and self.service.rstrip("/") != self.base_url.rstrip("/"):
            raise ValueError("give either service or base_url, not two different URLs")
        return self

    @property
    def pds(self) -> str:
        return (self.base_url or self.service or DEFAULT_SERVICE).rstrip("/")


def record_key(delivery_id: str) -> str:
    """The record key for a delivery: a valid TID derived from its id alone.

    ``app.bsky.feed.post`` records must use TID keys (the PDS refuses others): 13
    characters of base32-sortable over a 64-bit value whose top bit is 0, holding a
    53-bit microsecond timestamp and a 10-bit clock id
    (https://atproto.com/specs/tid). Both parts come from a SHA-256 of the delivery id,
    the timestamp kept within 2023–2058 so the key looks like any other.
    """
    digest = hashlib.sha256(f"postq-delivery:{delivery_id}".encode()).digest()
    stamp = _TID_EPOCH_US + int.from_bytes(digest[:8], "big") % _TID_SPAN_US
    clock_id = int.from_bytes(digest[8:10], "big") & 0x3FF
    value = (stamp << 10) | clock_id
    chars = []
    for shift in range(60, -1, -5):
        chars.append(_TID_ALPHABET[(value >> shift) & 0x1F])
    return "".join(chars)


class BlueskyAdapter(HttpAdapter[BlueskySettings]):
    """Publishes posts with images to one Bluesky account."""

    platform = "bluesky"
    label = "bluesky"
    settings_model = BlueskySettings
    publishes_video = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._session: dict[str, str] | None = None
        self.video = BlueskyVideo(self)

    def settings_of(self) -> BlueskySettings:
        """The channel's settings, typed (for the video flow's module)."""
        return self._settings

    def http_base_url(self) -> str:
        return self._settings.pds

    def secrets(self) -> list[str]:
        """The app password and, once signed in, the session tokens."""
        found = super().secrets()
        if self._session:
            found += [self._session.get(k, "") for k in ("accessJwt", "refreshJwt")]
        return [s for s in found if s]

    # -- session ------------------------------------------------------------------------
    @property
    def session_file(self) -> Path | None:
        """Where the session is cached, or None when caching is off or there is no data_dir."""
        if not self._settings.cache_session or self.data_dir is None:
            return None
        key = hashlib.sha256(f"{self._settings.pds}|{self._settings.handle}".encode())
        return self.data_dir / "sessions" / f"bluesky-{key.hexdigest()[:16]}.json"

    def _load_session(self) -> dict[str, str] | None:
        path = self.session_file
        if path is None:
            return None
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(doc, dict) or not all(
            isinstance(doc.get(k), str) for k in ("accessJwt", "refreshJwt", "did")
        ):
            return None
        return doc

    def _store_session(self, session: dict[str, str]) -> None:
        self._session = session
        path = self.session_file
        if path is None:
            return
        doc = {k: session[k] for k in ("accessJwt", "refreshJwt", "did", "handle") if k in session}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            # Readable by the owner only: the refresh token is as good as a login.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written only costs a createSession next time

    def _create_session(self) -> dict[str, str]:
        body = {"identifier": self._settings.handle, "password": self.secret("password_env")}
        # Signing in publishes nothing, so a lost answer is merely transient.
        doc = self.http.json("POST", "/xrpc/com.atproto.server.createSession",
                             json_body=body, idempotent=True)
        session = {k: str(doc[k]) for k in ("accessJwt", "refreshJwt", "did", "handle")}
        self._store_session(session)
        return session

    def _refresh_session(self) -> dict[str, str]:
        """A fresh access token from the refresh token, or a new session if that fails."""
        old = self._session or {}
        if old.get("refreshJwt"):
            response = self.http.request(
                "POST", "/xrpc/com.atproto.server.refreshSession",
                headers={"Authorization": f"Bearer {old['refreshJwt']}"},
                idempotent=True, check=False,
            )
            if response.status_code == 200:
                doc = response.json()
                session = {k: str(doc.get(k) or old.get(k, ""))
                           for k in ("accessJwt", "refreshJwt", "did", "handle")}
                self._store_session(session)
                return session
        return self._create_session()

    def session(self) -> dict[str, str]:
        """The current session: in memory, else from the cache file, else a new one."""
        if self._session is None:
            cached = self._load_session()
            if cached is not None:
                self._session = cached
            else:
                self._create_session()
        assert self._session is not None
        return self._session

    def xrpc(self, method: str, nsid: str, **kwargs: Any) -> requests.Response:
        """An authenticated XRPC call, renewing the session once if the token is refused."""
        extra = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            token = self.session()["accessJwt"]
            response = self.http.request(
                method, f"/xrpc/{nsid}", headers={**extra, "Authorization": f"Bearer {token}"},
                check=False, **kwargs,
            )
            if attempt == 1 and _error_name(response) in _TOKEN_ERRORS:
                # The PDS checks the token before doing anything, so repeating is safe.
                self._refresh_session()
                continue
            break
        if _error_name(response) in _TOKEN_ERRORS:
            raise AuthError(
                f"{self.http.platform}: the PDS refused a fresh session: "
                f"{redact(error_message_of(response), self.secrets())}"
            )
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())
        return response

    # -- records ------------------------------------------------------------------------
    def _published(self, uri: str, cid: str | None = None) -> Published:
        rkey = uri.rsplit("/", 1)[-1]
        handle = (self._session or {}).get("handle") or self._settings.handle
        return Published(remote_id=uri, url=f"https://bsky.app/profile/{handle}/post/{rkey}",
                         ref={"cid": cid} if cid else None)

    def get_record(self, rkey: str) -> dict[str, Any] | None:
        """The post stored under ``rkey`` in this account's repository, or None."""
        response = self.http.request(
            "GET", "/xrpc/com.atproto.repo.getRecord",
            params={"repo": self.session()["did"], "collection": COLLECTION, "rkey": rkey},
            check=False,
        )
        if response.status_code == 400 and _error_name(response) == "RecordNotFound":
            return None
        raise_for_status(response, platform=self.http.platform, secrets=self.secrets(),
                         now=self.clock.now())
        doc = response.json()
        return doc if isinstance(doc, dict) else None

    def build_record(self, post: OutgoingPost, blobs: list[Any],
                     video: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``app.bsky.feed.post`` record for ``post`` with its uploaded ``blobs``, or
        with ``video`` (its ``app.bsky.embed.video``)."""
        now = self.clock.now().astimezone(UTC)
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": post.caption,
            "createdAt": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "langs": [post.language],
        }
        facets = build_facets(post.caption)
        if facets:
            record["facets"] = facets
        if post.reply_to is not None and post.thread_root is not None:
            # A reply names the thread's first post and the one it answers, each by URI
            # and CID (app.bsky.feed.post#replyRef,
            # https://docs.bsky.app/docs/advanced-guides/posts#replies).
            record["reply"] = {
                "root": {"uri": post.thread_root["id"], "cid": post.thread_root["cid"]},
                "parent": {"uri": post.reply_to["id"], "cid": post.reply_to["cid"]},
            }
        if video is not None:
            record["embed"] = video
        elif post.images:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "alt": image.alt,
                        "image": blob,
                        "aspectRatio": {"width": image.width, "height": image.height},
                    }
                    for image, blob in zip(post.images, blobs, strict=True)
                ],
            }
        return record

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        # The PDS's byte limit is a setting: servers before April 2026 take 1,000,000.
        self.check_fits(post, replace(self.profile(self.settings.text_limit),
                                      image_max_bytes=self._settings.image_max_bytes))
        return self.publish_thread(post, self._publish_one)

    def _publish_one(self, post: OutgoingPost) -> Published:
        """One record: the post, or one part of a thread under a key of its own."""
        rkey = record_key(post.key)
        # A retry after a call that had in fact succeeded finds the post and stops here.
        existing = self.get_record(rkey)
        if existing is not None:
            return self.created(post, self._published(existing["uri"], existing.get("cid")))
        # Unreferenced blobs are removed by the PDS after a while; reuse them within an hour.
        blobs = [self.uploaded(post, image, lambda image=image: self._upload_blob(image),
                               keep=timedelta(hours=1))
                 for image in post.images]
        video = None
        if post.video is not None:
            video = embed(post, self.video.blob(post), self.video.captions_blob(post))
        body = {
            "repo": self.session()["did"],
            "collection": COLLECTION,
            "rkey": rkey,
            "validate": True,
            "record": self.build_record(post, blobs, video),
        }

        def send() -> Published:
            try:
                created = self.xrpc("POST", "com.atproto.repo.createRecord",
                                     json_body=body).json()
            except (AuthError, RateLimited):
                raise  # refused before anything was written
            except (PublishError, OutcomeUnknown):
                # The key may be taken already: the PDS refuses a second record under it
                # (an error, not an overwrite). If the record is there, this delivery is
                # published and must not be sent again.
                existing = self.get_record(rkey)
                if existing is not None:
                    return self._published(existing["uri"], existing.get("cid"))
                raise
            return self._published(created["uri"], created.get("cid"))

        return self.create(post, send)

    def _upload_blob(self, image: OutgoingImage) -> Any:
        answer = self.xrpc("POST", "com.atproto.repo.uploadBlob",
                            content=(image.read_bytes(), image.mime), idempotent=True).json()
        return answer["blob"]

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, self._check_one)

    def _check_one(self, post: OutgoingPost) -> Published | None:
        existing = self.get_record(record_key(post.key))
        return (self._published(existing["uri"], existing.get("cid"))
                if existing is not None else None)

    def retract(self, post: PublishedPost) -> None:
        """``com.atproto.repo.deleteRecord`` of each record this delivery created, a
        thread's last part first (https://docs.bsky.app/docs/api/com-atproto-repo-delete-record);
        deleting a record that is already gone succeeds, so a repeat is harmless."""
        for uri in self.thread_ids(post):
            body = {"repo": self.session()["did"], "collection": COLLECTION,
                    "rkey": uri.rsplit("/", 1)[-1]}
            self.xrpc("POST", "com.atproto.repo.deleteRecord", json_body=body,
                      idempotent=True)

    def is_gone(self, post: PublishedPost) -> bool | None:
        return all(self.get_record(uri.rsplit("/", 1)[-1]) is None
                   for uri in self.thread_ids(post))

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        auth = {"Authorization": "Bearer ***"}
        planned = []
        if self._session is None:
            planned.append(self.http.plan(
                "POST", "/xrpc/com.atproto.server.createSession",
                json_body={"identifier": self._settings.handle, "password": "***"},
            ))
        for image in post.images:
            planned.append(self.http.plan(
                "POST", "/xrpc/com.atproto.repo.uploadBlob", headers=auth,
                content=(image.read_bytes(), image.mime),
            ))
        blobs = [f"<blob of image {n}>" for n in range(1, len(post.images) + 1)]
        video = None
        if post.video is not None:
            planned += self.video.plan(post, auth)
            video = embed(post, "<blob of the video>", "<blob of the captions>"
                          if post.video.captions_vtt is not None else None)
        body = {
            "repo": (self._session or {}).get("did", self._settings.handle),
            "collection": COLLECTION,
            "rkey": record_key(post.delivery_id),
            "validate": True,
            "record": self.build_record(post, blobs, video),
        }
        planned.append(self.http.plan(
            "POST", "/xrpc/com.atproto.repo.createRecord", headers=auth, json_body=body,
        ))
        return planned

    def verify(self) -> str:
        session = self.session()
        self.xrpc("GET", "com.atproto.server.getSession")
        return f"signed in as {session.get('handle') or self._settings.handle}"


def _error_name(response: requests.Response) -> str | None:
    """The AT Protocol error name (``{"error": "ExpiredToken", ...}``) of a failed call."""
    if response.status_code < 400:
        return None
    try:
        doc = response.json()
    except ValueError:
        return None
    return doc.get("error") if isinstance(doc, dict) else None
