"""S3-compatible media storage (AWS S3, MinIO, Ceph RGW, OSS/COS S3 APIs) with a local working-copy cache.

Objects appear all at once: a PUT is all-or-nothing, and large files go up as a multipart upload
through boto3's managed transfer, which aborts the upload on failure so no partial object is ever
visible. Tools that need a real file (ffmpeg, PyAV) get a working copy under
``media/cache/s3/<bucket>/<object key>``, downloaded to a temp file and renamed into place, and
downloaded again when the object's ETag or size changes (kept in a sidecar file). A per-key file
lock makes concurrent callers on one machine safe.

Credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``,
``AWS_PROFILE``, instance roles); they are never part of the settings or of any error message.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore import exceptions as boto_errors

from services.storage import (
    CHUNK,
    BucketNotFound,
    KeyNotFound,
    StorageError,
    TransientStorageError,
    atomic_output_path,
    atomic_write,
    check_range,
    move_or_copy,
    validate_key,
    validate_prefix,
)
from services.storage.s3_client import (
    BUCKET_NAME,
    client_config,
    content_type,
    translate_error,
)

if TYPE_CHECKING:
    from runtime.config import Settings

MiB = 1024 * 1024
#: Files at least this big go up as multipart uploads, in parts of this size (10,000 parts: 160 GiB).
DEFAULT_PART_SIZE = 16 * MiB
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


class S3Storage:
    """Media in an S3-compatible bucket under an optional key prefix; a local cache holds working copies."""

    backend = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        cache_root: Path,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        addressing_style: str = "auto",
        presign_seconds: int = 3600,
        multipart_threshold: int = DEFAULT_PART_SIZE,
        multipart_chunksize: int = DEFAULT_PART_SIZE,
        max_attempts: int = 3,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
    ) -> None:
        if not BUCKET_NAME.fullmatch(bucket):
            raise StorageError(f"invalid S3 bucket name {bucket!r} (LIVESLICE_S3_BUCKET)")
        self.bucket = bucket
        self.prefix = validate_prefix(prefix.strip("/"))
        self.endpoint_url = endpoint_url or None
        self.presign_seconds = presign_seconds
        self.cache_root = cache_root.resolve()
        self._objects = self.cache_root / bucket
        self._meta = self.cache_root / ".meta" / bucket  # bucket names never start with a dot
        self._session = boto3.session.Session()
        self.client: Any = self._session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=region or None,
            config=client_config(addressing_style, max_attempts, connect_timeout, read_timeout),
        )
        self.transfer_config = TransferConfig(
            multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize, max_concurrency=4
        )
        self._bucket_seen = False

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> S3Storage:
        """A store for ``LIVESLICE_S3_*``; ``options`` override constructor defaults (timeouts, part size)."""
        return cls(
            settings.s3_bucket,
            cache_root=settings.media_root / "cache" / "s3",
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region or None,
            addressing_style=settings.s3_addressing_style,
            presign_seconds=settings.s3_presign_seconds,
            **options,
        )

    # -- reading -------------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except KeyNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def fetch(self, key: str) -> Path:
        """A local working copy of the object, downloaded now unless the cached copy is current.

        The copy is read-only by contract: to change the object, write it through the store.
        """
        obj = self._object_key(key)
        final = self._cache_path(obj)
        with self._locked(obj) as meta_path:
            head = self._head(key)
            current = (str(head["ETag"]), int(head["ContentLength"]))
            if _read_meta(meta_path, final) == current:
                return final
            meta_path.unlink(missing_ok=True)  # never a meta file describing other bytes
            _write_meta(meta_path, final, *self._download(key, obj, final))
        return final

    def local_path(self, key: str) -> Path:
        """This machine's working-copy path for ``key``, whether or not it exists (no request is made).

        Usable as an output path: write the file there, then publish it with ``put_file(key, path,
        move=True)`` (:func:`services.storage.save_outputs`). To read an object use :meth:`fetch`.
        """
        return self._cache_path(self._object_key(key))

    def read_bytes(self, key: str) -> bytes:
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            with _closing(response["Body"]) as body:
                return bytes(body.read())

    def iter_bytes(
        self, key: str, start: int = 0, end: int | None = None, *, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        """The bytes ``[start:end]`` of an object (a ranged GET), in chunks; the request is made at call time."""
        check_range(start, end)
        if end == start:
            self._head(key)  # an empty range still needs the object to exist
            return iter(())
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if start or end is not None:
            args["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            with self._errors(key):
                response = self.client.get_object(**args)
        except StorageError as exc:
            if _is_unsatisfiable(exc):
                return iter(())  # the range starts past the end, like reading a file past EOF
            raise
        return self._stream(key, response["Body"], chunk_size)

    def presigned_url(self, key: str, *, expires: int | None = None, disposition: str | None = None) -> str | None:
        """A time-limited GET URL (the object's existence is not checked). With ``disposition`` (a
        ``Content-Disposition`` value, e.g. ``attachment; filename=...``) the store answers with that
        header (``response-content-disposition``, signed into the URL), so a browser saves the file."""
        seconds = self.presign_seconds if expires is None else expires
        if not 1 <= seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"presigned URLs last 1 to {MAX_PRESIGN_SECONDS} seconds, not {seconds}")
        params = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if disposition:
            params["ResponseContentDisposition"] = disposition
        with self._errors(key):
            url = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds)
        return str(url)

    def list_keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix``, sorted; folder markers and keys this store cannot address are skipped."""
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        keys: list[str] = []
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + validate_prefix(prefix)):
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(base) :]
                    if not key.endswith("/") and _addressable(key):
                        keys.append(key)
        return sorted(keys)

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        """Write a local temp file; it is uploaded (and kept as the working copy) only if the block succeeds."""
        obj = self._object_key(key)
        tmp = atomic_output_path(self._cache_path(obj))
        try:
            with tmp.open("wb") as handle:
                yield handle
            self._upload(key, str(tmp))
            self._adopt(key, tmp)
        finally:
            tmp.unlink(missing_ok=True)

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors(key):
            self.client.put_object(
                Bucket=self.bucket, Key=self._object_key(key), Body=data, ContentType=content_type(key)
            )

    def put_file(self, key: str, source: Path, *, move: bool = False) -> None:
        """Upload a finished local file; with ``move=True`` it then becomes the local working copy."""
        self._upload(key, str(source))
        if move:
            self._adopt(key, source)

    import_file = put_file

    def put_fileobj(self, key: str, source: BinaryIO) -> None:
        """Upload everything read from ``source``; if reading fails the upload is aborted, no object appears."""
        self._upload(key, source)

    def delete(self, key: str) -> None:
        obj = self._object_key(key)
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=obj)
        with self._locked(obj) as meta_path:
            meta_path.unlink(missing_ok=True)
            self._cache_path(obj).unlink(missing_ok=True)

    # -- the machine ---------------------------------------------------------------------------

    def free_bytes(self) -> int:
        """Free space for working copies (the local cache's disk)."""
        self.cache_root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.cache_root).free

    def describe(self) -> str:
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        endpoint = self.endpoint_url or "AWS"
        return f"{where} at {endpoint} (region {self.client.meta.region_name}), cache {self.cache_root}"

    def check(self) -> None:
        """Raise a :class:`StorageError` unless the bucket is reachable with the current credentials."""
        with self._errors():
            self.client.head_bucket(Bucket=self.bucket)
        self._bucket_seen = True

    def credential_source(self) -> str | None:
        """Where the AWS chain found credentials (``env``, ``shared-credentials-file``, ...), or None."""
        credentials = self._session.get_credentials()
        return None if credentials is None else str(credentials.method)

    # -- internals -----------------------------------------------------------------------------

    def _object_key(self, key: str) -> str:
        path = validate_key(key).as_posix()
        return f"{self.prefix}/{path}" if self.prefix else path

    def _cache_path(self, obj: str) -> Path:
        return self._objects.joinpath(*obj.split("/"))

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        try:
            yield
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as exc:
            error = translate_error(exc, bucket=self.bucket, key=key, endpoint=self.endpoint_url)
            if isinstance(error, KeyNotFound) and not self._bucket_seen:
                error = self._missing_bucket() or error  # a HEAD's bare 404 may mean the bucket is gone
            raise error from exc

    def _missing_bucket(self) -> BucketNotFound | None:
        try:
            self.check()
        except BucketNotFound as exc:
            return exc
        except StorageError:
            return None  # cannot tell (no ListBucket permission, network): the original error stands
        return None

    def _head(self, key: str) -> dict[str, Any]:
        with self._errors(key):
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        self._bucket_seen = True
        return head

    def _stream(self, key: str, body: Any, chunk_size: int) -> Iterator[bytes]:
        with _closing(body), self._errors(key):
            yield from body.iter_chunks(chunk_size)

    def _download(self, key: str, obj: str, final: Path) -> tuple[str, int]:
        """GET the object into ``final`` (temp file, then rename); the ETag and size of the bytes written."""
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=obj)
        expected = int(response["ContentLength"])
        written = 0
        with atomic_write(final) as out:
            for chunk in self._stream(key, response["Body"], CHUNK):
                out.write(chunk)
                written += len(chunk)
            if written != expected:
                raise TransientStorageError(f"download of s3://{self.bucket}/{key} cut short at {written}/{expected}")
        return str(response["ETag"]), expected

    def _upload(self, key: str, source: str | BinaryIO) -> None:
        """One PUT, or a multipart upload that is aborted (never completed) if anything fails."""
        extra = {"ContentType": content_type(key)}
        with self._errors(key), create_transfer_manager(self.client, self.transfer_config) as manager:
            manager.upload(source, self.bucket, self._object_key(key), extra_args=extra).result()

    def _adopt(self, key: str, source: Path) -> None:
        """Make a just-uploaded local file the working copy, so this machine need not download it again."""
        head = self._head(key)
        obj = self._object_key(key)
        final = self._cache_path(obj)
        with self._locked(obj) as meta_path:
            meta_path.unlink(missing_ok=True)
            move_or_copy(source, final)
            size = final.stat().st_size
            if int(head["ContentLength"]) == size:  # else another writer won the race: download next time
                _write_meta(meta_path, final, str(head["ETag"]), size)

    @contextmanager
    def _locked(self, obj: str) -> Iterator[Path]:
        """Hold this key's cache lock (across processes and threads); yields its sidecar meta path."""
        digest = hashlib.sha256(obj.encode()).hexdigest()
        folder = self._meta / digest[:2]
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / f"{digest}.lock").open("a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file is closed
            yield folder / f"{digest}.json"


@contextmanager
def _closing(body: Any) -> Iterator[Any]:
    try:
        yield body
    finally:
        body.close()


def _is_unsatisfiable(exc: StorageError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, boto_errors.ClientError) and cause.response.get("Error", {}).get("Code") == "InvalidRange"


def _addressable(key: str) -> bool:
    try:
        validate_key(key)
    except StorageError:
        return False
    return True


def _read_meta(meta_path: Path, final: Path) -> tuple[str, int] | None:
    """The (ETag, size) the cached copy was downloaded as, if the copy is still there, untouched since.

    A copy rewritten in place (an output written at :meth:`S3Storage.local_path` but never published)
    has another mtime, so it is never mistaken for the object.
    """
    try:
        meta = json.loads(meta_path.read_text())
        stat = final.stat()
        if stat.st_size != meta["size"] or stat.st_mtime_ns != meta["mtime_ns"]:
            return None
        return str(meta["etag"]), int(meta["size"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no copy, or no readable sidecar: download again


def _write_meta(meta_path: Path, final: Path, etag: str, size: int) -> None:
    record = {"etag": etag, "size": size, "mtime_ns": final.stat().st_mtime_ns}
    with atomic_write(meta_path) as out:
        out.write(json.dumps(record).encode())


_SHARED: dict[tuple[object, ...], S3Storage] = {}
_S3_FIELDS = ("s3_bucket", "s3_prefix", "s3_endpoint_url", "s3_region", "s3_addressing_style", "s3_presign_seconds")


def s3_storage_from_settings(settings: Settings) -> S3Storage:
    """One shared store per process and configuration (boto3 clients are thread-safe, not fork-safe)."""
    key = (os.getpid(), settings.media_root, *(getattr(settings, name) for name in _S3_FIELDS))
    store = _SHARED.get(key)
    if store is None:
        store = _SHARED.setdefault(key, S3Storage.from_settings(settings))  # a racing duplicate is harmless
    return store
