"""Media storage. Every write is atomic: a temp file in the same folder, fsync, then rename.

Two backends share the :class:`MediaStorage` protocol: :class:`LocalStorage` (a folder, the default)
and :class:`liveslice.storage_s3.S3Storage` (any S3-compatible object store, with a local working-copy
cache). :func:`storage_from_settings` picks one from the settings. :func:`local_copy` and
:func:`save_outputs` are what job code uses to read objects as files and to publish the files it made.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, BinaryIO, Protocol

if TYPE_CHECKING:
    from liveslice.config import Settings

CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage key is invalid or an operation on the store failed."""


class KeyNotFound(StorageError, FileNotFoundError):
    """No object is stored under the key (also a ``FileNotFoundError`` for older callers)."""


class BucketNotFound(StorageError):
    """The configured bucket does not exist."""


class AccessDenied(StorageError):
    """The store refused the credentials or the operation."""


class TransientStorageError(StorageError, ConnectionError):
    """A network problem or an overloaded store: retrying later can succeed.

    Also a ``ConnectionError``, so task code that retries connection errors retries these too.
    """


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
    def presigned_url(self, key: str, *, expires: int | None = None) -> str | None: ...
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


def is_temp_name(name: str) -> bool:
    """Whether a file name is an in-flight temp file of :func:`atomic_write` / :func:`atomic_output_path`."""
    return name.startswith(".") and ".part" in name


@contextmanager
def atomic_write(final: Path) -> Iterator[BinaryIO]:
    """Write to a temp file next to ``final`` and rename it into place only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_output_path(final: Path) -> Path:
    """A temp path beside ``final`` for tools (like ffmpeg) that write a file themselves.

    Keep the suffix so the tool picks the right format; rename with ``Path.replace`` when done.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".part{final.suffix}", dir=final.parent)
    os.close(fd)
    return Path(tmp_name)


def move_or_copy(source: Path, final: Path) -> None:
    """Put ``source`` at ``final`` atomically: a rename on the same disk, else a copy then delete."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(source, final)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
    with atomic_write(final) as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, CHUNK)
    source.unlink(missing_ok=True)


def _iter_file(handle: BinaryIO, start: int, end: int | None, chunk_size: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            chunk = handle.read(chunk_size if remaining is None else min(chunk_size, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


class LocalStorage:
    """A folder on the local disk (the default: ``media/``)."""

    backend = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def local_path(self, key: str) -> Path:
        """Where ``key`` lives on disk, whether or not it exists yet (also usable as an output path)."""
        return self.root.joinpath(*validate_key(key).parts)

    def fetch(self, key: str) -> Path:
        """The path of an existing object; :class:`KeyNotFound` if there is none."""
        path = self.local_path(key)
        if not path.is_file():
            raise KeyNotFound(f"no stored file for key {key!r} under {self.root}")
        return path

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def size(self, key: str) -> int:
        return self.fetch(key).stat().st_size

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        return atomic_write(self.local_path(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        with atomic_write(self.local_path(key)) as handle:
            handle.write(data)

    def read_bytes(self, key: str) -> bytes:
        return self.fetch(key).read_bytes()

    def import_file(self, key: str, source: Path, *, move: bool = False) -> None:
        """Bring ``source`` into the store under ``key``; a move on the same disk is a rename."""
        final = self.local_path(key)
        if move:
            move_or_copy(source, final)
            return
        with atomic_write(final) as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, CHUNK)

    def put_file(self, key: str, source: Path, *, move: bool = False) -> None:
        """Store a finished local file under ``key`` (atomic copy, or a move with ``move=True``)."""
        self.import_file(key, source, move=move)

    def put_fileobj(self, key: str, source: BinaryIO) -> None:
        """Store everything read from ``source``; if reading fails nothing appears under ``key``."""
        with atomic_write(self.local_path(key)) as out:
            shutil.copyfileobj(source, out, CHUNK)

    def iter_bytes(
        self, key: str, start: int = 0, end: int | None = None, *, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        """The bytes ``[start:end]`` of an object, in chunks; the file is opened (and checked) at call time."""
        check_range(start, end)
        try:
            handle = self.fetch(key).open("rb")
        except FileNotFoundError as exc:
            raise KeyNotFound(f"no stored file for key {key!r} under {self.root}") from exc
        return _iter_file(handle, start, end, chunk_size)

    def presigned_url(self, key: str, *, expires: int | None = None) -> str | None:
        """Local files have no direct URL: serve them through the API."""
        validate_key(key)
        return None

    def list_keys(self, prefix: str = "") -> list[str]:
        """Keys starting with ``prefix`` (string prefix, as in S3), sorted; temp files are skipped."""
        prefix = validate_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys: list[str] = []
        for dirpath, _dirnames, filenames in os.walk(start):
            base = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                key = name if base == "." else f"{base}/{name}"
                if not is_temp_name(name) and key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free

    def describe(self) -> str:
        return f"local {self.root}"


def storage_from_settings(settings: Settings) -> MediaStorage:
    """The media store the settings name (``LIVESLICE_STORAGE``): local, or S3-compatible."""
    if settings.storage == "s3":
        from liveslice.storage_s3 import s3_storage_from_settings

        return s3_storage_from_settings(settings)
    return LocalStorage(settings.media_root)


def get_storage(settings_or_root: Settings | Path) -> MediaStorage:
    """The configured media store.

    Given a folder (the historical call, ``get_storage(settings.media_root)``) this is always that
    folder; given the settings it follows ``LIVESLICE_STORAGE`` (see :func:`storage_from_settings`).
    """
    if isinstance(settings_or_root, str | os.PathLike):
        return LocalStorage(Path(settings_or_root))
    return storage_from_settings(settings_or_root)


def local_copy(settings: Settings, key: str) -> Path:
    """A local file holding the object under ``key``, for tools that read files (ffmpeg, PyAV).

    Local storage: the stored file itself. S3: this machine's working copy, downloaded now unless the
    cached one is current. Treat it as read-only. :class:`KeyNotFound` when nothing is stored there.
    """
    return get_storage(settings).fetch(key)


def save_outputs(settings: Settings, keys: Iterable[str]) -> None:
    """Publish files a job wrote at ``get_storage(settings).local_path(key)`` under their keys.

    Local storage: they already are in place, nothing to do. S3: each file is uploaded (the object
    appears whole or not at all) and stays as this machine's working copy. :class:`KeyNotFound` if a
    file is missing (the keys before it are already uploaded).
    """
    storage = get_storage(settings)
    if isinstance(storage, LocalStorage):
        return
    for key in keys:
        path = storage.local_path(key)
        if not path.is_file():
            raise KeyNotFound(f"no output file for key {key!r} at {path}")
        storage.put_file(key, path, move=True)
