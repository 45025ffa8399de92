"""What a job looks like from outside: status, stage, percent, ETA, each clip's state, errors.

Read-only and derived from the rows on every call, so it is never stale: a pipeline's percent
adds up its stages' own progress (which ffmpeg's progress feeds, written at most once a second).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import plan
from pipeline.advance import children_of, plan_children
from store.models import Clip, Job, utcnow


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def job_view(session: Session, job: Job) -> dict[str, Any]:
    """The API's job object (pipelines also get ``clips`` and ``stages``)."""
    view: dict[str, Any] = {
        "id": job.id,
        "kind": job.kind,
        "recording_id": job.recording_id,
        "parent_id": job.parent_id,
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress or 0.0, 4),
        "eta_seconds": None,
        "error": job.error,
        "attempts": job.attempts,
        "cancel_requested": bool(job.cancel_requested),
        "options": job.options,
        "result": job.result,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }
    if job.kind not in plan.PIPELINE_KINDS:
        return view
    rows = children_of(session, job.id)
    children = plan_children(rows)
    fraction = 1.0 if job.status == "succeeded" else plan.progress(job.kind, children)
    started = min((r.started_at for r in rows.values() if r.started_at), default=None)
    if job.status in ("queued", "running"):
        view["status"] = "running" if started is not None else "queued"
        if started is not None:
            view["eta_seconds"] = plan.eta_seconds((utcnow() - started).total_seconds(), fraction)
    view["progress"] = fraction
    view["stages"] = [
        {
            "key": r.key,
            "kind": r.kind,
            "status": r.status,
            "progress": round(r.progress or 0.0, 4),
            "error": r.error,
            "attempts": r.attempts,
            "heartbeat_at": _iso(r.heartbeat_at),
        }
        for r in sorted(rows.values(), key=lambda r: r.created_at)
    ]
    ids = plan.clip_ids(children, job.kind)
    clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(ids)))} if ids else {}
    view["clips"] = []
    for clip_id in ids:
        state, error, _new = plan.clip_state(children, job.kind, clip_id)
        clip = clips.get(clip_id)
        running = next(
            (
                s
                for s in plan.CLIP_STAGES
                if (r := rows.get(plan.stage_key(s, clip_id))) is not None and r.status in plan.ACTIVE
            ),
            None,
        )
        view["clips"].append(
            {
                "clip_id": clip_id,
                "status": state,
                "stage": running,
                "error": error,
                "preset": clip.preset if clip else None,
                "recording_id": clip.recording_id if clip else None,
                "start": clip.start if clip else None,
                "end": clip.end if clip else None,
                "sku": clip.sku if clip else None,
                "url": f"/api/clips/{clip_id}",
            }
        )
    view["errors"] = [s["error"] for s in view["stages"] if s["error"] and s["status"] == "failed"]
    return view
