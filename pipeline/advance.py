"""Moving a pipeline forward in the database: the stages' rows are the truth, the broker only delivers.

:func:`advance` locks the pipeline's row, reads its stages, asks :func:`pipeline.plan.next_steps`
what comes next, creates those stage rows (unique per pipeline and key, so concurrent advancers
cannot make one twice) and records the pipeline's stage, progress and outcome, all in one
transaction. It returns the stage jobs to send, which :func:`drive` then sends, after the commit.
Every finished stage drives its pipeline, and the reconciler drives every active pipeline on each
pass, so a lost message or a crash between commit and send only delays a pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pipeline import plan
from pipeline.errors import TRANSIENT_ERRORS, PipelineError
from pipeline.jobs import ACTIVE, CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, TERMINAL
from runtime.config import Settings
from store.db import session_scope
from store.models import Clip, Job, utcnow

log = logging.getLogger(__name__)

Sender = Callable[[Settings, str], bool]


def create_pipeline(
    session: Session, *, kind: str, recording_id: str | None, options: Mapping[str, Any]
) -> tuple[Job, bool]:
    """The active pipeline of ``kind`` with these options for this recording, or a new queued one.

    Returns ``(job, created)``; asking twice for the same work gives the same job. No commit.
    """
    if kind not in plan.PIPELINE_KINDS:
        raise ValueError(f"not a pipeline kind: {kind!r}")
    stmt = select(Job).where(Job.kind == kind, Job.status.in_(ACTIVE), Job.parent_id.is_(None))
    stmt = stmt.where(Job.recording_id == recording_id) if recording_id else stmt.where(Job.recording_id.is_(None))
    for job in session.scalars(stmt.order_by(Job.created_at)):
        if dict(job.options or {}) == dict(options):
            return job, False
    job = Job(
        kind=kind, recording_id=recording_id, status=QUEUED, stage=plan.HEAD_STAGES[kind][0], options=dict(options)
    )
    session.add(job)
    session.flush()
    return job, True


def start_pipeline(
    settings: Settings,
    session: Session,
    *,
    kind: str,
    recording_id: str | None,
    options: Mapping[str, Any],
    send: Sender,
) -> tuple[Job, bool]:
    """:func:`create_pipeline`, commit, then :func:`drive` a new one. If it cannot be driven now (database
    or broker briefly away), it stays committed and queued: the reconciler drives it on its next pass."""
    job, created = create_pipeline(session, kind=kind, recording_id=recording_id, options=options)
    session.commit()
    if created:
        try:
            drive(settings, job.id, send=send)
        except TRANSIENT_ERRORS as exc:
            log.warning("job=%s created but not driven now (%s); the reconciler will", job.id, exc)
    session.refresh(job)
    return job, created


def children_of(session: Session, parent_id: str) -> dict[str, Job]:
    return {c.key or c.id: c for c in session.scalars(select(Job).where(Job.parent_id == parent_id))}


def plan_children(rows: Mapping[str, Job]) -> dict[str, plan.Child]:
    return {
        key: plan.Child(key, row.status, row.progress or 0.0, dict(row.result or {}), row.error)
        for key, row in rows.items()
    }


def advance(settings: Settings, parent_id: str, *, now: datetime | None = None) -> list[str]:
    """One step of the pipeline's state machine; returns the ids of stage jobs waiting to be sent."""
    now = now or utcnow()
    try:
        with session_scope(settings.database_url) as session:
            return _advance(session, parent_id, now)
    except sa_exc.IntegrityError:
        # Another advancer created the same stage first (unique parent/key): its decision stands.
        log.info("job=%s advanced concurrently; re-reading", parent_id)
        with session_scope(settings.database_url) as session:
            return _advance(session, parent_id, now)


def _advance(session: Session, parent_id: str, now: datetime) -> list[str]:
    locked = session.execute(
        update(Job)
        .where(Job.id == parent_id, Job.status.in_(ACTIVE))
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )  # takes the row lock: advancers of one pipeline run one at a time
    if getattr(locked, "rowcount", 0) != 1:
        return []
    parent = session.get(Job, parent_id)
    assert parent is not None
    session.refresh(parent)
    rows = children_of(session, parent_id)
    if parent.cancel_requested:
        _cancel_children(rows.values(), now)
        if not any(r.status in ACTIVE for r in rows.values()):
            _finish(parent, CANCELLED, now, stage="cancelled")
        return []
    decision = plan.next_steps(parent.kind, plan_children(rows))
    for new in decision.create:
        rows[new.key] = _new_stage(session, parent, new)
    session.flush()
    children = plan_children(rows)
    parent.stage = decision.stage
    parent.progress = plan.progress(parent.kind, children)
    if any(r.status != QUEUED or r.started_at for r in rows.values()) and parent.status == QUEUED:
        parent.status, parent.started_at = RUNNING, parent.started_at or now
    if decision.outcome is not None:
        result = dict(rows["finalize"].result or {}) if "finalize" in rows else {}
        parent.result = {**result, "clips": len(plan.clip_ids(children, parent.kind))}
        parent.error = decision.error
        _finish(parent, SUCCEEDED if decision.outcome == "succeeded" else FAILED, now, stage=decision.stage)
        if decision.outcome == "failed":
            log.warning("job=%s pipeline failed: %s", parent.id, decision.error)
        return []
    return [r.id for r in rows.values() if r.status == QUEUED and r.enqueued_at is None and not r.cancel_requested]


