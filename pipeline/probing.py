"""The probe job body: a thorough probe of a stored recording, its facts written to the row.

Plain functions, callable in-process without Celery (the demo and tests do); the Celery task in
:mod:`workers.tasks` is a thin wrapper.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pipeline.jobs import ClaimedJob, latest_job_id
from pipeline.lifecycle import Done, JobContext, JobOutcome, classify, run_job
from runtime.config import Settings
from services.media_files import recording_source
from store.db import session_scope
from store.models import Recording
from store.recordings import MissingMedia, apply_probe

log = logging.getLogger(__name__)

PROBE_KIND = "probe"


def run_probe_job(
    settings: Settings, recording_id: str, *, job_id: str | None = None, task_id: str | None = None
) -> JobOutcome | None:
    """Probe a recording and record the outcome; safe to run twice.

    With a job (``job_id``, else the recording's newest probe job) it runs under
    :func:`pipeline.lifecycle.run_job`, and a finished job is left alone. Without any job the recording
    is simply re-probed (``None`` is returned). Permanent problems (not media, file missing) fail the
    recording and the job at once; transient errors (database, network) propagate so Celery retries.
    """
    if job_id is None:
        job_id = latest_job_id(settings, recording_id=recording_id, kind=PROBE_KIND)
    if job_id is None:
        _probe_without_job(settings, recording_id)
        return None

    def body(ctx: JobContext) -> Done:
        info = _probe(settings, recording_id, thorough=bool(ctx.job.options.get("thorough", True)))
        return Done(_summary(recording_id, info), lambda session: _store(session, recording_id, info))

    def fail_recording(session: Session, _job: ClaimedJob, message: str) -> None:
        _fail_recording(session, recording_id, message)

    return run_job(settings, job_id, body, task_id=task_id, on_failure=fail_recording)


def _probe_without_job(settings: Settings, recording_id: str) -> None:
    try:
        info = _probe(settings, recording_id, thorough=True)
        with session_scope(settings.database_url) as session:
            _store(session, recording_id, info)
    except BaseException as exc:
        failure = classify(exc, kind=PROBE_KIND)
        if failure is None:
            raise
        with session_scope(settings.database_url) as session:
            _fail_recording(session, recording_id, failure.message)
        if failure.reraise:
            raise


def _probe(settings: Settings, recording_id: str, *, thorough: bool) -> Any:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None:
            raise MissingMedia(f"recording {recording_id} no longer exists")
    path: Path = recording_source(settings, recording)  # may download (S3): outside the transaction
    if not path.is_file():
        raise MissingMedia(f"the recording's file is missing: {path}")
    from studio.probe import probe

    return probe(path, thorough=thorough)


def _summary(recording_id: str, info: Any) -> dict[str, Any]:
    return {
        "recording_id": recording_id,
        "duration": info.duration,
        "container": info.container,
        "width": info.width,
        "height": info.height,
        "rotation": info.rotation,
    }


def _store(session: Session, recording_id: str, info: Any) -> None:
    """The probe's facts onto the recording (in the job's success transaction); it becomes ready."""
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise MissingMedia(f"recording {recording_id} was deleted while probing")
    apply_probe(recording, info)
    if recording.status in ("probing", "failed"):
        recording.status = "ready"
        recording.error = None
    log.info(
        "recording=%s probed: %s %.1fs %dx%d", recording_id, info.container, info.duration, info.width, info.height
    )


def _fail_recording(session: Session, recording_id: str, message: str) -> None:
    recording = session.get(Recording, recording_id)
    if recording is not None:
        recording.status = "failed"
        recording.error = message
    log.warning("recording=%s probe failed: %s", recording_id, message)
