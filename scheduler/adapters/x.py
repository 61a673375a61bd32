"""The ``x`` adapter: posts with images or a video through the X API v2.

A video goes through the chunked upload, processing and subtitles of
:mod:`scheduler.adapters.x_video`, then into the post like an image.

Flow (https://docs.x.com/x-api/posts/manage-tweets/introduction and
https://docs.x.com/x-api/media/quickstart/media-upload-chunked):

1. ``POST /2/media/upload`` multipart (``media``, ``media_category=tweet_image``) per
   image → ``data.id``; the v1.1 upload was retired in 2025, so v2 only. An image is at
   most 5 MB (the profile refuses more before any call), which one call carries, so there
   is no chunked path for images (videos use the path-style
   ``/2/media/upload/initialize``, ``/{id}/append`` and ``/{id}/finalize`` endpoints,
   not the old ``command=INIT`` form).
   Recorded ids are reused by a later attempt while X keeps them (24 h).
2. ``POST /2/media/metadata`` ``{"id", "metadata": {"alt_text": {"text"}}}`` for its alt
   text (up to 1,000 characters).
3. ``POST /2/tweets`` ``{"text", "media": {"media_ids": [...]}}`` → 201 ``data.id``; the
   web address is ``https://x.com/{username}/status/{id}`` (``username`` setting), or
   ``https://x.com/i/web/status/{id}`` when the account name is unknown.

Auth: either an OAuth 2.0 user-context token (``token_env``) or OAuth 1.0a user context
(``consumer_key_env``, ``consumer_secret_env``, ``access_token_env``,
``access_token_secret_env``), signed by requests-oauthlib (``pip install 'postq[x]'``),
imported only when used. Errors are RFC 7807 documents (``type``, ``title``,
``detail``); 429 waits until ``x-rate-limit-reset`` — or ``x-user-limit-24hour-reset``
when the daily cap is what ran out — and 5xx is retried. A 403 saying the text is a
duplicate is permanent; other 401/403 answers need a person (AuthError).

X has no idempotency key: a lost answer to ``POST /2/tweets`` raises OutcomeUnknown and
``check`` reads the account's latest posts (``GET /2/users/me``, then
``GET /2/users/{id}/tweets``) for the same text. X rewrites links to t.co, appends a link
to attached media and escapes ``&<>`` as HTML entities, so texts are compared with links
removed and entities decoded.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import requests
from pydantic import model_validator

from scheduler.adapters.base import (
    OutgoingImage,
    OutgoingPost,
    PlannedRequest,
    Published,
    PublishedPost,
)
from scheduler.adapters.http import HttpAdapter, error_message_of, redact, retry_after_of
from scheduler.adapters.meta import normalise_text, recent_enough
from scheduler.adapters.x_video import XVideo, alt_body
from scheduler.credentials.settings import OAuthSettings
from scheduler.errors import (
    AuthError,
    ConfigError,
    DuplicateRefused,
    PermanentPublishError,
    RateLimited,
    TransientPublishError,
)

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}
_OAUTH1_KEYS = ("consumer_key_env", "consumer_secret_env", "access_token_env",
                "access_token_secret_env")


class XSettings(OAuthSettings):
    """``base_url`` (default https://api.x.com), ``username`` (for post URLs), and either
    ``token_env`` (OAuth 2.0 user token), ``auth = "oauth2"`` with ``client_id_env``
    (tokens from ``postq channels login``, renewed at ``{base_url}/2/oauth2/token``), or
    all four OAuth 1.0a ``*_env`` names."""

    base_url: str = "https://api.x.com"
    username: str | None = None
    token_env: str | None = None
    consumer_key_env: str | None = None
    consumer_secret_env: str | None = None
    access_token_env: str | None = None
    access_token_secret_env: str | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> XSettings:
        given = [k for k in _OAUTH1_KEYS if getattr(self, k)]
        if self.auth == "oauth2":
            if self.token_env or given:
                raise ValueError('auth = "oauth2" keeps tokens in the credential store; '
                                 "remove token_env and the OAuth 1.0a *_env keys")
            if not self.client_id_env:
                raise ValueError('auth = "oauth2" needs client_id_env (the app\'s client id)')
            return self
        if self.token_env and given:
            raise ValueError("give either token_env (OAuth 2.0) or the OAuth 1.0a *_env keys, not both")
        if not self.token_env and len(given) != len(_OAUTH1_KEYS):
            missing = [k for k in _OAUTH1_KEYS if not getattr(self, k)]
            raise ValueError("needs token_env, or all of " + ", ".join(_OAUTH1_KEYS)
                             + (f" (missing: {', '.join(missing)})" if given else ""))
        return self


class XAdapter(HttpAdapter[XSettings]):
    """Publishes posts with images to one X account."""

    platform = "x"
    label = "x"
    settings_model = XSettings
    publishes_video = True
    #: How many of the account's latest posts ``check`` reads (the API's minimum is 5).
    check_window = 10
    #: The user timeline is served from a cache and may miss a post for a short while.
    listing_lag = timedelta(minutes=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._me: dict[str, str] | None = None
        self._oauth1_ready = False
        self.video = XVideo(self)

    def http_base_url(self) -> str:
        return self._settings.base_url

    # -- auth ---------------------------------------------------------------------------
    def _auth(self) -> dict[str, str]:
        """The bearer header, or nothing when the session signs with OAuth 1.0a."""
        if self._settings.token_env or self._settings.auth == "oauth2":
            return {"Authorization": f"Bearer {self.bearer()}"}
        if not self._oauth1_ready:
            try:
                from requests_oauthlib import OAuth1
            except ImportError:
                raise ConfigError(
                    f"channel '{self.channel}': OAuth 1.0a needs requests-oauthlib: "
                    "pip install 'postq[x]'"
                ) from None
            self.http.session.auth = OAuth1(
                self.secret("consumer_key_env"), self.secret("consumer_secret_env"),
                self.secret("access_token_env"), self.secret("access_token_secret_env"),
            )
            self._oauth1_ready = True
        return {}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One authorised request; X's error answers raised as the shared error types."""
        response = self.send_authorised(method, path, self._auth, **kwargs)
        self._raise_for(response)
        return response

    def _raise_for(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        secrets = self.secrets()
        method = response.request.method if response.request is not None else ""
        path = requests.utils.urlparse(response.url).path if response.url else ""
        detail = redact(_problem_text(response), secrets)
        message = f"{self.http.platform}: {method} {path} answered {status}: {detail}"
        if status == 403 and "duplicate" in detail.lower():
            raise DuplicateRefused(message)
        if status == 429:
            headers = response.headers
            wait = None
            if headers.get("x-user-limit-24hour-remaining") == "0":
                reset = headers.get("x-user-limit-24hour-reset", "")
                try:
                    wait = max(0.0, float(reset) - self.clock.now().timestamp())
                except ValueError:
                    wait = None
            raise RateLimited(message, retry_after=wait if wait is not None
                              else retry_after_of(response, self.clock.now()))
        if status in (401, 403):
            raise AuthError(message)
        if status >= 500:
            raise TransientPublishError(message, retry_after=retry_after_of(response, self.clock.now()))
        raise PermanentPublishError(message)

    # -- requests -----------------------------------------------------------------------
    @staticmethod
    def _filename(image: OutgoingImage, index: int) -> str:
        return f"{index}.{_EXTENSIONS.get(image.mime, 'bin')}"

    def _upload(self, post: OutgoingPost, image: OutgoingImage, index: int) -> str:
        """Upload one image, or reuse the id an earlier attempt recorded for it (X keeps
        an upload for 24 h, ``expires_after_secs``)."""
        return str(self.uploaded(post, image, lambda: self._upload_image(image, index)))

    def _upload_image(self, image: OutgoingImage, index: int) -> str:
        # An uploaded image is shown nowhere until a post uses it: a repeat is harmless.
        doc = self.call(
            "POST", "/2/media/upload",
            files={"media": (self._filename(image, index), image.read_bytes(), image.mime)},
            data={"media_category": "tweet_image"}, idempotent=True,
        ).json()
        media_id = str(doc["data"]["id"])
        if image.alt:
            self.call("POST", "/2/media/metadata", json_body=alt_body(media_id, image.alt),
                       idempotent=True)
        return media_id

    @staticmethod
    def _tweet_body(post: OutgoingPost, media_ids: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"text": post.caption}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if post.reply_to is not None:
            # A thread's later part replies to the one before it
            # (https://docs.x.com/x-api/posts/create-post, reply.in_reply_to_tweet_id).
            body["reply"] = {"in_reply_to_tweet_id": str(post.reply_to["id"])}
        return body

    def _url(self, tweet_id: str) -> str:
        username = self._settings.username or (self._me or {}).get("username")
        if username:
            return f"https://x.com/{username}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"

    def me(self) -> dict[str, str]:
        if self._me is None:
            doc = self.call("GET", "/2/users/me").json()
            data = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(data, dict) or not data.get("id"):
                raise AuthError(f"{self.http.platform}: /2/users/me answered without a user")
            self._me = {"id": str(data["id"]), "username": str(data.get("username") or "")}
        return self._me

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        self.check_fits(post)
        return self.publish_thread(post, self._publish_one)

    def _publish_one(self, post: OutgoingPost) -> Published:
        """One post: the post itself, or one part of a thread."""
        media_ids = [self._upload(post, image, n)
                     for n, image in enumerate(post.images, start=1)]
        if post.video is not None:
            media_ids = [self.video.media_id(post)]

        def send() -> Published:
            doc = self.call("POST", "/2/tweets",
                             json_body=self._tweet_body(post, media_ids)).json()
            tweet_id = str(doc["data"]["id"])
            return Published(remote_id=tweet_id, url=self._url(tweet_id))

        return self.create(post, send)

    def check(self, post: OutgoingPost) -> Published | None:
        return self.check_thread(post, self._check_one)

    def _check_one(self, post: OutgoingPost) -> Published | None:
        known = self.progress(post).get("remote_id")
        if known:
            # The id recorded when X answered: asking for it needs no listing window.
            doc = self.call("GET", f"/2/tweets/{known}").json()
            data = doc.get("data") if isinstance(doc, dict) else None
            if isinstance(data, dict) and data.get("id"):
                return Published(remote_id=str(data["id"]), url=self._url(str(data["id"])))
        user_id = self.me()["id"]
        doc = self.call("GET", f"/2/users/{user_id}/tweets",
                         params={"max_results": self.check_window,
                                 "tweet.fields": "created_at,text"}).json()
        wanted = _comparable(post.caption)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if _comparable(str(item.get("text") or "")) != wanted:
                continue
            if not recent_enough(item.get("created_at"), post):
                continue
            return Published(remote_id=str(item["id"]), url=self._url(str(item["id"])))
        return self.nothing_found(post)

    def retract(self, post: PublishedPost) -> None:
        """``DELETE /2/tweets/:id`` (https://docs.x.com/x-api/posts/delete-post); a 404
        means the post is gone already. A thread loses every part, the last first."""
        for tweet_id in self.thread_ids(post):
            response = self.http.request("DELETE", f"/2/tweets/{tweet_id}",
                                         headers=self._auth(), check=False)
            if response.status_code != 404:
                self._raise_for(response)

    def is_gone(self, post: PublishedPost) -> bool | None:
        """X answers a lookup of a deleted post with 200 and a "Not Found Error" in
        ``errors`` instead of ``data``
        (https://docs.x.com/x-api/fundamentals/response-codes-and-errors)."""
        response = self.http.request("GET", f"/2/tweets/{post.remote_id}",
                                     headers=self._auth(), check=False)
        if response.status_code == 404:
            return True
        self._raise_for(response)
        doc = response.json()
        return not (isinstance(doc, dict) and isinstance(doc.get("data"), dict))

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        bearer = self._settings.token_env or self._settings.auth == "oauth2"
        auth = {"Authorization": "Bearer ***" if bearer else "OAuth ***"}
        planned = []
        for n, image in enumerate(post.images, start=1):
            planned.append(self.http.plan(
                "POST", "/2/media/upload", headers=auth,
                files={"media": (self._filename(image, n), image.read_bytes(), image.mime)},
                data={"media_category": "tweet_image"},
            ))
            if image.alt:
                planned.append(self.http.plan("POST", "/2/media/metadata", headers=auth,
                                              json_body=alt_body(f"<id of image {n}>", image.alt)))
        ids = [f"<id of image {n}>" for n in range(1, len(post.images) + 1)]
        if post.video is not None:
            planned += self.video.plan(post, auth)
            ids = ["<video id>"]
        planned.append(self.http.plan("POST", "/2/tweets", headers=auth,
                                      json_body=self._tweet_body(post, ids)))
        return planned

    def verify(self) -> str:
        me = self.me()
        return f"signed in as @{me.get('username') or me['id']}"


def _comparable(text: str) -> str:
    return normalise_text(html.unescape(text), drop_urls=True)


def _problem_text(response: requests.Response) -> str:
    """RFC 7807 ``title: detail``, with the first of ``errors[].message`` when present."""
    base = error_message_of(response)
    try:
        doc = response.json()
    except ValueError:
        return base
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        extra = errors[0].get("message") or errors[0].get("detail")
        if extra and str(extra) not in base:
            return f"{base} ({extra})"
    return base
