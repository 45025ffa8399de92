"""S3Storage against moto's standalone S3 server over real HTTP on loopback."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from pydantic import ValidationError

from liveslice.cli.doctor import check_storage
from runtime.config import Settings
from services.storage import (
    AccessDenied,
    BucketNotFound,
    EndpointUnreachable,
    KeyNotFound,
    LocalStorage,
    StorageError,
    TransientStorageError,
    get_storage,
    storage_from_settings,
)
from services.storage.s3 import S3Storage, translate_error
from tests.services.storage.conftest import ACCESS_KEY, SECRET_KEY, DownstreamCut, count_calls, free_port
from tests.support.proxy import CuttingProxy

MiB = 1024 * 1024
MakeS3 = Callable[..., S3Storage]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_round_trip_under_a_prefix(make_s3: MakeS3, bucket: str, s3_client: Any, tmp_path: Path) -> None:
    store = make_s3(bucket, prefix="/tenants/one/")
    assert not store.exists("clips/a.mp4")

    store.write_bytes("clips/a.mp4", b"first clip")
    source = tmp_path / "cover.jpg"
    source.write_bytes(b"jpeg bytes")
    store.put_file("covers/a.jpg", source)
    with store.writer("manifests/a.json") as out:
        out.write(b'{"ok": true}')

    raw = sorted(item["Key"] for item in s3_client.list_objects_v2(Bucket=bucket)["Contents"])
    assert raw == ["tenants/one/clips/a.mp4", "tenants/one/covers/a.jpg", "tenants/one/manifests/a.json"]
    head = s3_client.head_object(Bucket=bucket, Key="tenants/one/clips/a.mp4")
    assert head["ContentType"] == "video/mp4"

    assert store.exists("clips/a.mp4")
    assert store.size("covers/a.jpg") == len(b"jpeg bytes")
    assert store.read_bytes("manifests/a.json") == b'{"ok": true}'
    path = store.fetch("clips/a.mp4")
    assert path.read_bytes() == b"first clip"
    assert path.is_relative_to(store.cache_root)
    assert store.local_path("clips/a.mp4") == path
    assert store.list_keys() == ["clips/a.mp4", "covers/a.jpg", "manifests/a.json"]
    assert store.list_keys("c") == ["clips/a.mp4", "covers/a.jpg"]
    assert store.list_keys("clips/") == ["clips/a.mp4"]

    store.delete("clips/a.mp4")
    assert not store.exists("clips/a.mp4")
    assert not path.exists()  # the working copy goes too
    store.delete("clips/a.mp4")  # twice is fine
    with pytest.raises(KeyNotFound, match=rf"s3://{bucket}/clips/a.mp4"):
        store.fetch("clips/a.mp4")
    with pytest.raises(FileNotFoundError):
        store.size("clips/a.mp4")


def test_list_skips_folder_markers_and_other_prefixes(make_s3: MakeS3, bucket: str, s3_client: Any) -> None:
    s3_client.put_object(Bucket=bucket, Key="p/dir/", Body=b"")
    s3_client.put_object(Bucket=bucket, Key="p/dir/x.txt", Body=b"1")
    s3_client.put_object(Bucket=bucket, Key="p/bad//y.txt", Body=b"1")
    s3_client.put_object(Bucket=bucket, Key="other/z.txt", Body=b"1")
    assert make_s3(bucket, prefix="p").list_keys() == ["dir/x.txt"]


def test_failed_writer_uploads_nothing(make_s3: MakeS3, bucket: str) -> None:
    store = make_s3(bucket)
    with pytest.raises(RuntimeError, match="render crashed"), store.writer("clips/x.mp4") as out:
        out.write(b"half a video")
        raise RuntimeError("render crashed")
    assert not store.exists("clips/x.mp4")
    leftovers = [p for p in store.cache_root.rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert leftovers == []


def test_multipart_upload_of_a_large_file(make_s3: MakeS3, bucket: str, s3_client: Any, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB)
    source = tmp_path / "recording.mp4"
    source.write_bytes(data)
    store = make_s3(bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    parts = count_calls(store, "UploadPart")

    store.put_file("recordings/r.mp4", source)

    assert len(parts) == 3
    assert s3_client.head_object(Bucket=bucket, Key="recordings/r.mp4")["ETag"].endswith('-3"')  # multipart ETag
    other = make_s3(bucket, machine="b")
    assert sha(other.fetch("recordings/r.mp4").read_bytes()) == sha(data)


def test_interrupted_multipart_upload_leaves_no_object(make_s3: MakeS3, bucket: str, s3_client: Any) -> None:
    store = make_s3(bucket, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    started = threading.Event()
    created = count_calls(store, "CreateMultipartUpload")
    aborted = count_calls(store, "AbortMultipartUpload")
    store.client.meta.events.register("after-call.s3.CreateMultipartUpload", lambda **_: started.set())

    class DiesMidRead(io.RawIOBase):
        """12 MiB of data whose reader fails in the third part, once the upload has begun."""

        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if self.sent >= 11 * MiB:
                started.wait(30)
                raise OSError("source disk went away")
            size = min(len(buffer), 12 * MiB - self.sent)
            buffer[:size] = b"z" * size
            self.sent += size
            return size

    with pytest.raises(OSError, match="source disk went away"):
        store.put_fileobj("recordings/broken.mp4", io.BufferedReader(DiesMidRead()))

    assert created == ["CreateMultipartUpload"] and aborted == ["AbortMultipartUpload"]
    assert not store.exists("recordings/broken.mp4")
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_dropped_upload_connections_leave_no_object(
    make_s3: MakeS3, bucket: str, s3_client: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    data = os.urandom(12 * MiB)
    source = tmp_path / "recording.mp4"
    source.write_bytes(data)
    port = int(moto_endpoint.rsplit(":", 1)[1])
    multipart = {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB}

    with CuttingProxy("127.0.0.1", port, cut_after=3 * MiB, cuts=1000) as proxy:  # every part's connection dies
        store = make_s3(bucket, endpoint_url=proxy.url, max_attempts=1, **multipart)
        with pytest.raises(TransientStorageError, match=f"s3://{bucket}/recordings/cut.mp4"):
            store.put_file("recordings/cut.mp4", source)
        assert proxy.cut_events >= 1
    assert "Contents" not in s3_client.list_objects_v2(Bucket=bucket)
    assert s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []

    with CuttingProxy("127.0.0.1", port, cut_after=3 * MiB, cuts=1) as proxy:  # one drop: retried, completes
        store = make_s3(bucket, endpoint_url=proxy.url, **multipart)
        store.put_file("recordings/ok.mp4", source)
        assert proxy.cut_events == 1
    assert sha(s3_client.get_object(Bucket=bucket, Key="recordings/ok.mp4")["Body"].read()) == sha(data)


def test_dropped_download_leaves_no_partial_working_copy(make_s3: MakeS3, bucket: str, moto_endpoint: str) -> None:
    data = os.urandom(2 * MiB)
    make_s3(bucket, machine="b").write_bytes("recordings/r.ts", data)
    port = int(moto_endpoint.rsplit(":", 1)[1])
    with DownstreamCut(port, cut_after=MiB, cuts=1) as proxy:
        store = make_s3(bucket, endpoint_url=proxy.url)
        store.size("recordings/r.ts")  # small answers pass; the connection is reused by the GET below
        with pytest.raises(TransientStorageError, match=r"recordings/r\.ts"):
            store.fetch("recordings/r.ts")
        assert proxy.cut_events == 1
        folder = store.cache_root / bucket / "recordings"
        assert list(folder.iterdir()) == []  # no half file at the cache path, no temp file

        assert sha(store.fetch("recordings/r.ts").read_bytes()) == sha(data)  # the next try downloads it all


def test_cache_downloads_once_and_again_when_the_object_changes(make_s3: MakeS3, bucket: str) -> None:
    machine_a = make_s3(bucket, machine="a")
    machine_b = make_s3(bucket, machine="b")
    gets = count_calls(machine_a, "GetObject")
    machine_b.write_bytes("signals/r.json", b"version 1")

    path = machine_a.fetch("signals/r.json")
    assert path.read_bytes() == b"version 1"
    assert machine_a.fetch("signals/r.json") == path
    assert len(gets) == 1  # current copy: no second download

    machine_b.write_bytes("signals/r.json", b"version 2, longer")
    assert machine_a.fetch("signals/r.json").read_bytes() == b"version 2, longer"
    assert len(gets) == 2

    machine_b.write_bytes("signals/r.json", b"version 3, longer")  # same size, new ETag
    assert machine_a.fetch("signals/r.json").read_bytes() == b"version 3, longer"
    assert len(gets) == 3

    path.write_bytes(b"tampered")  # a working copy whose size no longer matches is not trusted
    assert machine_a.fetch("signals/r.json").read_bytes() == b"version 3, longer"
    assert len(gets) == 4


def test_put_file_move_keeps_the_upload_as_working_copy(make_s3: MakeS3, bucket: str, tmp_path: Path) -> None:
    store = make_s3(bucket)
    gets = count_calls(store, "GetObject")
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"rendered clip")
    store.put_file("clips/c.mp4", source, move=True)
    assert not source.exists()
    assert store.fetch("clips/c.mp4").read_bytes() == b"rendered clip"
    assert gets == []  # served from the adopted copy
    with store.writer("clips/d.mp4") as out:
        out.write(b"written clip")
    assert store.fetch("clips/d.mp4").read_bytes() == b"written clip"
    assert gets == []


def test_concurrent_fetches_share_one_complete_copy(make_s3: MakeS3, bucket: str) -> None:
    data = os.urandom(3 * MiB)
    make_s3(bucket, machine="b").write_bytes("recordings/x.flv", data)
    store = make_s3(bucket, machine="a")
    gets = count_calls(store, "GetObject")
    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: store.fetch("recordings/x.flv"), range(4)))
    assert len(set(paths)) == 1
    assert sha(paths[0].read_bytes()) == sha(data)
    assert len(gets) == 1  # the per-key lock made the others wait for the first download
    assert [p.name for p in paths[0].parent.iterdir()] == ["x.flv"]  # no temp files left


def test_range_reads(make_s3: MakeS3, bucket: str) -> None:
    store = make_s3(bucket)
    data = bytes(range(256)) * 40
    store.write_bytes("v/x.bin", data)
    for start, end in [(0, None), (0, 1), (100, 5000), (9000, None), (10239, 10240), (50, 50), (20000, None)]:
        assert b"".join(store.iter_bytes("v/x.bin", start, end, chunk_size=1000)) == data[start:end]
    with pytest.raises(ValueError, match="invalid byte range"):
        store.iter_bytes("v/x.bin", 10, 5)
    with pytest.raises(KeyNotFound):
        store.iter_bytes("v/missing.bin")
    with pytest.raises(KeyNotFound):
        store.iter_bytes("v/missing.bin", 3, 3)


def test_presigned_url_serves_the_bytes(make_s3: MakeS3, bucket: str) -> None:
    store = make_s3(bucket, presign_seconds=600)
    store.write_bytes("clips/share.mp4", b"shareable bytes")
    url = store.presigned_url("clips/share.mp4")
    assert url is not None and "X-Amz-Expires=600" in url and SECRET_KEY not in url
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"shareable bytes"
    assert "X-Amz-Expires=60&" in (store.presigned_url("clips/share.mp4", expires=60) or "")
    with pytest.raises(ValueError, match="presigned URLs last"):
        store.presigned_url("clips/share.mp4", expires=8 * 24 * 3600)


def test_missing_bucket_is_a_clear_error(make_s3: MakeS3, tmp_path: Path) -> None:
    store = make_s3("liveslice-no-such-bucket")
    source = tmp_path / "f.bin"
    source.write_bytes(b"x")
    actions: list[Callable[[], object]] = [
        lambda: store.exists("a.mp4"),
        lambda: store.size("a.mp4"),
        lambda: store.fetch("a.mp4"),
        lambda: store.write_bytes("a.mp4", b"x"),
        lambda: store.put_file("a.mp4", source),
        lambda: store.list_keys(),
        lambda: store.check(),
    ]
    for action in actions:
        with pytest.raises(BucketNotFound, match="'liveslice-no-such-bucket' does not exist") as info:
            action()
        assert SECRET_KEY not in str(info.value) and ACCESS_KEY not in str(info.value)


def test_unreachable_endpoint_is_a_transient_error(make_s3: MakeS3) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = make_s3("some-bucket", endpoint_url=endpoint, max_attempts=1)
    with pytest.raises(EndpointUnreachable, match=endpoint) as info:
        store.fetch("recordings/r.mp4")
    assert isinstance(info.value, TransientStorageError)
    assert isinstance(info.value, ConnectionError)  # what workers' autoretry_for already lists
    assert "s3://some-bucket/recordings/r.mp4" in str(info.value)
    assert SECRET_KEY not in str(info.value)


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("AccessDenied", 403, AccessDenied),
        ("InvalidAccessKeyId", 403, AccessDenied),
        ("SlowDown", 503, TransientStorageError),
        ("InternalError", 500, TransientStorageError),
        ("NoSuchKey", 404, KeyNotFound),
        ("NoSuchBucket", 404, BucketNotFound),
        ("InvalidArgument", 400, StorageError),
    ],
)
def test_translate_error_classifies_server_answers(code: str, status: int, expected: type[StorageError]) -> None:
    response: Any = {
        "Error": {"Code": code, "Message": "server says no"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    error = translate_error(ClientError(response, "GetObject"), bucket="b", key="k/x.mp4", endpoint="http://s3")
    assert type(error) is expected
    assert "b" in str(error) and ("k/x.mp4" in str(error) or expected is BucketNotFound)


def test_two_machines_see_each_others_objects(make_s3: MakeS3, bucket: str, tmp_path: Path) -> None:
    api = make_s3(bucket, machine="api")
    worker = make_s3(bucket, machine="worker")
    upload = tmp_path / "upload.mp4"
    upload.write_bytes(b"uploaded recording")
    api.put_file("recordings/r1.mp4", upload, move=True)

    local = worker.fetch("recordings/r1.mp4")
    assert local.read_bytes() == b"uploaded recording"
    assert not local.is_relative_to(api.cache_root)
    with worker.writer("clips/r1-1.mp4") as out:
        out.write(b"clip from the worker")
    assert api.read_bytes("clips/r1-1.mp4") == b"clip from the worker"
    assert api.list_keys() == worker.list_keys() == ["clips/r1-1.mp4", "recordings/r1.mp4"]
    worker.delete("recordings/r1.mp4")
    assert not api.exists("recordings/r1.mp4")


def _s3_settings(tmp_path: Path, **values: Any) -> Settings:
    return Settings(_env_file=None, media_root=tmp_path / "media", storage="s3", **values)


def test_settings_pick_the_s3_backend(moto_endpoint: str, aws_env: None, bucket: str, tmp_path: Path) -> None:
    settings = _s3_settings(
        tmp_path, s3_bucket=bucket, s3_endpoint_url=moto_endpoint + "/", s3_region="us-east-1", s3_prefix="/x/y/"
    )
    assert settings.s3_prefix == "x/y" and settings.s3_endpoint_url == moto_endpoint
    store = storage_from_settings(settings)
    assert isinstance(store, S3Storage)
    assert store is get_storage(settings)  # one client per process and configuration
    assert store.cache_root == settings.media_root / "cache" / "s3"
    assert isinstance(get_storage(settings.media_root), LocalStorage)  # the old call is unchanged
    store.write_bytes("k.txt", b"1")
    assert store.list_keys() == ["k.txt"]

    with pytest.raises(ValidationError, match="LIVESLICE_S3_BUCKET is required"):
        _s3_settings(tmp_path)
    with pytest.raises(ValidationError, match="must not carry credentials") as info:
        _s3_settings(tmp_path, s3_bucket="b", s3_endpoint_url="http://user:HUNTER2PW@minio:9000")
    assert "HUNTER2PW" not in str(info.value)
    with pytest.raises(ValidationError, match="plain key prefix"):
        _s3_settings(tmp_path, s3_bucket="b", s3_prefix="a/../b")


def test_doctor_reports_the_bucket(moto_endpoint: str, aws_env: None, bucket: str, tmp_path: Path) -> None:
    common = {"s3_endpoint_url": moto_endpoint, "s3_region": "us-east-1", "min_free_bytes": 0}
    check = check_storage(_s3_settings(tmp_path, s3_bucket=bucket, **common))
    assert check.ok, check
    assert f"s3://{bucket}" in check.detail and "credentials from env" in check.detail
    assert SECRET_KEY not in check.detail

    missing = check_storage(_s3_settings(tmp_path, s3_bucket="liveslice-missing-bucket", **common))
    assert not missing.ok
    assert "does not exist" in missing.detail and "create the bucket" in missing.fix

    down = check_storage(
        _s3_settings(tmp_path, s3_bucket=bucket, **{**common, "s3_endpoint_url": f"http://127.0.0.1:{free_port()}"})
    )
    assert not down.ok and "cannot reach" in down.detail and "LIVESLICE_S3_ENDPOINT_URL" in down.fix
