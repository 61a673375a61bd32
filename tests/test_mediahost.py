"""Media hosts: content-addressed, unguessable names at a public URL; found by entry point."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from scheduler.errors import AuthError, ConfigError, PermanentPublishError, TransientPublishError
from scheduler.mediahost import MediaHostConfig, build_media_host, host_class
from scheduler.mediahost.base import KEY_FILE
from scheduler.mediahost.directory import DirectoryHost
from tests.peers import jpeg_bytes

BASE = "https://media.example.gov.uk/postq"


def directory(tmp_path, **extra):
    raw = {"kind": "directory", "path": str(tmp_path / "www"), "public_base_url": BASE + "/",
           **extra}
    return build_media_host(raw, env=extra.pop("env", {}), data_dir=tmp_path / "data")


def test_directory_host_writes_an_unguessable_content_addressed_name(tmp_path):
    host = directory(tmp_path)
    data = jpeg_bytes()
    url = host.put(data, "image/jpeg")
    assert url.startswith(BASE + "/") and url.endswith(".jpg")
    name = url.rsplit("/", 1)[-1]
    stored = tmp_path / "www" / name
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) & 0o004, "the web server must be able to read it"
    # Not the plain hash: nobody can find an unpublished image by hashing candidates.
    assert hashlib.sha256(data).hexdigest() not in name
    assert len(name.split(".")[0]) == 64
    assert [p.name for p in (tmp_path / "www").iterdir()] == [name]


def test_same_content_same_url_and_no_second_copy(tmp_path):
    host = directory(tmp_path)
    data = jpeg_bytes()
    first = host.put(data, "image/jpeg")
    assert host.put(data, "image/jpeg") == first
    # A new process with the same data_dir keeps the key, hence the name.
    assert directory(tmp_path).put(data, "image/jpeg") == first
    assert len(list((tmp_path / "www").iterdir())) == 1
    other = host.put(jpeg_bytes(color=(200, 10, 10)), "image/jpeg")
    assert other != first


def test_key_file_is_private_and_outside_the_served_folder(tmp_path):
    directory(tmp_path).put(jpeg_bytes(), "image/jpeg")
    key = tmp_path / "data" / KEY_FILE
    assert key.is_file() and len(key.read_bytes()) == 32
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not any(p.name == KEY_FILE for p in (tmp_path / "www").iterdir())


def test_different_keys_give_different_names(tmp_path):
    data = jpeg_bytes()
    one = directory(tmp_path / "a").put(data, "image/jpeg").rsplit("/", 1)[-1]
    two = directory(tmp_path / "b").put(data, "image/jpeg").rsplit("/", 1)[-1]
    assert one != two


def test_key_from_the_environment(tmp_path):
    raw = {"kind": "directory", "path": str(tmp_path / "www"), "public_base_url": BASE,
           "key_env": "POSTQ_MEDIA_KEY"}
    host = build_media_host(raw, env={"POSTQ_MEDIA_KEY": "k" * 32}, data_dir=None)
    again = build_media_host(raw, env={"POSTQ_MEDIA_KEY": "k" * 32}, data_dir=None)
    assert host.put(b"\xff\xd8x", "image/jpeg") == again.url_for(b"\xff\xd8x", "image/jpeg")
    assert host.secrets() == ["k" * 32]
    with pytest.raises(ConfigError, match="POSTQ_MEDIA_KEY is not set"):
        build_media_host(raw, env={}).put(b"x", "image/jpeg")


def test_url_for_stores_nothing(tmp_path):
    host = directory(tmp_path)
    url = host.url_for(jpeg_bytes(), "image/png")
    assert url.endswith(".png")
    assert not (tmp_path / "www").exists()


def test_unwritable_folder_is_transient(tmp_path):
    (tmp_path / "www").write_text("a file where the folder should be")
    with pytest.raises(TransientPublishError, match="cannot write"):
        directory(tmp_path).put(jpeg_bytes(), "image/jpeg")


def test_delete_stays_inside_the_folder(tmp_path):
    host = directory(tmp_path)
    url = host.put(jpeg_bytes(), "image/jpeg")
    outside = tmp_path / "secret.txt"
    outside.write_text("keep")
    host.delete(BASE + "/../secret.txt")
    host.delete("https://elsewhere.example/" + url.rsplit("/", 1)[-1])
    assert outside.exists() and len(list((tmp_path / "www").iterdir())) == 1
    host.delete(url)
    assert list((tmp_path / "www").iterdir()) == []


def test_hosts_are_found_through_entry_points():
    assert host_class("directory") is DirectoryHost
    assert host_class("s3").__name__ == "S3Host"
    with pytest.raises(ConfigError, match=r"no media host kind 'ftp' .*directory, s3"):
        host_class("ftp")


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(ValueError, match="path: Field required"):
        MediaHostConfig.model_validate({"kind": "directory", "public_base_url": BASE})
    with pytest.raises(ValueError, match="public_base_url: Value error, must be an absolute"):
        MediaHostConfig.model_validate({"kind": "directory", "path": "/x", "public_base_url": "x"})
    with pytest.raises(ValueError, match="colour: unknown key"):
        MediaHostConfig.model_validate({"kind": "directory", "path": "/x",
                                        "public_base_url": BASE, "colour": "red"})


# -- S3, against moto's in-process S3 -----------------------------------------------------


@pytest.fixture
def s3_env(monkeypatch):
    pytest.importorskip("boto3", reason="the s3 extra (boto3) is not installed")
    moto = pytest.importorskip("moto", reason="moto is needed to test the s3 media host")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket="careers-media",
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


def test_s3_host_uploads_once_under_the_prefix(s3_env, tmp_path):
    raw = {"kind": "s3", "bucket": "careers-media", "prefix": "postq/", "region": "eu-west-2",
           "public_base_url": "https://careers-media.s3.eu-west-2.amazonaws.com/postq"}
    host = build_media_host(raw, env=dict(os.environ), data_dir=tmp_path)
    data = jpeg_bytes()
    url = host.put(data, "image/jpeg")
    assert host.put(data, "image/jpeg") == url
    name = url.rsplit("/", 1)[-1]
    obj = s3_env.get_object(Bucket="careers-media", Key=f"postq/{name}")
    assert obj["Body"].read() == data
    assert obj["ContentType"] == "image/jpeg"
    assert [o["Key"] for o in s3_env.list_objects_v2(Bucket="careers-media")["Contents"]] == [
        f"postq/{name}"]
    host.delete(url)
    assert "Contents" not in s3_env.list_objects_v2(Bucket="careers-media")


def test_s3_missing_bucket_is_permanent_and_denied_is_auth(s3_env, tmp_path):
    raw = {"kind": "s3", "bucket": "no-such-bucket", "region": "eu-west-2",
           "public_base_url": "https://cdn.example/x"}
    with pytest.raises(PermanentPublishError, match="NoSuchBucket"):
        build_media_host(raw, data_dir=tmp_path).put(b"\xff\xd8", "image/jpeg")
    from scheduler.mediahost.s3 import _translate

    class Denied(Exception):
        response = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}

    assert isinstance(_translate(Denied("denied"), "b"), AuthError)
