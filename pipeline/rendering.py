"""The render job body: render one prepared clip (``services.clips.run_clip``) and record the outcome.

A plain function, callable in-process without Celery (tests and the CLI can); the Celery task
``liveslice.render_clip`` in :mod:`workers.tasks` is a thin wrapper. The job row (kind ``render``)
names the clip in ``options["clip_id"]``; the clip row holds every render option.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.lifecycle import JobContext, JobOutcome, ProgressCallback, run_job
from runtime.config import Settings
from services.clips import run_clip
from store.db import get_sessionmaker
from store.models import Clip, Job

log = logging.getLogger(__name__)

RENDER_KIND = "render"


def new_render_job(session: Any, clip: Clip) -> Job:
    """A queued render job for ``clip`` (in the caller's transaction); enqueue it after the commit."""
    job = Job(
        kind=RENDER_KIND, recording_id=clip.recording_id, status="queued", stage="render", options={"clip_id": clip.id}
    )
    session.add(job)
    session.flush()
    clip.job_id = job.id
    return job


def run_render_job(
    settings: Settings, job_id: str, *, on_progress: ProgressCallback | None = None, task_id: str | None = None
) -> JobOutcome:
    """Run a render job under :func:`pipeline.lifecycle.run_job`; safe to run twice.

    Bad requests and bad media fail the job (and the clip) at once with the reason; transient errors
    (database, network) propagate so Celery retries. Cancelling the job stops the running ffmpeg.
    """
    return run_job(settings, job_id, render_body, task_id=task_id, on_progress=on_progress)


def render_body(ctx: JobContext) -> dict[str, Any]:
    """Render every part of the job's clip (base, variants, covers and posters)."""
    clip_id = str(ctx.job.options.get("clip_id") or "")
    session = get_sessionmaker(ctx.settings.database_url)()
    try:
        clip = run_clip(
            ctx.settings, session, clip_id=clip_id, on_progress=ctx.report, should_cancel=ctx.report.cancelled
        )
        log.info("job=%s clip=%s rendered: %s", ctx.job.id, clip_id, clip.video_key)
        return {
            "clip_id": clip.id,
            "status": clip.status,
            "video_key": clip.video_key,
            "variants": len(clip.variants),
            "duration": clip.duration,
        }
    finally:
        session.close()
