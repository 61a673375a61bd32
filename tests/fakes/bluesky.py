"""A Bluesky PDS: sessions, blobs and records.

See :mod:`tests.fakes.common` for the failure modes every stand-in shares.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from tests.fakes.common import AFTER_CREATE, NOW, FakePlatform, json_of
from tests.peers import LocalServer, Recorded, Reply

# -- Bluesky -------------------------------------------------------------------------------


class FakeBlueskyPds(FakePlatform):
    """createSession, uploadBlob, createRecord (with caller-chosen rkey) and getRecord."""

    permanent_text = "Invalid app.bsky.feed.post record: Record/text must not be longer than " \
                     "300 graphemes"

    def __init__(self, server: LocalServer, password: str, *, now: datetime = NOW) -> None:
        super().__init__(server, token="access-jwt-0001", now=now)
        self.password = password
        self.did = "did:plc:careers0000000000000000"
        self.records: dict[str, dict[str, Any]] = {}
        self.blobs = 0
        self.auth_broken = False
        #: The PDS's own service DID (``describeServer``): a service token's audience.
        self.service_did = "did:web:pds.example"

    def service_authorised(self, req: Recorded) -> bool:
        """A service token for uploadBlob addressed to this PDS, from getServiceAuth."""
        from tests.fakes.bluesky_video import token_claims

        claims = token_claims(req.headers.get("Authorization", "").removeprefix("Bearer "))
        return (claims.get("aud") == self.service_did and claims.get("iss") == self.did
                and claims.get("lxm") == "com.atproto.repo.uploadBlob")

    def _failure(self, mode: str) -> Reply:
        if mode == "transient":
            return Reply(500, {"error": "InternalServerError", "message": "Internal Server Error"})
        if mode == "rate_limit":
            reset = int(self.now.timestamp()) + 120
            return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                         headers={"ratelimit-limit": "5000", "ratelimit-remaining": "0",
                                  "ratelimit-reset": str(reset)})
        if mode == "permanent":
            return Reply(400, {"error": "InvalidRequest", "message": self.permanent_text})
        raise AssertionError(mode)

    def handle(self, req: Recorded, path: str, query: dict[str, str]) -> Reply:
        nsid = path.removeprefix("/xrpc/")
        if nsid in ("com.atproto.server.createSession", "com.atproto.server.refreshSession"):
            doc = json_of(req) or {}
            if self.auth_broken or (nsid.endswith("createSession")
                                    and doc.get("password") != self.password):
                return Reply(401, {"error": "AuthenticationRequired",
                                   "message": "Invalid identifier or password"})
            return Reply(200, {"accessJwt": self.token, "refreshJwt": "refresh-jwt-0001",
                               "did": self.did, "handle": "careers.example"})
        if self.auth_broken:
            return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
        if nsid == "com.atproto.server.describeServer":
            return Reply(200, {"did": self.service_did, "availableUserDomains": [".example"]})
        if nsid == "com.atproto.repo.uploadBlob" and self.service_authorised(req):
            pass  # the video service storing a processed video for the account
        elif not self.authorised(req) and nsid != "com.atproto.repo.getRecord":
            return Reply(401, {"error": "AuthenticationRequired", "message": "no token"})
        if nsid == "com.atproto.repo.getRecord":
            record = self.records.get(query.get("rkey", ""))
            if record is None:
                return Reply(400, {"error": "RecordNotFound", "message": "Could not locate record"})
            return Reply(200, record)
        if nsid == "com.atproto.repo.uploadBlob":
            self.blobs += 1
            return Reply(200, {"blob": {"$type": "blob", "ref": {"$link": "bafkrei" + "a" * 52},
                                        "mimeType": req.headers.get("Content-Type"),
                                        "size": len(req.body)}})
        if nsid == "com.atproto.repo.createRecord":
            self.publish_calls += 1
            mode = self.take_failure()
            if mode == "expired_token":
                self.auth_broken = True
                return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
            if mode and mode not in AFTER_CREATE:
                return self._failure(mode)
            doc = json_of(req) or {}
            rkey = doc["rkey"]
            if rkey in self.records:
                # A record key is unique in a repository: the PDS refuses a second record
                # under it with an error (the reference PDS answers 500), it never
                # overwrites (https://atproto.com/specs/record-key, createRecord vs putRecord:
                # https://docs.bsky.app/docs/api/com-atproto-repo-create-record).
                return Reply(500, {"error": "InternalServerError",
                                   "message": "Internal Server Error"})
            uri = f"at://{self.did}/app.bsky.feed.post/{rkey}"
            self.records[rkey] = {"uri": uri, "cid": "bafyrei" + "b" * 52, "value": doc["record"]}
            if mode in AFTER_CREATE:
                return self.after_create(mode)
            return Reply(200, {"uri": uri, "cid": self.records[rkey]["cid"]})
        if nsid == "com.atproto.repo.deleteRecord":
            # Deleting a record that is not there succeeds too: the call is idempotent
            # (https://docs.bsky.app/docs/api/com-atproto-repo-delete-record).
            mode = self.take_delete_failure()
            if mode and mode != "expired_token":
                return self._failure(mode)
            if mode == "expired_token":
                self.auth_broken = True
                return Reply(400, {"error": "ExpiredToken", "message": "Token has expired"})
            self.records.pop((json_of(req) or {}).get("rkey", ""), None)
            return Reply(200, {})
        if nsid == "com.atproto.server.getServiceAuth":
            # https://docs.bsky.app/docs/api/com-atproto-server-get-service-auth: a JWT
            # with iss (the account), aud, lxm and exp; unsigned here, read by the stand-in.
            claims = {"iss": self.did, "aud": query.get("aud"), "lxm": query.get("lxm"),
                      "exp": int(query.get("exp") or 0)}
            payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
            return Reply(200, {"token": f"eyJhbGciOiJub25lIn0.{payload}.sig"})
        if nsid == "com.atproto.server.getSession":
            return Reply(200, {"did": self.did, "handle": "careers.example"})
        return Reply(400, {"error": "MethodNotImplemented", "message": nsid})


