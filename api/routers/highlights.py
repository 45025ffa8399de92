"""Highlight analyses (run as jobs), the highlights they found, and a merchant's manual edits."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import RecordingReader, SessionDep, SettingsDep, require_roles
from pipeline.analysis import ANALYZE_KIND, DEFAULT_PARAMS, MAX_CLIPS, analysis_params
from services.weight_presets import analysis_preset
from store import highlights as repo
from store.models import Analysis, ApiKey, Job, Recording
from studio.errors import StudioError
from workers.dispatch import enqueue_job

router = APIRouter(prefix="/api", tags=["highlights"])

HIGHLIGHT_ROLES = ("admin", "content", "merchant")
HighlightEditor = Annotated[ApiKey, Depends(require_roles(*HIGHLIGHT_ROLES))]


class AnalysisRequest(BaseModel):
    """Options of one analysis run; ``preset`` is built-in or saved (``POST /api/weight-presets``); ``weights``
    update the preset's (0 switches a signal off)."""

    model_config = ConfigDict(extra="forbid")

    clips: int = Field(DEFAULT_PARAMS["clips"], ge=0, le=MAX_CLIPS)
    preset: str = DEFAULT_PARAMS["preset"]
    weights: dict[str, float] = Field(default_factory=dict)
    min_len: float = Field(DEFAULT_PARAMS["min_len"], gt=0)
    max_len: float = Field(DEFAULT_PARAMS["max_len"], gt=0)
    scenes: bool = DEFAULT_PARAMS["scenes"]


class HighlightCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: float = Field(ge=0)
    end: float = Field(gt=0)
    sku: str | None = None
    reason: str = Field("", max_length=500)


class HighlightPatch(BaseModel):
    """Only the fields sent are changed; ``"sku": null`` clears the SKU."""

    model_config = ConfigDict(extra="forbid")

    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, gt=0)
    sku: str | None = None
    locked: bool | None = None


def _recording(session: SessionDep, recording_id: str) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording {recording_id!r}")
    return recording


def _invalid(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": "invalid", "message": str(exc)})


def analysis_summary(analysis: Analysis) -> dict[str, Any]:
    """Parameters and outcome of one analysis (``HighlightResult.to_dict()`` less the highlights)."""
    result = analysis.result or {}
    return {
        "id": analysis.id,
        "job_id": analysis.job_id,
        "created_at": analysis.created_at.isoformat(),
        "duration": analysis.duration,
        "params": analysis.params,
        "missing": result.get("missing", {}),
        "warnings": result.get("warnings", []),
        "weights": result.get("weights", {}),
        "signals": result.get("signals", {}),
        "hz": result.get("hz"),
    }


@router.post(
    "/recordings/{recording_id}/analyses",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a highlight analysis; poll the returned job (roles: admin, content, merchant)",
)
def start_analysis(
    recording_id: str,
    body: AnalysisRequest,
    response: Response,
    settings: SettingsDep,
    session: SessionDep,
    _key: HighlightEditor,
) -> dict[str, Any]:
    recording = _recording(session, recording_id)
    if recording.status == "failed":
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the recording failed its probe and cannot be analysed: {recording.error}"
        )
    values = body.model_dump()
    values["preset"], values["weights"], named = analysis_preset(session, body.preset, body.weights)
    try:
        params = analysis_params(**values, duration=recording.duration)
    except StudioError as exc:
        raise _invalid(exc) from exc
    if named is not None:
        params["named_preset"] = named  # a saved preset, run as custom weights on its base
    job = Job(kind=ANALYZE_KIND, recording_id=recording.id, status="queued", stage="analyze", options=params)
    session.add(job)
    session.commit()
    enqueue_job(settings, job.id)  # after commit; if the broker is down the reconciler sends it later
    url = f"/api/jobs/{job.id}"
    response.headers["Location"] = url
    return {
        "job_id": job.id,
        "status": job.status,
        "url": url,
        "highlights_url": f"/api/recordings/{recording.id}/highlights",
        "params": params,
    }


@router.get(
    "/recordings/{recording_id}/highlights",
    summary="The latest analysis and the recording's highlights (roles: admin, content, merchant)",
)
def get_highlights(
    recording_id: str,
    session: SessionDep,
    _key: RecordingReader,
    series: Annotated[bool, Query(description="Include the score timeline (score and signals over time).")] = False,
) -> dict[str, Any]:
    recording = _recording(session, recording_id)
    analysis = repo.latest_analysis(session, recording_id=recording.id)
    summary = analysis_summary(analysis) if analysis is not None else None
    if summary is not None and series and analysis is not None:
        summary["series"] = analysis.series
    rows = repo.list_highlights(session, recording_id=recording.id)
    return {
        "recording_id": recording.id,
        "duration": recording.duration,
        "analysis": summary,
        "highlights": [repo.highlight_payload(row) for row in rows],
    }


@router.post(
    "/recordings/{recording_id}/highlights",
    status_code=status.HTTP_201_CREATED,
    summary="Add a manual highlight; it is locked, so re-analysis keeps it (roles: admin, content, merchant)",
)
def add_highlight(
    recording_id: str, body: HighlightCreate, session: SessionDep, _key: HighlightEditor
) -> dict[str, Any]:
    _recording(session, recording_id)
    row = repo.add_manual_highlight(
        session, recording_id=recording_id, start=body.start, end=body.end, sku=body.sku, reason=body.reason
    )
    session.commit()
    return repo.highlight_payload(row)


@router.patch(
    "/highlights/{highlight_id}",
    summary="Edit a highlight's in/out points, SKU or lock; new in/out points make it manual and locked "
    "(roles: admin, content, merchant)",
)
def patch_highlight(
    highlight_id: str, body: HighlightPatch, session: SessionDep, _key: HighlightEditor
) -> dict[str, Any]:
    changes: dict[str, Any] = {name: getattr(body, name) for name in body.model_fields_set}
    if changes.get("start", 0) is None or changes.get("end", 0) is None or changes.get("locked", False) is None:
        raise _invalid(ValueError("start, end and locked cannot be null"))
    row = repo.update_highlight(session, highlight_id=highlight_id, **changes)
    session.commit()
    return repo.highlight_payload(row)


@router.delete(
    "/highlights/{highlight_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a highlight (roles: admin, content, merchant)",
)
def delete_highlight(highlight_id: str, session: SessionDep, _key: HighlightEditor) -> None:
    repo.delete_highlight(session, highlight_id=highlight_id)
    session.commit()
