"""Media every publisher can read: queued on one machine, published from another whose
``data_dir`` is empty, through the database (PostgreSQL ``bytea`` / SQLite blob, in parts)
or an S3 bucket (moto's in-process S3, as ``tests/test_mediahost.py`` uses), always
checked against the hash before it is used."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from scheduler.content.snapshot import ImageSnapshot
from scheduler.errors import ConfigError, StoreError
from scheduler.store import Store
from scheduler.store.blobs import PART, DatabaseMedia, S3Media
from scheduler.store.schema import T
from scheduler.timeutil import FixedClock
from tests.test_store_support import DB_PARAMS, image, make_db_url, snap

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_db_url(request.param, tmp_path)


def machine(db_url: str, tmp_path: Path, name: str, media_store: dict[str, Any] | None) -> Store:
    """A store as one machine opens it: the shared database, its own empty data_dir."""
    return Store(db_url, tmp_path / name / "media", clock=FixedClock(NOW), user=name,
                 media_store=media_store)


def _claim_and_read(here: Store) -> Any:
    (claimed,) = here.claim_due(DUE, worker="there:1")
    return here.outgoing(claimed)


def _big_image() -> ImageSnapshot:
    data = os.urandom(PART * 2 + 1000)  # three parts
    return ImageSnapshot(data=data, mime="image/png", alt="Noise.", width=32, height=24,
                         source="careers/noise.png")


def test_a_post_queued_on_one_machine_is_published_from_another(db_url: str,
                                                                tmp_path: Path) -> None:
    kind = {"kind": "database"}
    queued_here = machine(db_url, tmp_path, "a", kind)
    queued_here.add(snap(images=(image(), _big_image())), due_at=DUE, require_approval=False)
    there = machine(db_url, tmp_path, "b", kind)
    assert not (tmp_path / "b" / "media").exists()
    out = _claim_and_read(there)
    assert [img.read_bytes() for img in out.images] == [image().data, _read(queued_here, 1)]
    big = out.images[1]
    assert hashlib.sha256(big.read_bytes()).hexdigest() == big.sha256
    assert big.path.is_relative_to(tmp_path / "b" / "media")  # cached on the machine
    with there.engine.connect() as conn:
        parts = conn.execute(select(func.count()).select_from(T["media_blobs"])
                             .where(T["media_blobs"].c.sha256 == big.sha256)).scalar()
    assert parts == 3


def _read(store: Store, position: int) -> bytes:
    (row,) = store.list_deliveries()
    return store.get_delivery(row.id).media[position].path.read_bytes()


def test_postgresql_shares_media_through_the_database_by_default(db_url: str,
                                                                 tmp_path: Path) -> None:
    store = machine(db_url, tmp_path, "a", None)
    expected = DatabaseMedia if not db_url.startswith("sqlite") else type(None)
    assert isinstance(store.media.shared, expected)


def test_missing_everywhere_is_one_clear_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    machine(url, tmp_path, "a", {"kind": "database"}).add(snap(), due_at=DUE,
                                                          require_approval=False)
    there = machine(url, tmp_path, "b", {"kind": "database"})
    with there.engine.begin() as conn:
        conn.execute(T["media_blobs"].delete())
    with pytest.raises(StoreError) as exc:
        _claim_and_read(there)
    assert str(exc.value) == (f"media {image().sha256[:12]}… is neither in "
                              f"{tmp_path / 'b' / 'media'} nor in the queue database")


@pytest.mark.parametrize("raw, message", [
    ({"kind": "ftp"}, "media_store.kind: Input should be 'local', 'database' or 's3'"),
    ({"kind": "s3"}, "media_store: kind 's3' needs a bucket"),
    ({"kind": "database", "bukket": "x"}, "media_store.bukket: Extra inputs are not permitted"),
])
def test_bad_media_store_settings_name_the_key(tmp_path: Path, raw: dict[str, Any],
                                               message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        machine(f"sqlite:///{tmp_path / 'q.sqlite3'}", tmp_path, "a", raw)
    assert str(exc.value) == message


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Any:
    pytest.importorskip("boto3", reason="the s3 extra (boto3) is not installed")
    moto = pytest.importorskip("moto", reason="moto is needed to test the s3 media store")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    with moto.mock_aws():
        import boto3

        client = boto3.client("s3", region_name="eu-west-2")
        client.create_bucket(Bucket="postq-media",
                             CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
        yield client


def test_media_through_an_s3_bucket(bucket: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    cfg = {"kind": "s3", "bucket": "postq-media", "prefix": "media/", "region": "eu-west-2"}
    machine(url, tmp_path, "a", cfg).add(snap(), due_at=DUE, require_approval=False)
    keys = [o["Key"] for o in bucket.list_objects_v2(Bucket="postq-media")["Contents"]]
    assert keys == [f"media/{image().sha256}"]
    there = machine(url, tmp_path, "b", cfg)
    assert isinstance(there.media.shared, S3Media)
    (img,) = _claim_and_read(there).images
    assert img.read_bytes() == image().data
    # a changed object is refused, not published
    bucket.put_object(Bucket="postq-media", Key=f"media/{image().sha256}", Body=b"other")
    img.path.unlink()
    with pytest.raises(StoreError) as exc:
        there.outgoing(there.list_deliveries()[0].id)
    assert str(exc.value) == (f"media {image().sha256[:12]}… in s3://postq-media/media/ "
                              "does not match its hash")


def test_a_bad_media_store_in_postq_toml_names_the_file_and_key(project: Any) -> None:
    project.write_config('[media_store]\nkind = "s3"\n')
    result = project.run("run", "--once")
    assert result.exit_code == 1
    assert result.output == f"error: {project.config}: media_store: kind 's3' needs a bucket\n"
