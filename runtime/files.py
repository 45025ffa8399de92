"""Atomic file writes: a temp file in the same folder, fsync, then rename (or copy across disks)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


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