def _new_stage(session: Session, parent: Job, new: plan.NewStage) -> Job:
    options: dict[str, Any] = {}
    recording_id = parent.recording_id
    if new.clip_id is not None:
        clip = session.get(Clip, new.clip_id)
        seconds = (clip.end - clip.start) if clip is not None else 60.0
        leaders = len((clip.options or {}).get("leaders") or []) if clip is not None else 0
        options = {"clip_id": new.clip_id, "part": plan.CLIP_PART[new.stage]}
        options["time_limits"] = list(plan.time_limits(new.stage, clip_seconds=seconds, leaders=leaders))
        recording_id = clip.recording_id if clip is not None else recording_id
    else:  # head stages carry the analysis parameters, as a standalone analyze job does
        options = {
            **dict((parent.options or {}).get("analysis") or {}),
            "time_limits": list(plan.time_limits(new.stage)),
        }
    child = Job(
        kind=new.kind,
        recording_id=recording_id,
        parent_id=parent.id,
        key=new.key,
        status=QUEUED,
        stage=new.stage,
        options=options,
    )
    session.add(child)
    return child


def _cancel_children(rows: Any, now: datetime) -> None:
    for row in rows:
        if row.status == QUEUED:
            row.status, row.stage, row.finished_at = CANCELLED, "cancelled", now
        if row.status in ACTIVE:
            row.cancel_requested = True


def _finish(job: Job, status: str, now: datetime, *, stage: str) -> None:
    job.status, job.stage, job.finished_at, job.heartbeat_at = status, stage, now, now
    if status == SUCCEEDED:
        job.progress, job.error = 1.0, None


def drive(settings: Settings, parent_id: str, *, send: Sender) -> list[str]:
    """:func:`advance`, then send what it returned with ``send`` (the workers' ``enqueue_job``, or a local runner).

    A send that fails leaves the stage queued and unsent: the reconciler sends it later.
    """
    ids = advance(settings, parent_id)
    for job_id in ids:
        send(settings, job_id)
    return ids


def parent_of(settings: Settings, job_id: str) -> str | None:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(Job.parent_id).where(Job.id == job_id))


def active_pipelines(settings: Settings, *, limit: int = 200) -> list[str]:
    """Pipelines not finished yet, oldest first (the reconciler drives each)."""
    with session_scope(settings.database_url) as session:
        stmt = select(Job.id).where(Job.kind.in_(plan.PIPELINE_KINDS), Job.status.in_(ACTIVE))
        return list(session.scalars(stmt.order_by(Job.created_at).limit(limit)))


class PipelineStateError(PipelineError, ValueError):
    """The job is not a pipeline, or is in no state for this (the API answers 409)."""

    code = "invalid_state"


def request_cancel(settings: Settings, job_id: str) -> Job:
    """Ask a job to stop: queued stages are cancelled at once, running ones stop their ffmpeg cooperatively.

    Works on any broker (no revoke needed): the flag is in the database, checked between stages and
    by every running stage's heartbeat.
    """
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise PipelineStateError(f"no job {job_id}")
        if job.status in TERMINAL:
            raise PipelineStateError(f"job {job_id} is already {job.status}")
        job.cancel_requested = True
        if job.kind not in plan.PIPELINE_KINDS and job.status == QUEUED:
            _finish(job, CANCELLED, utcnow(), stage="cancelled")
        session.flush()
    if job.kind in plan.PIPELINE_KINDS:
        advance(settings, job_id)
    return _reload(settings, job_id)


def retry_failed(settings: Settings, job_id: str, *, send: Sender) -> Job:
    """Run again only what failed (or was cancelled) of a finished pipeline; what succeeded is kept."""
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None or job.kind not in plan.PIPELINE_KINDS:
            raise PipelineStateError(f"job {job_id} is not a processing job")
        if job.status not in (FAILED, CANCELLED):
            raise PipelineStateError(f"job {job_id} is {job.status}: only a failed or cancelled job can be retried")
        rows = children_of(session, job_id)
        redo = [r for r in rows.values() if r.status in (FAILED, CANCELLED)]
        final = rows.get("finalize")
        if final is not None and final.status == SUCCEEDED and redo:
            session.delete(final)  # made again once the retried clips are done
        for row in redo:
            row.status, row.error, row.result, row.progress = QUEUED, None, None, 0.0
            row.stage = (row.key or row.kind).split(":")[0]
            row.attempts, row.cancel_requested, row.celery_task_id = 0, False, None
            row.enqueued_at = row.started_at = row.heartbeat_at = row.finished_at = None
        job.status, job.error, job.cancel_requested, job.finished_at = RUNNING, None, False, None
        log.info("job=%s retrying %d failed stage(s)", job_id, len(redo))
    drive(settings, job_id, send=send)
    return _reload(settings, job_id)


def _reload(settings: Settings, job_id: str) -> Job:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job
