"""The pipeline's errors, and which errors of the layers below end a job for good.

:func:`pipeline.lifecycle.run_job` is the one place that classifies an error raised by a job body:

- transient (:data:`TRANSIENT_ERRORS`: the database, the network, the broker or the storage was briefly
  unavailable): re-raised, so Celery retries with backoff;
- cancellation (:class:`JobCancelled`, which :class:`studio.clip.ClipCancelled` also is): the job is cancelled;
- permanent (:data:`PERMANENT_ERRORS`, one root per domain): the job fails at once with the reason and a
  ``code`` (:func:`error_code`);
- anything else is a bug: recorded with code ``internal`` and re-raised.
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from services.errors import ServiceError
from sidedata.errors import SideDataError
from store.errors import ClipNotFound, MissingMedia, StoreError
from studio.clip.types import ClipCancelled, ClipError
from studio.errors import FFmpegCancelled, StudioError
from studio.signals import AnalysisError


class PipelineError(Exception):
    """Base class of the errors the pipeline raises itself. ``code`` is a stable machine-readable reason."""

    code = "pipeline_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class AnalyzeFailure(PipelineError):
    """The job cannot run for this recording (or pipeline); retrying will not help."""

    code = "not_analyzable"


class JobCancelled(PipelineError, ClipCancelled):
    """Someone asked the job to stop (a :class:`~studio.clip.ClipCancelled` too, so a render stops alike)."""

    code = "cancelled"


#: Errors worth retrying: the database, a network peer, the broker or the storage was briefly unavailable
#: (``services.storage.TransientStorageError`` is a ``ConnectionError``).
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    ConnectionError,
    TimeoutError,
)

#: Cancellation, checked before the permanent errors (a ``ClipCancelled`` is a ``ClipError``,
#: ``FFmpegCancelled`` a ``StudioError``).
CANCEL_ERRORS: tuple[type[BaseException], ...] = (ClipCancelled, FFmpegCancelled)

#: Domain errors that end a job at once: one root per domain below the pipeline.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    PipelineError,
    StudioError,  # includes AnalysisError (bad analysis parameters) and every media / ffmpeg error
    ClipError,
    SideDataError,
    ServiceError,  # ingest, uploads, side-data requests, storage; transient storage kinds are caught first
    StoreError,  # missing media, records not found, invalid records
)

#: The code of a permanent error that carries none of its own.
DEFAULT_CODES: tuple[tuple[type[BaseException], str], ...] = (
    (AnalysisError, "bad_parameters"),
    (ClipNotFound, "not_found"),
    (MissingMedia, "missing_media"),
)


def error_code(exc: BaseException) -> str:
    """The stable reason recorded with a permanent failure: the error's ``code``, else by its type."""
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    return next((code for kind, code in DEFAULT_CODES if isinstance(exc, kind)), "bad_media")
