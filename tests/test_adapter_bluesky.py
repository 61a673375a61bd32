"""The Bluesky adapter against a real PDS (``bsky_peer``, account alice.test).

Records are read back with plain ``requests`` calls, not through the adapter, so the
assertions see what the PDS stored rather than what the adapter believes it sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import stat
import time

import pytest
import requests

from scheduler.adapters.bluesky import BlueskyAdapter, record_key
from scheduler.errors import AuthError, PermanentPublishError
from tests.peers import jpeg_bytes

COLLECTION = "app.bsky.feed.post"
LINK = "https://www.example.gov.uk/careers/é?ref=bsky"
CAPTION = f"Café naïve Zoë 🚀🇬🇧 👩🏽‍💻 apply at {LINK} #Sécurité"


def bluesky(peer, data_dir, password: str | None = None, **extra) -> BlueskyAdapter:
    raw = {"adapter": "bluesky", "service": peer.base_url, "handle": peer.info["BSKY_HANDLE"],
           "password_env": "POSTQ_BLUESKY_APP_PASSWORD", **extra}
    settings = BlueskyAdapter.parse_settings("bsky", raw)
    env = {"POSTQ_BLUESKY_APP_PASSWORD": password or peer.info["BSKY_PASSWORD"]}
    return BlueskyAdapter("bsky", settings, env=env, data_dir=data_dir)


class CallLog:
    """Every XRPC call the adapter makes and the PDS's error name for it, if any."""

    def __init__(self, adapter: BlueskyAdapter) -> None:
        self.calls: list[tuple[str, int, str | None]] = []
        adapter.http.session.hooks["response"].append(self._hook)

    def _hook(self, response: requests.Response, *args, **kwargs) -> None:
        nsid = response.request.url.split("/xrpc/")[1].split("?")[0]
        error = None
        if response.status_code >= 400:
            try:
                error = response.json().get("error")
            except ValueError:
                error = "?"
        self.calls.append((nsid, response.status_code, error))

    def names(self) -> list[str]:
        return [c[0].rsplit(".", 1)[1] for c in self.calls]


def get_record(peer, rkey: str) -> requests.Response:
    return requests.get(f"{peer.base_url}/xrpc/com.atproto.repo.getRecord", timeout=10,
                        params={"repo": peer.info["BSKY_DID"], "collection": COLLECTION,
                                "rkey": rkey})


def list_rkeys(peer) -> list[str]:
    response = requests.get(f"{peer.base_url}/xrpc/com.atproto.repo.listRecords", timeout=10,
                            params={"repo": peer.info["BSKY_DID"], "collection": COLLECTION,
                                    "limit": 100})
    response.raise_for_status()
    return [r["uri"].rsplit("/", 1)[1] for r in response.json()["records"]]


def test_publish_and_read_back(bsky_peer, tmp_path, make_post, make_image):
    image = make_image(120, 80, alt="Archive exhibit: a brass key 🗝️ on felt.")
    post = make_post(CAPTION, (image,), language="en-GB")
    published = bluesky(bsky_peer, tmp_path).publish(post)

    rkey = record_key(post.delivery_id)
    assert published.remote_id == f"at://{bsky_peer.info['BSKY_DID']}/{COLLECTION}/{rkey}"
    assert published.url == f"https://bsky.app/profile/{bsky_peer.info['BSKY_HANDLE']}/post/{rkey}"
    response = get_record(bsky_peer, rkey)
    assert response.status_code == 200, response.text
    value = response.json()["value"]
    assert value["text"] == CAPTION
    assert value["langs"] == ["en-GB"]
    assert value["createdAt"].endswith("Z")

    # The facets select exactly the link and the tag, counted in UTF-8 bytes.
    raw = value["text"].encode("utf-8")
    selected = [
        (f["features"][0]["$type"], raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode())
        for f in value["facets"]
    ]
    assert selected == [("app.bsky.richtext.facet#link", LINK),
                        ("app.bsky.richtext.facet#tag", "#Sécurité")]
    assert value["facets"][0]["features"][0]["uri"] == LINK
    assert value["facets"][1]["features"][0]["tag"] == "Sécurité"

    [embedded] = value["embed"]["images"]
    assert value["embed"]["$type"] == "app.bsky.embed.images"
    assert embedded["alt"] == image.alt
    assert embedded["aspectRatio"] == {"width": 120, "height": 80}
    assert embedded["image"]["mimeType"] == "image/jpeg"
    assert embedded["image"]["size"] == len(image.read_bytes())
    blob = requests.get(f"{bsky_peer.base_url}/xrpc/com.atproto.sync.getBlob", timeout=10,
                        params={"did": bsky_peer.info["BSKY_DID"],
                                "cid": embedded["image"]["ref"]["$link"]})
    assert blob.content == image.read_bytes()


