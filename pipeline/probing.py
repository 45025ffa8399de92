"""The probe job body: a thorough probe of a stored recording, its facts written to the row.

Plain functions, callable in-process without Celery (the demo and tests do); the Celery task in
:mod:`workers.tasks` is a thin wrapper.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from pipeline.jobs import TRANSIENT_ERRORS, Heartbeat, claim_job, latest_job_id, mark_failed, mark_succeeded
from runtime.config import Settings
from services.media_files import recording_source
from services.storage import StorageError
from store.db import session_scope
from store.models import Recording
from store.recordings import MissingMedia, apply_probe
from studio.errors import StudioError

log = logging.getLogger(__name__)

PROBE_KIND = "probe"


def run_probe_job(
    settings: Settings, recording_id: str, *, job_id: str | None = None, task_id: str | None = None
) -> None:
    """Probe a recording and record the outcome; safe to run twice.

    With a job (``job_id``, else the recording's newest probe job) the job row moves
    running -> succeeded/failed, and a finished job is left alone. Without any job the recording
    is simply re-probed. Permanent problems (not media, file missing) fail the recording and the
    job at once; transient errors (database, network) propagate so Celery retries.
    """
    if job_id is None:
        job_id = latest_job_id(settings, recording_id=recording_id, kind=PROBE_KIND)
    thorough = True
    if job_id is not None:
        claimed = claim_job(settings, job_id, task_id=task_id)
        if claimed is None:
            return
        thorough = bool(claimed.options.get("thorough", True))
    try:
        path = _media_path(settings, recording_id)
        if not path.is_file():
            raise MissingMedia(f"the recording's file is missing: {path}")
        from studio.probe import probe

        with Heartbeat(settings, job_id) if job_id else nullcontext():
            info = probe(path, thorough=thorough)
    except TRANSIENT_ERRORS:
        raise
    except (StudioError, MissingMedia, StorageError) as exc:
        _record_failure(settings, recording_id, job_id, str(exc), code=getattr(exc, "code", "bad_media"))
        return
    except Exception as exc:
        _record_failure(settings, recording_id, job_id, f"unexpected error: {type(exc).__name__}: {exc}")
        raise
    _record_success(settings, recording_id, job_id, info)


def _media_path(settings: Settings, recording_id: str) -> Path:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None:
            raise MissingMedia(f"recording {recording_id} no longer exists")
    return recording_source(settings, recording)  # may download (S3): outside the transaction


def _record_success(settings: Settings, recording_id: str, job_id: str | None, info: Any) -> None:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None:
            if job_id:
                mark_failed(session, job_id, f"recording {recording_id} was deleted while probing")
            return
        apply_probe(recording, info)
        if recording.status in ("probing", "failed"):
            recording.status = "ready"
            recording.error = None
        if job_id:
            summary = {
                "recording_id": recording_id,
                "duration": info.duration,
                "container": info.container,
                "width": info.width,
                "height": info.height,
                "rotation": info.rotation,
            }
            mark_succeeded(session, job_id, summary)
    log.info(
        "job=%s recording=%s probed: %s %.1fs %dx%d",
        job_id,
        recording_id,
        info.container,
        info.duration,
        info.width,
        info.height,
    )


def _record_failure(
    settings: Settings, recording_id: str, job_id: str | None, message: str, *, code: str = "internal"
) -> None:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is not None:
            recording.status = "failed"
            recording.error = message
        if job_id:
            mark_failed(session, job_id, message, result={"code": code})
    log.warning("job=%s recording=%s probe failed (%s): %s", job_id, recording_id, code, message)
