"""The processing job's manifest: every clip with its window, score, reasons, SKU, files and share links.

One document, built from the database (:func:`pipeline_manifest`). File references are what the
caller asks for: API URLs for the stored copy (``exports/<job id>/manifest.json``), or local paths
for ``liveslice process --out DIR``. The README documents it as a contract.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from pipeline import plan
from pipeline.advance import children_of, plan_children
from runtime.config import Settings
from services.storage import get_storage
from store.clips import clip_files
from store.db import session_scope
from store.models import Clip, HighlightRow, Job, Recording, ShareLink

MANIFEST_VERSION = 1
FileRef = Callable[[Clip, str | None], str | None]


def api_url(settings: Settings) -> FileRef:
    """File references as absolute API URLs (``/media/clips/<clip>/<file>``; S3 redirects to the object)."""

    def ref(clip: Clip, key: str | None) -> str | None:
        return f"{settings.public_base_url}/media/clips/{clip.id}/{key.rsplit('/', 1)[-1]}" if key else None

    return ref


def pipeline_manifest(settings: Settings, job_id: str, *, file_ref: FileRef | None = None) -> dict[str, Any]:
    """The manifest of pipeline ``job_id`` as it stands (finished or not)."""
    ref = file_ref or api_url(settings)
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        if job is None or job.kind not in plan.PIPELINE_KINDS:
            raise ValueError(f"{job_id!r} is not a processing job")
        rows = children_of(session, job_id)
        children = plan_children(rows)
        ids = plan.clip_ids(children, job.kind)
        clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(ids)))} if ids else {}
        links = _links(session, ids)
        highlights = _highlights(session, [c.highlight_id for c in clips.values() if c.highlight_id])
        head = rows.get(plan.HEAD_STAGES[job.kind][-1])
        recording = session.get(Recording, job.recording_id) if job.recording_id else None
        document: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "job_id": job.id,
            "kind": job.kind,
            "status": job.status,
            "recording": _recording(recording),
            "sku": (job.options or {}).get("sku"),
            "options": dict(job.options or {}),
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "clips": [],
            "warnings": list((head.result or {}).get("warnings") or []) if head is not None else [],
        }
        for clip_id in ids:
            clip = clips.get(clip_id)
            if clip is None:
                continue
            state, error, _new = plan.clip_state(children, job.kind, clip_id)
            document["clips"].append(
                clip_entry(
                    clip,
                    highlights.get(clip.highlight_id or ""),
                    links.get(clip.id, []),
                    ref,
                    status=state if state != "ready" else clip.status,
                    error=error or clip.error,
                    base_url=settings.public_base_url,
                )
            )
    return document


def clip_entry(
    clip: Clip,
    highlight: HighlightRow | None,
    links: list[ShareLink],
    ref: FileRef,
    *,
    status: str,
    error: str | None,
    base_url: str,
) -> dict[str, Any]:
    """One clip of the manifest."""
    contributions = (
        dict(highlight.contributions)
        if highlight is not None
        else dict((clip.options or {}).get("contributions") or {})
    )
    fired = [name for name, share in sorted(contributions.items(), key=lambda kv: -kv[1]) if share >= 0.05]
    leaders = {v.leader_id: v for v in clip.variants}
    return {
        "clip_id": clip.id,
        "recording_id": clip.recording_id,
        "status": status,
        "error": error if status != "ready" else None,
        "preset": clip.preset,
        "mode": clip.mode,
        "start": clip.actual_start if clip.actual_start is not None else clip.start,
        "end": clip.actual_end if clip.actual_end is not None else clip.end,
        "requested": {"start": clip.start, "end": clip.end},
        "duration": clip.duration,
        "score": round(clip.score, 4) if clip.score is not None else None,
        "reason": clip.reason or "",
        "reasons": fired,
        "contributions": {k: round(v, 4) for k, v in contributions.items()},
        "sku": clip.sku,
        "product": clip.product,
        "share_url": clip.share_url,
        "corner_qr": bool((clip.options or {}).get("corner_qr")),
        "share_links": [
            {
                "code": link.code,
                "url": f"{base_url}/s/{link.code}",
                "leader_id": link.leader_id,
                "leader": leaders[link.leader_id].leader_name if link.leader_id in leaders else None,
                "channel": link.channel,
                "target_url": link.target_url,
            }
            for link in links
        ],
        "files": clip_files(clip, lambda key: ref(clip, key)),
    }


def _links(session: Any, clip_ids: list[str]) -> dict[str, list[ShareLink]]:
    out: dict[str, list[ShareLink]] = {}
    if not clip_ids:
        return out
    stmt = select(ShareLink).where(ShareLink.clip_id.in_(clip_ids), ShareLink.disabled_at.is_(None))
    for link in session.scalars(stmt.order_by(ShareLink.created_at)):
        out.setdefault(link.clip_id, []).append(link)
    return out


def _highlights(session: Any, ids: list[str]) -> dict[str, HighlightRow]:
    if not ids:
        return {}
    return {h.id: h for h in session.scalars(select(HighlightRow).where(HighlightRow.id.in_(ids)))}


def _recording(recording: Recording | None) -> dict[str, Any] | None:
    if recording is None:
        return None
    return {"id": recording.id, "title": recording.title, "duration": recording.duration}


def manifest_key(job_id: str) -> str:
    return f"exports/{job_id}/manifest.json"


def save_manifest(settings: Settings, job_id: str, manifest: dict[str, Any]) -> str:
    """Write the manifest atomically to the media store; returns its key."""
    key = manifest_key(job_id)
    data = json.dumps(manifest, ensure_ascii=False, indent=2, default=str).encode()
    get_storage(settings).write_bytes(key, data)  # whole or not at all, on either store
    return key