def _jpeg_near(limit: int) -> bytes:
    """A noisy JPEG just under ``limit`` bytes."""
    side = 300
    best = b""
    for _ in range(30):
        data = jpeg_bytes(side, side, noise=True, quality=92)
        if len(data) <= limit:
            best = data if len(data) > len(best) else best
            if len(data) > limit * 0.97:
                return data
            side = int(side * (limit * 0.985 / len(data)) ** 0.5)
        else:
            side = int(side * (limit * 0.985 / len(data)) ** 0.5)
    assert len(best) > limit * 0.9
    return best


def test_image_at_the_size_limit_is_accepted(bsky_peer, tmp_path, make_post, make_image):
    data = _jpeg_near(1_000_000)
    assert 970_000 < len(data) <= 1_000_000
    image = make_image(data=data, alt="Noise at the size limit.")
    post = make_post("Big picture", (image,))
    bluesky(bsky_peer, tmp_path).publish(post)
    value = get_record(bsky_peer, record_key(post.delivery_id)).json()["value"]
    assert value["embed"]["images"][0]["image"]["size"] == len(data)


def test_image_over_the_limit_is_refused_before_upload(bsky_peer, tmp_path, make_post,
                                                      make_image):
    data = jpeg_bytes(1000, 1000, noise=True, quality=95)
    assert len(data) > 1_000_000
    adapter = bluesky(bsky_peer, tmp_path)
    log = CallLog(adapter)
    with pytest.raises(PermanentPublishError, match="at most 1000000"):
        adapter.publish(make_post("Too big", (make_image(data=data),)))
    assert log.calls == []


def test_same_delivery_twice_makes_one_record(bsky_peer, tmp_path, make_post, make_image):
    post = make_post("Only once, please. #exactlyonce", (make_image(),))
    first = bluesky(bsky_peer, tmp_path).publish(post)
    again = bluesky(bsky_peer, tmp_path / "other").publish(post)  # fresh adapter, no cache
    assert again == first
    assert list_rkeys(bsky_peer).count(record_key(post.delivery_id)) == 1


class RacingAdapter(BlueskyAdapter):
    """Two publishers that both looked before either wrote: the first look finds nothing."""

    looked = False

    def get_record(self, rkey):
        if not self.looked:
            self.looked = True
            return None
        return super().get_record(rkey)


def test_record_key_already_taken_returns_the_earlier_post(bsky_peer, tmp_path, make_post):
    post = make_post("Raced. #exactlyonce")
    first = bluesky(bsky_peer, tmp_path).publish(post)
    settings = BlueskyAdapter.parse_settings("bsky", {
        "adapter": "bluesky", "base_url": bsky_peer.base_url,
        "handle": bsky_peer.info["BSKY_HANDLE"], "password_env": "PW"})
    racer = RacingAdapter("bsky", settings, env={"PW": bsky_peer.info["BSKY_PASSWORD"]})
    log = CallLog(racer)
    assert racer.publish(post) == first
    assert ("com.atproto.repo.createRecord", 500, "InternalServerError") in log.calls
    assert list_rkeys(bsky_peer).count(record_key(post.delivery_id)) == 1


def test_check_finds_the_earlier_success(bsky_peer, tmp_path, make_post):
    post = make_post("Checked afterwards.")
    adapter = bluesky(bsky_peer, tmp_path)
    assert adapter.check(post) is None
    published = adapter.publish(post)
    assert bluesky(bsky_peer, tmp_path / "fresh").check(post) == published
    assert adapter.check(make_post("Never sent.")) is None


def _pds_jwt_secret(peer) -> bytes:
    const = peer.folder / "node_modules" / "@atproto" / "dev-env" / "dist" / "const.js"
    match = re.search(r"JWT_SECRET = '([^']+)'", const.read_text(encoding="utf-8"))
    assert match, "the dev PDS's JWT secret could not be read"
    return match.group(1).encode()


