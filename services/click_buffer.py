"""The click buffer: ``/s/{code}`` appends each raw click to a local file; a drainer stores them later.

One file per process at a time under ``<media>/run/clicks/``. A click is one JSON line written with a
single ``os.write`` on an ``O_APPEND`` descriptor (no Python-level buffering), so it is in the kernel's
page cache when the redirect is answered: a crash of the process, a shutdown, or a database or broker
that is down loses nothing. The raw IP is in these files only until they are drained (then only its
salted hash is kept).

File life (names sort by creation time)::

    <ms>-<pid>-<rand>.part       being written, flock'ed by its writer
    <ms>-<pid>-<rand>.jsonl      closed: rotated after ROTATE_SECONDS or ROTATE_BYTES, or at shutdown
    <ms>-<pid>-<rand>.<tok>.claimed   taken by one drainer (an atomic rename: two never take one file)

A drainer also takes a ``.part`` whose writer died (its flock is free) and a ``.claimed`` left by a
drainer that died (older than :data:`STALE_CLAIM_SECONDS`; inserts are idempotent on the click id).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PART, READY, CLAIMED = ".part", ".jsonl", ".claimed"
ROTATE_SECONDS = 1.0
ROTATE_BYTES = 4 * 1024 * 1024
ABANDONED_AFTER_SECONDS = 5.0  # a .part this old whose flock is free belongs to a dead writer
STALE_CLAIM_SECONDS = 60.0  # a .claimed this old belongs to a dead drainer
MAX_FIELD_CHARS = 1024  # user agent and referer are cut to this before buffering


def clicks_dir(run_dir: Path) -> Path:
    """``<media>/run/clicks``."""
    return run_dir / "clicks"


class ClickBuffer:
    """This process's append-only click file. Thread-safe; reopens after a fork (the pid changes)."""

    def __init__(
        self,
        directory: Path,
        *,
        rotate_seconds: float = ROTATE_SECONDS,
        rotate_bytes: int = ROTATE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.rotate_seconds = rotate_seconds
        self.rotate_bytes = rotate_bytes
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._path: Path | None = None
        self._pid = 0
        self._opened = 0.0
        self._size = 0

    def append(self, record: dict[str, Any]) -> None:
        """Write ``record`` as one line; raises OSError when the disk refuses (the caller answers 5xx)."""
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8", "replace")
        with self._lock:
            if self._fd is None or self._pid != os.getpid():
                self._open()
            assert self._fd is not None
            written = os.write(self._fd, line)
            if written != len(line):  # a regular file takes it whole unless the disk is full
                raise OSError(f"short write to {self._path}: {written} of {len(line)} bytes")
            self._size += written
            if self._size >= self.rotate_bytes or self._clock() - self._opened >= self.rotate_seconds:
                self._close_current()

    def rotate(self) -> None:
        """Close the current file if it is due (the drainer calls this while no clicks arrive)."""
        with self._lock:
            if (
                self._fd is not None
                and self._pid == os.getpid()
                and self._clock() - self._opened >= self.rotate_seconds
            ):
                self._close_current()

    def close(self) -> None:
        """Close the current file now (shutdown): it becomes drainable at once."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                self._close_current()
            self._fd = None

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{int(time.time() * 1000):013d}-{os.getpid()}-{secrets.token_hex(4)}{PART}"
        path = self.directory / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held while this process writes: drainers keep off
        self._fd, self._path, self._pid = fd, path, os.getpid()
        self._opened, self._size = self._clock(), 0

    def _close_current(self) -> None:
        fd, path = self._fd, self._path
        self._fd = self._path = None
        if fd is None or path is None:
            return
        try:
            if self._size:
                path.rename(path.with_suffix(READY))  # renamed before the flock is let go
            else:
                path.unlink()
        except FileNotFoundError:  # a drainer took it as abandoned (cannot happen while we hold the lock)
            log.warning("click buffer %s vanished before rotation", path.name)
        finally:
            os.close(fd)


def _base(name: str) -> str:
    return name.split(".", 1)[0]


def _age(path: Path, now: float) -> float | None:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return None


def _writer_gone(path: Path) -> bool:
    """Whether nobody holds the flock of ``path`` (its writer died)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # releases our probe lock too
    return True


def claim_files(
    directory: Path,
    *,
    now: float | None = None,
    abandoned_after: float = ABANDONED_AFTER_SECONDS,
    stale_claim: float = STALE_CLAIM_SECONDS,
    ready_after: float = 0.0,
) -> list[Path]:
    """Take every drainable file in ``directory`` (renamed to ``<base>.<token>.claimed``), oldest first.

    ``abandoned_after`` and ``stale_claim`` may be 0 when every writer and drainer is known to be
    stopped (a benchmark after its server exited); a live writer's flock still keeps its file.
    ``ready_after``: a closed ``.jsonl`` is taken only when at least this old (a backstop drainer leaves
    fresh files to the live one).
    """
    if not directory.is_dir():
        return []
    now = time.time() if now is None else now
    token = secrets.token_hex(6)
    claimed: list[Path] = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        name = path.name
        if name.endswith(READY):
            age = _age(path, now) if ready_after > 0 else 0.0
            take = age is not None and age >= ready_after
        elif name.endswith(PART):
            age = _age(path, now)
            take = age is not None and age >= abandoned_after and _writer_gone(path)
        elif name.endswith(CLAIMED):
            age = _age(path, now)
            take = age is not None and age >= stale_claim
        else:
            take = False
        if not take:
            continue
        target = path.with_name(f"{_base(name)}.{token}{CLAIMED}")
        try:
            path.rename(target)
        except FileNotFoundError:  # another drainer was first
            continue
        os.utime(target)  # the claim's age counts from now
        claimed.append(target)
    return claimed


def release(path: Path) -> None:
    """Give a claimed file back (its drain failed): it is drainable again at once."""
    try:
        path.rename(path.with_name(_base(path.name) + READY))
    except FileNotFoundError:
        log.warning("claimed click file %s vanished before release", path.name)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """The clicks in a claimed file; a torn or malformed line is logged and skipped."""
    records: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                record = json.loads(raw)
            except ValueError:
                log.warning("click file %s:%d: not a JSON line, skipped", path.name, number)
                continue
            if isinstance(record, dict) and record.get("id") and record.get("link"):
                records.append(record)
            else:
                log.warning("click file %s:%d: not a click, skipped", path.name, number)
    return records
