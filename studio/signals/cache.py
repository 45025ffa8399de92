"""A disk cache for signal arrays, keyed on (file, size, mtime, parameters, version).

Any :class:`~pathlib.Path` among the key parts is replaced by its resolved path, size and
``mtime_ns``, so editing or touching the file invalidates its entries. Entries are ``.npz``
files written atomically (temp file, then rename); an unreadable entry is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["cache_key", "cached_arrays"]

log = logging.getLogger(__name__)


def _normalise(value: Any) -> Any:
    if isinstance(value, Path):
        resolved = value.resolve()
        st = resolved.stat()
        return {"path": str(resolved), "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if isinstance(value, Mapping):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    raise TypeError(f"cache key part of unsupported type {type(value).__name__}: {value!r}")


def cache_key(key_parts: Mapping[str, Any]) -> str:
    """A stable hex digest of ``key_parts`` (paths stand for their size and mtime)."""
    text = json.dumps(_normalise(key_parts), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached_arrays(
    key_parts: Mapping[str, Any],
    cache_dir: Path | None,
    compute: Callable[[], dict[str, np.ndarray]],
) -> dict[str, np.ndarray]:
    """Return ``compute()``, from ``cache_dir`` when an entry for ``key_parts`` exists.

    ``cache_dir=None`` disables caching. Array names must be valid ``np.savez`` keywords.
    """
    if cache_dir is None:
        return compute()
    kind = str(key_parts.get("kind", "signal"))
    entry = Path(cache_dir) / f"{kind}-{cache_key(key_parts)}.npz"
    if entry.is_file():
        try:
            with np.load(entry, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError):
            log.warning("signal cache entry %s is unreadable; recomputing", entry)
    arrays = compute()
    entry.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.stem}.", suffix=".tmp", dir=entry.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, entry)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return arrays
