"""Clips: render one from a highlight or in/out points (a Celery job on the ``render`` queue), list and
fetch them (their files are served by :mod:`api.routers.clip_media`). A variant given to a leader but
not rendered yet is listed with the URL that renders it on first request.

Community leaders may read clips and fetch their files (ready-to-share videos); rendering is for the
admin, content and merchant roles.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from pipeline.jobs import ACTIVE
from pipeline.rendering import new_render_job
from services.clips import InvalidClipRequest, prepare_clip
from store import clips as repo
from store.models import ApiKey, Clip, Job, Recording
from workers.dispatch import enqueue_job

router = APIRouter(tags=["clips"])

CLIP_READ_ROLES = ("admin", "content", "merchant", "leader")
CLIP_WRITE_ROLES = ("admin", "content", "merchant")
ClipReader = Annotated[ApiKey, Depends(require_roles(*CLIP_READ_ROLES))]
ClipWriter = Annotated[ApiKey, Depends(require_roles(*CLIP_WRITE_ROLES))]


class LeaderIn(BaseModel):
    """A leader to personalise for: ``{"leader_id"}`` (an existing leader), or ``{"name", "share_url"?}``
    to find the leader of that name's id, or create one on the fly."""

    model_config = ConfigDict(extra="forbid")

    leader_id: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, min_length=1, max_length=200)
    share_url: str | None = Field(None, max_length=2000)
    id: str | None = Field(None, max_length=64, description="With name: the id a new leader gets.")

    @model_validator(mode="after")
    def _named(self) -> LeaderIn:
        if not self.leader_id and not self.name:
            raise ValueError("give leader_id, or name")
        return self

    def item(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ClipCreate(BaseModel):
    """A clip to render: a highlight's window, or ``start``/``end`` (seconds); both given: the times win."""

    model_config = ConfigDict(extra="forbid")

    highlight_id: str | None = None
    start: float | None = Field(None, ge=0)
    end: float | None = Field(None, gt=0)
    sku: str | None = None
    preset: str = "douyin"
    share_url: str | None = Field(None, max_length=2000)
    mode: Literal["accurate", "fast"] = "accurate"
    captions: bool = True
    reframe: Literal["auto", "blur", "crop", "subject"] = "auto"
    leaders: list[LeaderIn] = Field(default_factory=list, max_length=500)
    theme: dict[str, Any] | None = None


UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
RFC5987_SAFE = "!#$&+^`|~"  # attr-chars quote() would escape (letters, digits and -._ it keeps)


def attachment(title: str, suffix: str) -> str:
    """``Content-Disposition`` that saves as ``<title><suffix>``: an ASCII ``filename`` fallback and the
    UTF-8 name in ``filename*`` (RFC 6266 / RFC 5987), with path and control characters taken out."""
    name = UNSAFE_NAME.sub(" ", title).strip(" .")[:100].strip() or "clip"
    fallback = name.encode("ascii", "ignore").decode().replace("%", "").strip() or "clip"
    return f"attachment; filename=\"{fallback}{suffix}\"; filename*=UTF-8''{quote(name + suffix, safe=RFC5987_SAFE)}"


def download_title(clip: Clip) -> str:
    """The name a downloaded file gets: the reviewed title, else the product, else the clip id."""
    return clip.title or str((clip.product or {}).get("name") or "") or f"clip-{clip.id[:8]}"


def media_url(clip_id: str, key: str | None) -> str | None:
    """The URL that serves one of a clip's stored files."""
    return f"/media/clips/{clip_id}/{key.rsplit('/', 1)[-1]}" if key else None


def clip_payload(clip: Clip, *, leader_id: str | None = None) -> dict[str, Any]:
    """A clip as the API shows it; file URLs only once it is ready. Scoped to ``leader_id`` (a leader's
    key), only that leader's variant is shown, and ``share_url`` is the leader's own link."""
    ready = clip.status == "ready"
    variants = repo.visible_variants(clip, leader_id)
    share_url = clip.share_url if leader_id is None else next((v.share_url for v in variants), None)

    def url(key: str | None) -> str | None:
        return media_url(clip.id, key) if ready else None

    def lazy(key: str | None, name: str, wanted: bool = True) -> str | None:
        """A variant's file: its URL once stored, or the URL that renders it on first request."""
        return url(key or (f"clips/{clip.id}/{name}" if wanted else None))

    options = clip.options or {}
    return {
        "id": clip.id,
        "recording_id": clip.recording_id,
        "highlight_id": clip.highlight_id,
        "job_id": clip.job_id,
        "status": clip.status,
        "error": clip.error,
        "review_status": clip.review_status,
        "title": clip.title,
        "caption": clip.caption,
        "hashtags": list(clip.hashtags or []),
        "preset": clip.preset,
        "mode": clip.mode,
        "start": clip.start,
        "end": clip.end,
        "actual_start": clip.actual_start,
        "actual_end": clip.actual_end,
        "duration": clip.duration,
        "peak": clip.peak,
        "score": clip.score,
        "reason": clip.reason,
        "sku": clip.sku,
        "product": clip.product,
        "share_url": share_url,
        "size_bytes": clip.size_bytes,
        "captions": options.get("captions", True),
        "reframe": options.get("reframe", "auto"),
        "files": {"video": url(clip.video_key), "cover": url(clip.cover_key), "poster": url(clip.poster_key)},
        "variants": [
            {
                "leader_id": v.leader_id,
                "leader_name": v.leader_name,
                "share_url": v.share_url,
                "video": lazy(v.video_key, repo.variant_file_names(v.leader_id)[0]),
                "poster": lazy(v.poster_key, repo.variant_file_names(v.leader_id)[1], repo.poster_expected(clip, v)),
                "rendered": repo.variant_rendered(clip, v),
                "size_bytes": v.size_bytes,
            }
            for v in variants
        ],
        "created_at": clip.created_at.isoformat(),
        "updated_at": clip.updated_at.isoformat(),
    }


def _recording(session: SessionDep, recording_id: str) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording {recording_id!r}")
    return recording


def _clip(session: SessionDep, clip_id: str, *, leader_id: str | None = None) -> Clip:
    """The clip, if the reader may see it (404 for a leader it was not given to, as for no clip at all)."""
    clip = repo.get_clip(session, clip_id=clip_id)  # ClipNotFound answers 404 (api/errors.py)
    if not repo.given_to(clip, leader_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no clip {clip_id!r}")
    return clip


@router.get("/api/clips", summary="All clips, newest first (roles: admin, content, merchant, leader)")
def list_all_clips(
    session: SessionDep,
    key: ClipReader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    scope = leader_scope(key)
    rows = repo.list_clips(session, status=status_filter, leader_id=scope, limit=limit, offset=offset)
    total = repo.count_clips(session, status=status_filter, leader_id=scope)
    return {"total": total, "items": [clip_payload(c, leader_id=scope) for c in rows]}


@router.get(
    "/api/recordings/{recording_id}/clips",
    summary="A recording's clips, newest first (roles: admin, content, merchant, leader)",
)
def list_recording_clips(recording_id: str, session: SessionDep, key: ClipReader) -> dict[str, Any]:
    scope = leader_scope(key)
    rows = repo.list_clips(session, recording_id=recording_id, leader_id=scope, limit=1000)
    if scope is None:
        _recording(session, recording_id)
    elif not rows:  # a leader learns nothing about recordings it has no clip from
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording {recording_id!r}")
    return {"recording_id": recording_id, "items": [clip_payload(c, leader_id=scope) for c in rows]}


@router.get("/api/clips/{clip_id}", summary="One clip with its file URLs (roles: admin, content, merchant, leader)")
def get_clip(clip_id: str, session: SessionDep, key: ClipReader) -> dict[str, Any]:
    scope = leader_scope(key)
    return clip_payload(_clip(session, clip_id, leader_id=scope), leader_id=scope)


@router.post(
    "/api/recordings/{recording_id}/clips",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Render a clip from a highlight or start/end; poll the returned job (roles: admin, content, merchant)",
)
def create_clip(
    recording_id: str,
    body: ClipCreate,
    response: Response,
    settings: SettingsDep,
    session: SessionDep,
    _key: ClipWriter,
) -> dict[str, Any]:
    """The same window, preset and mode again reuses the clip (its files are replaced); while a render of
    it is queued or running, that render's job is returned instead of starting a second one."""
    recording = _recording(session, recording_id)
    if recording.status == "failed":
        raise HTTPException(status.HTTP_409_CONFLICT, f"the recording failed its probe: {recording.error}")
    try:
        clip = prepare_clip(
            settings,
            session,
            recording_id=recording.id,
            start=body.start,
            end=body.end,
            highlight_id=body.highlight_id,
            sku=body.sku,
            preset=body.preset,
            share_url=body.share_url,
            mode=body.mode,
            captions=body.captions,
            reframe=body.reframe,
            theme=body.theme,
            leaders=[leader.item() for leader in body.leaders],
        )
    except InvalidClipRequest as exc:
        session.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, {"code": exc.code, "message": str(exc)}) from exc
    running = session.get(Job, clip.job_id) if clip.job_id else None
    if running is not None and running.status in ACTIVE:
        session.rollback()  # leave the render in flight as it was asked
        clip = repo.get_clip(session, clip_id=clip.id)
        job = running
    else:
        job = new_render_job(session, clip)
        session.commit()
        enqueue_job(settings, job.id)  # after commit; if the broker is down the reconciler sends it later
    url = f"/api/clips/{clip.id}"
    response.headers["Location"] = url
    return {"clip_id": clip.id, "job_id": job.id, "status": clip.status, "url": url, "job_url": f"/api/jobs/{job.id}"}
