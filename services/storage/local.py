"""Media storage in a local folder (the default backend)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from runtime.files import atomic_write, is_temp_name, move_or_copy
from services.storage.base import CHUNK, KeyNotFound, check_range, validate_key, validate_prefix


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

    def presigned_url(self, key: str, *, expires: int | None = None, disposition: str | None = None) -> str | None:
        """Local files have no direct URL: serve them through the API (which sets ``disposition`` itself)."""
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
