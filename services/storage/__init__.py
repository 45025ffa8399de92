"""Media storage. Every write is atomic: a temp file in the same folder, fsync, then rename.

Two backends share the :class:`MediaStorage` protocol: :class:`LocalStorage` (a folder, the default)
and :class:`services.storage.s3.S3Storage` (any S3-compatible object store, with a local working-copy
cache). :func:`storage_from_settings` picks one from the settings. :func:`local_copy` and
:func:`save_outputs` are what job code uses to read objects as files and to publish the files it made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from runtime.files import atomic_output_path, atomic_write, is_temp_name, move_or_copy
from services.storage.base import (
    CHUNK,
    AccessDenied,
    BucketNotFound,
    EndpointUnreachable,
    KeyNotFound,
    MediaStorage,
    StorageError,
    TransientStorageError,
    check_range,
    validate_key,
    validate_prefix,
)
from services.storage.local import LocalStorage

if TYPE_CHECKING:
    from runtime.config import Settings

__all__ = [
    "CHUNK",
    "AccessDenied",
    "BucketNotFound",
    "EndpointUnreachable",
    "KeyNotFound",
    "LocalStorage",
    "MediaStorage",
    "StorageError",
    "TransientStorageError",
    "atomic_output_path",
    "atomic_write",
    "check_range",
    "get_storage",
    "is_temp_name",
    "local_copy",
    "media_origin",
    "move_or_copy",
    "save_outputs",
    "storage_from_settings",
    "validate_key",
    "validate_prefix",
]


def storage_from_settings(settings: Settings) -> MediaStorage:
    """The media store the settings name (``LIVESLICE_STORAGE``): local, or S3-compatible."""
    if settings.storage == "s3":
        from services.storage.s3 import s3_storage_from_settings

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


def media_origin(settings: Settings) -> str | None:
    """The origin (``scheme://host[:port]``) the store's presigned URLs point at, which browsers are sent
    to for media (a page's CSP must allow it); None when media is served by the API itself (local)."""
    url = get_storage(settings).presigned_url("origin")  # signed locally: no request to the store
    if url is None:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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
