"""The storage protocol, its errors and key rules, shared by every backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from services.errors import ServiceError

CHUNK = 1024 * 1024


class StorageError(ServiceError):
    """A storage key is invalid or an operation on the store failed."""

    code = "storage_error"


class KeyNotFound(StorageError, FileNotFoundError):
    """No object is stored under the key (also a ``FileNotFoundError`` for older callers)."""

    code = "not_found"


class BucketNotFound(StorageError):
    """The configured bucket does not exist."""


class AccessDenied(StorageError):
    """The store refused the credentials or the operation."""


class TransientStorageError(StorageError, ConnectionError):
    """A network problem or an overloaded store: retrying later can succeed.

    Also a ``ConnectionError``, so task code that retries connection errors retries these too.
    """

    code = "storage_unavailable"


class EndpointUnreachable(TransientStorageError):
    """The storage endpoint could not be reached (down, wrong address, firewall)."""


class MediaStorage(Protocol):
    """Where recordings and outputs live. Keys are relative POSIX paths such as ``recordings/ab/x.mp4``."""

    def local_path(self, key: str) -> Path: ...
    def fetch(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def read_bytes(self, key: str) -> bytes: ...
    def import_file(self, key: str, source: Path, *, move: bool = False) -> None: ...
    def put_file(self, key: str, source: Path, *, move: bool = False) -> None: ...
    def put_fileobj(self, key: str, source: BinaryIO) -> None: ...
    def iter_bytes(
        self, key: str, start: int = 0, end: int | None = None, *, chunk_size: int = CHUNK
    ) -> Iterator[bytes]: ...
    def presigned_url(self, key: str, *, expires: int | None = None, disposition: str | None = None) -> str | None: ...
    def list_keys(self, prefix: str = "") -> list[str]: ...
    def free_bytes(self) -> int: ...
    def describe(self) -> str: ...


def validate_key(key: str) -> PurePosixPath:
    """Reject absolute keys, ``..`` and empty parts: keys can never leave the store."""
    if not key or any(part in ("", ".", "..") for part in key.split("/")):  # also "/abs", "a//b", "a/"
        raise StorageError(f"invalid storage key: {key!r}")
    return PurePosixPath(key)


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key start such as ``clips/`` or ``clips/ab`` that cannot leave the store."""
    if not prefix:
        return ""
    if prefix.startswith("/") or any(part in (".", "..") for part in prefix.split("/")):
        raise StorageError(f"invalid storage prefix: {prefix!r}")
    return prefix


def check_range(start: int, end: int | None) -> None:
    """``start``/``end`` are byte offsets like a slice: ``data[start:end]``."""
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range: start={start}, end={end}")
