"""Running a pipeline in this process, with no broker: what ``liveslice process`` (and the demo) do.

The same stage bodies as the Celery tasks, the same rows and the same :func:`pipeline.advance.advance`;
only the delivery differs. Clip stages run ``concurrency`` at a time in threads (ffmpeg does the work
in its own processes). Stage rows are marked sent before they run, so a reconciler of a ``serve``
sharing the database leaves them alone; were one sent anyway, claiming it would still run it once.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from sqlalchemy import and_, or_, update

from pipeline.advance import advance
from pipeline.errors import PipelineError
from pipeline.jobs import QUEUED, RUNNING, TERMINAL, stale_after
from pipeline.stages import RUNNERS, run_probe_stage
from runtime.config import Settings
from store.db import session_scope
from store.models import Job, utcnow

log = logging.getLogger(__name__)

LOCAL_TOKEN = "local"


class PipelineStalled(PipelineError, RuntimeError):
    """Nothing can run, yet the pipeline has not finished (a stage is held by a live worker elsewhere)."""

    code = "stalled"


def _take(settings: Settings, job_id: str) -> tuple[str, str | None] | None:
    """Mark a queued stage as sent to this process; its (kind, recording id), or None if someone else has it."""
    with session_scope(settings.database_url) as session:
        taken = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == QUEUED, Job.enqueued_at.is_(None))
            .values(enqueued_at=utcnow(), celery_task_id=LOCAL_TOKEN)
            .execution_options(synchronize_session=False)
        )
        if getattr(taken, "rowcount", 0) != 1:
            return None
        job = session.get(Job, job_id)
        assert job is not None
        return job.kind, job.recording_id


def run_one(settings: Settings, job_id: str, kind: str, recording_id: str | None) -> None:
    """Run one stage job's body here."""
    if kind == "probe":
        run_probe_stage(settings, str(recording_id), job_id)
    else:
        RUNNERS[kind](settings, job_id)


def reclaim_abandoned(settings: Settings, job_id: str) -> int:
    """Stages an earlier run of this pipeline left behind (a killed ``liveslice process``): running with a
    stale heartbeat, or taken by a process runner and never started. They go back to queued-unsent."""
    stale = utcnow() - stale_after(settings)
    with session_scope(settings.database_url) as session:
        result = session.execute(
            update(Job)
            .where(
                Job.parent_id == job_id,
                or_(
                    and_(Job.status == RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale)),
                    and_(Job.status == QUEUED, Job.celery_task_id == LOCAL_TOKEN, Job.enqueued_at < stale),
                ),
            )
            .values(status=QUEUED, enqueued_at=None, celery_task_id=None)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def run_pipeline(settings: Settings, job_id: str, *, concurrency: int = 2, stop: threading.Event | None = None) -> str:
    """Drive pipeline ``job_id`` to its end here (taking over what a killed earlier run left); its final status."""
    if reclaim_abandoned(settings, job_id):
        log.info("job=%s: took over stages an earlier run left behind", job_id)
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="stage") as pool:
        while True:
            for child_id in advance(settings, job_id):
                if len(running) >= max(1, concurrency):
                    break
                taken = _take(settings, child_id)
                if taken is not None:
                    running[pool.submit(run_one, settings, child_id, *taken)] = child_id
            status = _status(settings, job_id)
            if status in TERMINAL and not running:
                return status
            if not running:
                if stop is not None and stop.is_set():
                    return status
                raise PipelineStalled(f"job {job_id} is {status} but none of its stages can run here")
            done, _pending = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                running.pop(future)
                future.result()  # a transient error: let it surface (the stage row says what happened)


def _status(settings: Settings, job_id: str) -> str:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        return job.status if job is not None else "missing"
