"""Processing jobs: start one for a recording or for a product (SKU), follow it, cancel it, retry what failed.

A processing job runs the whole pipeline (probe, signals, highlights, then per clip: render,
variants, covers; finalize) as Celery stages; see :mod:`pipeline`. ``GET /api/jobs/{id}`` also
serves every other job kind (probe, analyze, render).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import RecordingReader, SessionDep, SettingsDep, require_roles
from api.routers.clips import LeaderIn
from pipeline import plan
from pipeline.advance import PipelineStateError, request_cancel, retry_failed, start_pipeline
from pipeline.analysis import MAX_CLIPS
from pipeline.clipmaking import pipeline_options
from pipeline.manifest import pipeline_manifest
from pipeline.status import job_view
from services.clips import InvalidClipRequest, stored_leaders
from services.weight_presets import analysis_preset
from store.models import ApiKey, Job, Product, Recording
from studio.errors import StudioError
from workers.dispatch import enqueue_job

router = APIRouter(prefix="/api", tags=["jobs"])

JOB_ROLES = ("admin", "content", "merchant")
JobEditor = Annotated[ApiKey, Depends(require_roles(*JOB_ROLES))]


class ProcessRequest(BaseModel):
    """Options of a processing job (all optional)."""

    model_config = ConfigDict(extra="forbid")

    clips: int = Field(10, ge=0, le=MAX_CLIPS, description="Highlights to clip (each in every preset).")
    presets: list[str] = Field(default_factory=lambda: ["douyin"], min_length=1, description="Platform presets.")
    weight_preset: str = Field(
        "sales", description="Highlight weights: sales, engagement, audio-only or a saved preset's name."
    )
    weights: dict[str, float] = Field(default_factory=dict, description="Custom weights (0 switches one off).")
    min_len: float = Field(15.0, gt=0)
    max_len: float = Field(60.0, gt=0)
    scenes: bool = False
    leaders: list[LeaderIn] = Field(default_factory=list, max_length=500, description="Leaders to personalise for.")
    mode: Literal["accurate", "fast"] = "accurate"
    captions: bool = True
    reframe: str = "auto"
    theme: dict[str, Any] = Field(default_factory=dict)

    def options(self, session: Session, *, sku: str | None = None, duration: float | None = None) -> dict[str, Any]:
        """The job's checked options (:func:`pipeline.clipmaking.pipeline_options`; raises what it raises);
        the leaders become leader rows (created on the fly for ``{"name"}`` entries)."""
        values = self.model_dump()
        people = stored_leaders(session, [leader.item() for leader in self.leaders])
        values["leaders"] = [{"id": p.id, "name": p.name, "share_url": p.share_url} for p in people]
        values["weight_preset"], values["weights"], named = analysis_preset(session, self.weight_preset, self.weights)
        options = pipeline_options(**values, sku=sku, duration=duration)
        if named is not None:
            options["analysis"]["named_preset"] = named  # a saved preset, run as custom weights on its base
        return options


def _options(
    session: Session, body: ProcessRequest, *, sku: str | None = None, duration: float | None = None
) -> dict[str, Any]:
    try:
        return body.options(session, sku=sku, duration=duration)
    except (InvalidClipRequest, StudioError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc


def _started(session: SessionDep, job: Job, created: bool, response: Response) -> dict[str, Any]:
    response.status_code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return {**job_view(session, job), "created": created, "url": f"/api/jobs/{job.id}", "page": f"/jobs/{job.id}"}


@router.post(
    "/recordings/{recording_id}/process",
    summary="Start processing a recording into share-ready clips (roles: admin, content, merchant)",
    responses={200: {"description": "The same job is already running: that one is returned"}},
)
def start_process(
    recording_id: str,
    body: ProcessRequest,
    response: Response,
    settings: SettingsDep,
    session: SessionDep,
    _key: JobEditor,
) -> dict[str, Any]:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording {recording_id!r}")
    if recording.status == "failed":
        raise HTTPException(status.HTTP_409_CONFLICT, f"the recording failed its probe: {recording.error}")
    options = _options(session, body, duration=recording.duration)
    job, created = start_pipeline(
        settings, session, kind=plan.PROCESS, recording_id=recording.id, options=options, send=enqueue_job
    )
    return _started(session, job, created, response)


@router.post(
    "/products/{sku}/clips",
    summary="Clips of one product: its best moments across every recording it appears in (roles: admin, content, "
    "merchant)",
)
def start_product_clips(
    sku: str, body: ProcessRequest, response: Response, settings: SettingsDep, session: SessionDep, _key: JobEditor
) -> dict[str, Any]:
    if session.get(Product, sku) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown SKU {sku!r}: it is not in the product catalog")
    options = _options(session, body, sku=sku)
    job, created = start_pipeline(
        settings, session, kind=plan.PRODUCT, recording_id=None, options=options, send=enqueue_job
    )
    return _started(session, job, created, response)


@router.get("/jobs", summary="Jobs, newest first (roles: admin, content, merchant)")
def list_jobs(
    session: SessionDep,
    _key: RecordingReader,
    kind: Annotated[str | None, Query(description="process, product, probe, analyze, render…")] = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    recording_id: str | None = None,
    sku: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    stmt = select(Job).where(Job.parent_id.is_(None))
    if kind:
        stmt = stmt.where(Job.kind == kind)
    if status_:
        stmt = stmt.where(Job.status == status_)
    if recording_id:
        stmt = stmt.where(Job.recording_id == recording_id)
    jobs = list(session.scalars(stmt.order_by(Job.created_at.desc()).limit(limit if not sku else 1000)))
    if sku:
        jobs = [j for j in jobs if (j.options or {}).get("sku") == sku][:limit]
    return {"jobs": [job_view(session, j) for j in jobs]}


def _job(session: SessionDep, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id!r}")
    return job


@router.get(
    "/jobs/{job_id}", summary="A job's status, stage, percent, ETA, clips and errors (roles: admin, content, merchant)"
)
def get_job(job_id: str, session: SessionDep, _key: RecordingReader) -> dict[str, Any]:
    return job_view(session, _job(session, job_id))


@router.get("/jobs/{job_id}/manifest", summary="The processing job's manifest (roles: admin, content, merchant)")
def get_manifest(job_id: str, settings: SettingsDep, session: SessionDep, _key: RecordingReader) -> dict[str, Any]:
    job = _job(session, job_id)
    if job.kind not in plan.PIPELINE_KINDS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"job {job_id} is a {job.kind} job: only processing jobs have a manifest"
        )
    session.rollback()
    return pipeline_manifest(settings, job_id)


def _transition(settings: SettingsDep, session: SessionDep, job_id: str, change: Any) -> dict[str, Any]:
    """Apply ``change(settings, job_id)`` (its own transactions); 409 when the job is in no state for it."""
    _job(session, job_id)
    session.rollback()
    try:
        change(settings, job_id)
    except PipelineStateError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.expire_all()
    return job_view(session, _job(session, job_id))


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Cancel a job: queued stages stop at once, a running render stops its ffmpeg (roles: admin, "
    "content, merchant)",
)
def cancel_job(job_id: str, settings: SettingsDep, session: SessionDep, _key: JobEditor) -> dict[str, Any]:
    return _transition(settings, session, job_id, request_cancel)


@router.post(
    "/jobs/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Retry only the failed parts of a finished processing job (roles: admin, content, merchant)",
)
def retry_job(job_id: str, settings: SettingsDep, session: SessionDep, _key: JobEditor) -> dict[str, Any]:
    return _transition(settings, session, job_id, partial(retry_failed, send=enqueue_job))
