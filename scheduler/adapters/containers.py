"""The build-wait-publish flow of Instagram and Threads containers, on Meta's Graph API.

Kept apart from :mod:`scheduler.adapters.meta` (errors, tokens, versions) because it is
the one part with steps whose remote ids must survive a restart.

Videos take the same flow: the file goes to the channel's media host (Meta fetches it
from ``video_url``), and the container stays ``IN_PROGRESS`` while Meta transcodes it,
which can take minutes. Instagram asks to query a container's status about once a minute
for no more than five minutes
(https://developers.facebook.com/docs/instagram-platform/content-publishing/#troubleshooting);
one publishing call polls within :data:`~scheduler.adapters.base.VIDEO_WAIT_BUDGET`
(:meth:`Adapter.await_processing`), then hands the delivery back with the container id
recorded, and the next attempt polls the same container: nothing is fetched twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from scheduler.adapters.base import (
    OutgoingImage,
    OutgoingPost,
    OutgoingVideo,
    PlannedRequest,
    Processing,
    Published,
)
from scheduler.adapters.http import describe_bytes
from scheduler.adapters.meta import (
    ContainerExpired,
    GraphAdapter,
    as_int,
    normalise_text,
    recent_enough,
)
from scheduler.errors import (
    OutcomeUnknown,
    PermanentPublishError,
    PublishError,
    RateLimited,
    TransientPublishError,
)

#: What a container carries: an image or a video.
Media = OutgoingImage | OutgoingVideo


class GraphContainerAdapter(GraphAdapter):
    """The build-wait-publish flow of Instagram and Threads.

    Meta has no idempotency key. What keeps a post from appearing twice:

    * each container id (carousel children, then the parent) is recorded in the store
      (``remote_state``) before the next call, so a crash or the next ``run --once``
      finishes the same container instead of building a second one, and a container
      whose status is ``PUBLISHED`` is never published again;
    * every carousel child is polled to FINISHED before the parent is created, as the
      content publishing guide asks
      (https://developers.facebook.com/docs/instagram-platform/content-publishing/);
    * ``publish`` (the only call with a public effect) losing its answer raises
      OutcomeUnknown, and ``check`` then asks: the container's status when known, and in
      any case the account's latest posts, matched by exact caption and not older than
      the delivery's due time.
    """

    #: Endpoint and field names; subclasses fill these in.
    create_path: ClassVar[str]
    publish_path: ClassVar[str]
    limit_path: ClassVar[str]
    status_field: ClassVar[str]
    text_field: ClassVar[str]
    list_path: ClassVar[str]
    list_fields: ClassVar[str]

    @property
    def user(self) -> str:
        raise NotImplementedError

    # -- containers ---------------------------------------------------------------------
    def container_of(self, post: OutgoingPost) -> str | None:
        found = self.progress(post).get("container_id")
        return str(found) if found else None

    def forget_container(self, post: OutgoingPost) -> None:
        """Drop the recorded containers (expired or refused): the next attempt builds anew."""
        self.remember(post, container_id=None, children=None, upload_uri=None,
                      uploaded_bytes=None)

    def container_status(self, container_id: str) -> tuple[str, str]:
        """``(status, detail)`` of a container: IN_PROGRESS, FINISHED, ERROR, EXPIRED, PUBLISHED."""
        fields = self.status_field if self.status_field == "status" else f"{self.status_field},status"
        doc = self.graph("GET", f"/{container_id}", params={"fields": f"{fields},id"})
        status = str(doc.get(self.status_field) or "").upper()
        detail = doc.get("error_message") or doc.get("status") or ""
        return status, str(detail)

    def wait_until_ready(self, container_id: str, post: OutgoingPost, *,
                         child: bool = False) -> bool:
        """Poll the container until FINISHED; ERROR is permanent, EXPIRED starts over.

        Returns False when ready. ``error_message`` of a refused container is quoted.
        A video container is polled within the video budget and left to the next attempt
        (:class:`StillProcessing`) while Meta is still transcoding it; so is every item of
        a carousel holding a video, and the carousel itself.
        """
        if post.video is not None:
            return self._wait_for_video(container_id, post, child=child)
        interval = 1.0
        for attempt in range(self.poll_attempts):
            status, detail = self.container_status(container_id)
            if status == "FINISHED":
                return False
            if status == "PUBLISHED" and not child:
                raise _AlreadyPublished(container_id)
            if status == "ERROR":
                self.forget_container(post)
                raise PermanentPublishError(
                    f"{self.http.platform}: the platform refused the media of container "
                    f"{container_id}: {detail or 'ERROR'}"
                )
            if status == "EXPIRED":
                self.forget_container(post)
                if child:
                    return True
                raise ContainerExpired(f"{self.http.platform}: container {container_id} expired")
            if attempt < self.poll_attempts - 1:
                self.sleep(interval)
                interval = min(interval * 2, self.poll_max_interval)
        raise TransientPublishError(
            f"{self.http.platform}: container {container_id} is still being processed",
            retry_after=30.0,
        )

    def _wait_for_video(self, container_id: str, post: OutgoingPost, *, child: bool) -> bool:
        expired = False

        def poll() -> Processing:
            nonlocal expired
            status, detail = self.container_status(container_id)
            if status == "PUBLISHED" and not child:
                raise _AlreadyPublished(container_id)
            if status == "EXPIRED":
                expired = True
                return Processing("done")
            if status == "ERROR":
                return Processing("failed", detail=f"container {container_id}: "
                                                   f"{detail or 'ERROR'}")
            return Processing("done" if status == "FINISHED" else "pending")

        # A carousel of images and a video polls every item this way: name the item.
        what = (f"carousel item {container_id}" if child else
                f"the video of {self.http.platform} container {container_id}")
        self.await_processing(post, what, poll, self.sleep,
                              forget=lambda: self.forget_container(post))
        if expired:
            self.forget_container(post)
            if child:
                return True
            raise ContainerExpired(f"{self.http.platform}: container {container_id} expired")
        return False

    def check_quota(self) -> None:
        """RateLimited when the rolling 24 h publishing quota is used up."""
        doc = self.graph("GET", f"/{self.user}/{self.limit_path}",
                         params={"fields": "quota_usage,config"})
        rows = doc.get("data") if isinstance(doc, dict) else None
        row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else {}
        usage = as_int(row.get("quota_usage"))
        total = as_int((row.get("config") or {}).get("quota_total"))
        if usage is not None and total is not None and usage >= total:
            raise RateLimited(
                f"{self.http.platform}: publishing quota used up ({usage} of {total} posts in "
                "24 hours)",
                retry_after=self.quota_wait,
            )

    @staticmethod
    def _form(fields: Mapping[str, Any]) -> dict[str, str]:
        return {k: str(v).lower() if isinstance(v, bool) else str(v)
                for k, v in fields.items() if v not in (None, "")}

    def create_container(self, fields: Mapping[str, Any]) -> str:
        return str(self.create_container_doc(fields)["id"])

    def create_container_doc(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        # Building a container publishes nothing, so a lost answer is only transient.
        doc = self.graph("POST", f"/{self.user}/{self.create_path}", data=self._form(fields),
                         idempotent=True)
        return doc if isinstance(doc, dict) else {}

    def send_media(self, post: OutgoingPost, container_id: str) -> None:
        """Send the bytes of a container built for an upload (not fetched from a URL)
        before it is waited for; Instagram's resumable upload does."""

    def planned_upload(self, post: OutgoingPost) -> list[PlannedRequest]:
        """The requests :meth:`send_media` would send (none: the media is fetched)."""
        return []

    def permalink(self, media_id: str) -> str | None:
        """The post's web address; a failure here must not fail a publication that worked."""
        try:
            doc = self.graph("GET", f"/{media_id}", params={"fields": "permalink"})
        except PublishError:
            return None
        link = doc.get("permalink") if isinstance(doc, dict) else None
        return str(link) if link else None

    def media_url(self, item: Media) -> str:
        """The public URL Meta fetches ``item`` from: an image, a cover or a video (read
        and checked against its approved hash as it goes to the media host)."""
        if isinstance(item, OutgoingVideo):
            return self.media_host().put_file(item)
        return self.image_url(item)

    def planned_media_url(self, item: Media) -> str:
        if isinstance(item, OutgoingVideo):
            if self._settings.media_host is None:
                return "<no media_host configured>"
            return self.media_host().url_for_file(item)
        return self.planned_image_url(item)

    # -- what subclasses describe -------------------------------------------------------
    def container_steps(
        self, post: OutgoingPost, url_of: Callable[[Media], str]
    ) -> list[dict[str, Any]]:
        """The containers to build, children first and the one to publish last (which
        gets the children's ids as ``children``); ``url_of`` gives an image's or a
        video's public URL."""
        raise NotImplementedError

    def listing(self, post: OutgoingPost) -> tuple[str, str]:
        """Where ``check`` looks for the published post, and the text it must have."""
        return self.list_path, post.caption

    def plan(self, post: OutgoingPost) -> list[PlannedRequest]:
        auth = {"Authorization": "Bearer ***"}
        planned = [
            PlannedRequest(method="STORE", url=self.planned_image_url(image),
                           body=describe_bytes(image.read_bytes(), image.mime))
            for image in post.images
        ]
        if post.video is not None and not self.planned_upload(post):
            planned.append(PlannedRequest(
                method="STORE", url=self.planned_media_url(post.video),
                body=f"<{post.video.mime}, {post.video.size:,} bytes>"))
        planned.append(self.http.plan("GET", f"/{self.user}/{self.limit_path}", headers=auth))
        steps = self.container_steps(post, self.planned_media_url)
        for step in steps[:-1]:
            planned.append(self.http.plan("POST", f"/{self.user}/{self.create_path}",
                                          headers=auth, data=self._form(step)))
        last = dict(steps[-1])
        if len(steps) > 1:
            last["children"] = ",".join(f"<id of item {n}>" for n in range(1, len(steps)))
        planned.append(self.http.plan("POST", f"/{self.user}/{self.create_path}", headers=auth,
                                      data=self._form(last)))
        planned += self.planned_upload(post)
        if post.video is not None:
            planned.append(self.http.plan(
                "GET", f"/<id of the container>?fields={self.status_field}", headers=auth))
        planned.append(self.http.plan("POST", f"/{self.user}/{self.publish_path}", headers=auth,
                                      data={"creation_id": "<id of the container>"}))
        return planned

    # -- the adapter interface ----------------------------------------------------------
    def publish(self, post: OutgoingPost) -> Published:
        self.check_fits(post)
        self.check_version()
        return self.publish_parts(post)

    def publish_parts(self, post: OutgoingPost) -> Published:
        """A post that is one part as it is; Threads chains a thread's parts as replies
        (see :class:`~scheduler.adapters.threads.ThreadsAdapter`)."""
        return self._publish_one(post)

    def _publish_one(self, post: OutgoingPost) -> Published:
        """One post: its containers, then publishing the last."""
        container_id = self.container_of(post)
        if container_id is not None:
            status, _detail = self.container_status(container_id)
            if status == "PUBLISHED":
                return self._already_published(post, container_id)
            if status not in ("FINISHED", "IN_PROGRESS"):
                self.forget_container(post)
                container_id = None
        self.check_quota()
        if container_id is None:
            container_id = self._build(post)
        if self.progress(post).get("upload_uri"):
            self.send_media(post, container_id)
        try:
            self.wait_until_ready(container_id, post)
        except _AlreadyPublished:
            return self._already_published(post, container_id)

        def send() -> Published:
            try:
                doc = self.graph("POST", f"/{self.user}/{self.publish_path}",
                                 data={"creation_id": container_id})
            except ContainerExpired:
                self.forget_container(post)
                raise
            media_id = str(doc["id"])
            return Published(remote_id=media_id, url=self.permalink(media_id))

        return self.create(post, send)

    def _build(self, post: OutgoingPost) -> str:
        """Create the containers, recording each id before the next call.

        Children recorded by an earlier attempt are reused; every child must be FINISHED
        before the carousel that names it is created.
        """
        steps = self.container_steps(post, self.media_url)
        children = [str(c) for c in self.progress(post).get("children") or []]
        for step in steps[len(children):-1]:
            children.append(self.create_container(step))
            self.remember(post, children=children)
        for child in children:
            if self.wait_until_ready(child, post, child=True):
                # Meta dropped this child (expired): build them all again next time.
                raise ContainerExpired(f"{self.http.platform}: carousel item {child} expired")
        last = dict(steps[-1])
        if children:
            last["children"] = ",".join(children)
        doc = self.create_container_doc(last)
        container_id = str(doc["id"])
        upload = {"upload_uri": str(doc["uri"]), "uploaded_bytes": 0} if doc.get("uri") else {}
        self.remember(post, container_id=container_id, **upload)
        return container_id

    def _already_published(self, post: OutgoingPost, container_id: str) -> Published:
        found = self.find_published(post)
        if found is not None:
            return self.created(post, found)
        raise OutcomeUnknown(
            f"{self.http.platform}: container {container_id} is already published but the "
            "post was not found among the latest ones"
        )

    def find_published(self, post: OutgoingPost) -> Published | None:
        """The account's latest posts, matched by exact text and time."""
        path, text = self.listing(post)
        doc = self.graph("GET", f"/{self.user}/{path}",
                         params={"fields": self.list_fields, "limit": 25})
        wanted = normalise_text(text)
        for item in doc.get("data") or [] if isinstance(doc, dict) else []:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            if normalise_text(str(item.get(self.text_field) or "")) != wanted:
                continue
            if not recent_enough(item.get("timestamp"), post):
                continue
            link = item.get("permalink")
            return Published(remote_id=str(item["id"]),
                             url=str(link) if link else self.permalink(str(item["id"])))
        return None

    def check(self, post: OutgoingPost) -> Published | None:
        known = self.progress(post).get("remote_id")
        if known:
            try:
                doc = self.graph("GET", f"/{known}", params={"fields": "permalink"})
            except PermanentPublishError:
                doc = None  # deleted since: the container and the listing decide
            if isinstance(doc, dict) and doc.get("id"):
                link = doc.get("permalink")
                return Published(remote_id=str(known), url=str(link) if link else None)
        container_id = self.container_of(post)
        status = ""
        if container_id is not None:
            try:
                status, _ = self.container_status(container_id)
            except PermanentPublishError:
                status = ""  # an unknown container: fall back to the caption
            if status in ("FINISHED", "IN_PROGRESS", "ERROR", "EXPIRED"):
                return None  # a container that is not PUBLISHED was certainly not posted
        found = self.find_published(post)
        if found is None and container_id is not None and status == "PUBLISHED":
            raise OutcomeUnknown(
                f"{self.http.platform}: container {container_id} is published but the post "
                "was not found among the latest ones"
            )
        return found if found is not None else self.nothing_found(post)

class _AlreadyPublished(Exception):
    def __init__(self, container_id: str) -> None:
        super().__init__(container_id)
        self.container_id = container_id
