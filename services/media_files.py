"""A recording's media as a local file, whichever storage backend holds it (``store`` stays backend-free)."""

from __future__ import annotations

from pathlib import Path

from runtime.config import Settings
from services.storage import KeyNotFound, local_copy
from store.models import Recording
from store.recordings import MissingMedia


def recording_source(settings: Settings, recording: Recording) -> Path:
    """A local path to read the recording's media from (ffmpeg, PyAV).

    A stored recording (``storage_key``) is :func:`~services.storage.local_copy` of its key: the file
    under the media root, or with S3 this machine's cached download. A registered one (``source_path``)
    is that path as is, which callers check exists. :class:`MissingMedia` when the stored object is
    gone or the row names no media; S3 network trouble raises :class:`~services.storage.StorageError`.
    """
    if recording.storage_key:
        try:
            return local_copy(settings, recording.storage_key)
        except KeyNotFound as exc:
            raise MissingMedia(f"the recording's file is missing: {recording.storage_key} ({exc})") from exc
    if recording.source_path:
        return Path(recording.source_path)
    raise MissingMedia(f"recording {recording.id} has neither a stored file nor a source path")
