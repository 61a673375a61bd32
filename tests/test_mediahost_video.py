"""Media hosts take a video from its file in pieces: the same name its bytes would get,
an ``.mp4`` Meta can fetch, never the whole file in memory, and nothing left behind when
the file changed after approval."""

from __future__ import annotations

import hashlib
import os

import pytest

from scheduler.adapters.outgoing import OutgoingVideo
from scheduler.errors import PermanentPublishError
from scheduler.mediahost import build_media_host
from tests.test_mediahost import s3_env  # noqa: F401  (the moto fixture)


def video_file(tmp_path, data: bytes, *, sha: str | None = None) -> OutgoingVideo:
    path = tmp_path / "clip.mp4"
    path.write_bytes(data)
    return OutgoingVideo(path=path, sha256=sha or hashlib.sha256(data).hexdigest(),
                         size=len(data), mime="video/mp4", alt="A clip.", width=16, height=16)


def directory(tmp_path):
    raw = {"kind": "directory", "path": str(tmp_path / "www"),
           "public_base_url": "https://media.example.gov.uk/postq"}
    return build_media_host(raw, data_dir=tmp_path / "data")


def test_directory_host_copies_a_video_in_pieces(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    host = directory(tmp_path)
    video = video_file(tmp_path, data)
    url = host.put_file(video)
    assert url == host.url_for(data, "video/mp4") == host.url_for_file(video)
    assert url.endswith(".mp4")
    (stored,) = (tmp_path / "www").iterdir()
    assert stored.read_bytes() == data and url.endswith(stored.name)
    assert host.put_file(video) == url  # already there: not copied again


def test_a_changed_video_leaves_nothing_on_the_host(tmp_path):
    host = directory(tmp_path)
    video = video_file(tmp_path, b"\x00\x00\x00\x18ftypmp42" * 1000, sha="0" * 64)
    with pytest.raises(PermanentPublishError, match="changed since it was queued"):
        host.put_file(video)
    assert not (tmp_path / "www").exists() or not list((tmp_path / "www").iterdir())


S3 = {"kind": "s3", "bucket": "careers-media", "prefix": "postq/", "region": "eu-west-2",
      "public_base_url": "https://careers-media.s3.eu-west-2.amazonaws.com/postq"}


def test_s3_host_streams_a_video(s3_env, tmp_path):  # noqa: F811
    data = os.urandom(9 * 1024 * 1024)  # above boto3's multipart threshold
    host = build_media_host(S3, env=dict(os.environ), data_dir=tmp_path)
    url = host.put_file(video_file(tmp_path, data))
    assert url == host.url_for(data, "video/mp4")
    obj = s3_env.get_object(Bucket="careers-media", Key=f"postq/{url.rsplit('/', 1)[-1]}")
    assert obj["Body"].read() == data and obj["ContentType"] == "video/mp4"


def test_s3_host_refuses_a_changed_video(s3_env, tmp_path):  # noqa: F811
    host = build_media_host(S3, env=dict(os.environ), data_dir=tmp_path)
    with pytest.raises(PermanentPublishError, match="changed since it was queued"):
        host.put_file(video_file(tmp_path, os.urandom(1024), sha="0" * 64))
    assert "Contents" not in s3_env.list_objects_v2(Bucket="careers-media")
