"""The variant job body: render one leader's variant of a ready clip on first request.

Jobs of kind ``variant`` are made by :func:`services.variants.ensure_variant` (which also takes the
variant's render lock); ``options`` name the clip, the leader and the variant. The Celery task
``liveslice.render_variant`` (``render`` queue) is a thin wrapper; tests can call the body in-process.
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.lifecycle import JobContext, JobOutcome, ProgressCallback, run_job
from runtime.config import Settings
from services.variants import VARIANT_KIND, render_variant
from store.db import get_sessionmaker

__all__ = ["VARIANT_KIND", "run_variant_job", "variant_body"]

log = logging.getLogger(__name__)


def run_variant_job(
    settings: Settings, job_id: str, *, task_id: str | None = None, on_progress: ProgressCallback | None = None
) -> JobOutcome:
    """Run a variant job under :func:`pipeline.lifecycle.run_job`; safe to run twice (a finished variant
    is not rendered again). On success the variant's lock keeps naming this job: its files exist."""
    return run_job(settings, job_id, variant_body, task_id=task_id, on_progress=on_progress)


def variant_body(ctx: JobContext) -> dict[str, Any]:
    """Render the job's variant (its video and poster only)."""
    variant_id = str(ctx.job.options.get("variant_id") or "")
    session = get_sessionmaker(ctx.settings.database_url)()
    try:
        variant = render_variant(
            ctx.settings, session, variant_id=variant_id, on_progress=ctx.report, should_cancel=ctx.report.cancelled
        )
        log.info("job=%s variant=%s rendered: %s", ctx.job.id, variant_id, variant.video_key)
        return {
            "variant_id": variant.id,
            "clip_id": variant.clip_id,
            "leader_id": variant.leader_id,
            "video_key": variant.video_key,
            "poster_key": variant.poster_key,
            "size_bytes": variant.size_bytes,
        }
    finally:
        session.close()
