"""Recordings: list, inspect, delete. Uploads live in ``uploads.py`` and ``tus.py``."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy import func, select

from api.deps import IngestKey, RecordingReader, SessionDep, StorageDep
from services.ingest import recording_summary
from services.recordings import ensure_deletable
from services.storage import StorageError
from store.clips import clip_file_keys
from store.models import Clip, Job, Recording
from store.sidedata import side_data_counts

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/recordings", tags=["recordings"])


def _get(session: SessionDep, recording_id: str) -> Recording:
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no recording {recording_id!r}")
    return recording


@router.get("", summary="List recordings (roles: admin, content, merchant)")
def list_recordings(
    session: SessionDep,
    _key: RecordingReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    status_filter: Annotated[str | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    query = select(Recording)
    if status_filter:
        query = query.where(Recording.status == status_filter)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Recording.created_at.desc()).limit(limit).offset(offset))
    return {"total": total, "items": [recording_summary(r) for r in rows]}


@router.get("/{recording_id}", summary="One recording with its probe facts (roles: admin, content, merchant)")
def get_recording(recording_id: str, session: SessionDep, _key: RecordingReader) -> dict[str, Any]:
    recording = _get(session, recording_id)
    summary = recording_summary(recording)
    summary["side_data"] = side_data_counts(session, recording.id)
    jobs = session.scalars(select(Job).where(Job.recording_id == recording.id).order_by(Job.created_at))
    summary["jobs"] = [
        {"id": j.id, "kind": j.kind, "status": j.status, "stage": j.stage, "progress": j.progress, "error": j.error}
        for j in jobs
    ]
    return summary


@router.delete(
    "/{recording_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a recording, its side data and its stored media (roles: admin, content); "
    "409 when its clips' share links have clicks or attributed sales",
)
def delete_recording(recording_id: str, session: SessionDep, storage: StorageDep, _key: IngestKey) -> None:
    """The row goes first; then its stored file and its clips' files (objects, with S3 storage). Refused
    (409 ``recording_in_use``) while its clips' share links carry clicks or attributed sales."""
    recording = _get(session, recording_id)
    ensure_deletable(session, recording.id)
    keys = [recording.storage_key] if recording.storage_key else []
    for clip in session.scalars(select(Clip).where(Clip.recording_id == recording.id)):
        keys += clip_file_keys(clip).values()
    session.delete(recording)
    session.commit()
    for key in keys:
        try:
            storage.delete(key)
        except StorageError as exc:  # the row is gone either way: a retry would answer 404
            log.warning("recording %s deleted, but not its stored file %s: %s", recording_id, key, exc)