def _expired_copy(token: str, secret: bytes) -> str:
    """The same access token with an expiry in the past, signed as the dev PDS signs."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header, payload, _sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 60
    signing_input = f"{header}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_expired_session_is_refreshed(bsky_peer, tmp_path, make_post, make_image):
    first = bluesky(bsky_peer, tmp_path)
    session_file = first.session_file
    first.session()  # signs in and caches the session
    assert stat.S_IMODE(session_file.stat().st_mode) == 0o600
    cached = json.loads(session_file.read_text())
    cached["accessJwt"] = _expired_copy(cached["accessJwt"], _pds_jwt_secret(bsky_peer))
    session_file.write_text(json.dumps(cached))

    adapter = bluesky(bsky_peer, tmp_path)  # a later run picks up the cached session
    log = CallLog(adapter)
    post = make_post("After a token expired.", (make_image(),))
    published = adapter.publish(post)
    assert ("com.atproto.repo.uploadBlob", 400, "ExpiredToken") in log.calls
    assert "refreshSession" in log.names()
    assert "createSession" not in log.names()
    assert get_record(bsky_peer, record_key(post.delivery_id)).status_code == 200
    assert published.remote_id.endswith(record_key(post.delivery_id))
    renewed = json.loads(session_file.read_text())
    assert renewed["accessJwt"] != cached["accessJwt"]


def test_unusable_tokens_lead_to_a_new_session(bsky_peer, tmp_path, make_post):
    adapter = bluesky(bsky_peer, tmp_path)
    adapter.session()
    adapter._session = {**adapter._session, "accessJwt": "garbage.token.value",
                        "refreshJwt": "garbage.refresh.value"}
    log = CallLog(adapter)
    adapter.publish(make_post("After a broken session."))
    assert ("com.atproto.repo.createRecord", 400, "InvalidToken") in log.calls
    assert ("com.atproto.server.refreshSession", 400, "InvalidToken") in log.calls
    assert "createSession" in log.names()
    assert log.names().count("createRecord") == 2  # refused once, then sent once


def test_session_is_reused_between_runs(bsky_peer, tmp_path, make_post):
    bluesky(bsky_peer, tmp_path).session()
    adapter = bluesky(bsky_peer, tmp_path)
    log = CallLog(adapter)
    adapter.publish(make_post("Reusing the session."))
    assert "createSession" not in log.names()


def test_wrong_password_is_auth_error_without_the_password(bsky_peer, tmp_path, make_post,
                                                          caplog):
    caplog.set_level("DEBUG")
    wrong = "Wrong-Password-RECOGNISABLE-77"
    adapter = bluesky(bsky_peer, tmp_path, password=wrong, cache_session=False)
    with pytest.raises(AuthError) as info:
        adapter.publish(make_post("Never."))
    assert wrong not in str(info.value)
    assert wrong not in caplog.text
    assert adapter.session_file is None


def test_plan_has_no_secrets(bsky_peer, tmp_path, make_post, make_image):
    password = bsky_peer.info["BSKY_PASSWORD"]
    adapter = bluesky(bsky_peer, tmp_path)
    post = make_post(CAPTION, (make_image(),))
    planned = adapter.plan(post)
    assert [p.url.rsplit("/", 1)[1] for p in planned] == [
        "com.atproto.server.createSession", "com.atproto.repo.uploadBlob",
        "com.atproto.repo.createRecord"]
    adapter.session()
    planned = adapter.plan(post)
    shown = json.dumps([p.as_dict() for p in planned])
    for secret in (password, adapter._session["accessJwt"], adapter._session["refreshJwt"]):
        assert secret not in shown
    assert planned[-1].body["rkey"] == record_key(post.delivery_id)
    assert planned[0].body.startswith("<") and "image/jpeg" in planned[0].body
    assert get_record(bsky_peer, record_key(post.delivery_id)).status_code == 400


def test_record_keys_are_valid_tids():
    keys = {record_key(f"post-{n}@bluesky") for n in range(2000)}
    assert len(keys) == 2000
    for key in keys:
        assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key)
    assert record_key("a@b") == record_key("a@b")


def test_settings_accept_base_url(tmp_path):
    settings = BlueskyAdapter.parse_settings(
        "b", {"adapter": "bluesky", "base_url": "http://127.0.0.1:1/", "handle": "h",
              "password_env": "P"})
    assert settings.pds == "http://127.0.0.1:1"
    default = BlueskyAdapter.parse_settings(
        "b", {"adapter": "bluesky", "handle": "h", "password_env": "P"})
    assert default.pds == "https://bsky.social"

