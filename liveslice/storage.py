"""Media storage. Every write is atomic: a temp file in the same folder, fsync, then rename."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol


class StorageError(Exception):
    """A storage key is invalid or an operation on the store failed."""


class MediaStorage(Protocol):
    """Where recordings and outputs live. Keys are relative POSIX paths such as ``recordings/ab/x.mp4``."""

    def local_path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]: ...
    def write_bytes(self, key: str, data: bytes) -> None: ...
    def import_file(self, key: str, source: Path, *, move: bool = False) -> None: ...
    def free_bytes(self) -> int: ...


def validate_key(key: str) -> PurePosixPath:
    """Reject absolute keys, ``..`` and empty parts: keys can never leave the store."""
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(part in ("", ".", "..") for part in path.parts):
        raise StorageError(f"invalid storage key: {key!r}")
    return path


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


class LocalStorage:
    """A folder on the local disk (the default: ``media/``)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def local_path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).parts)

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def size(self, key: str) -> int:
        return self.local_path(key).stat().st_size

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        return atomic_write(self.local_path(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        with atomic_write(self.local_path(key)) as handle:
            handle.write(data)

    def import_file(self, key: str, source: Path, *, move: bool = False) -> None:
        """Bring ``source`` into the store under ``key``; a move on the same disk is a rename."""
        final = self.local_path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        if move:
            try:
                os.replace(source, final)
                return
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                # another filesystem: fall back to an atomic copy below
        with atomic_write(final) as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)
        if move:
            source.unlink(missing_ok=True)

    def free_bytes(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free


def get_storage(root: Path) -> MediaStorage:
    """The configured media store."""
    return LocalStorage(root)
