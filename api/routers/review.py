"""Review before sharing: lint a clip's text, approve it (which gives it to leaders), take it back.

``POST /api/clips/{id}/approve`` answers 422 when the advertising-law lint finds errors; the answer's
``detail.errors`` names each term (``{"term": "最", "field": "caption", "position": 3, ...}``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, require_roles
from services import review
from store.models import ApiKey

router = APIRouter(prefix="/api/clips", tags=["review"])

Approver = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
ReviewReader = Annotated[ApiKey, Depends(require_roles("admin", "content", "merchant"))]


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=review.MAX_TITLE_CHARS)
    caption: str = Field("", max_length=review.MAX_CAPTION_CHARS)
    hashtags: list[str] = Field(default_factory=list, max_length=50)
    leader_ids: list[str] | None = Field(
        None, max_length=5000, description="Whom to give the clip to; default: every active leader."
    )


class RevokeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leader_ids: list[str] = Field(min_length=1, max_length=5000)


@router.post(
    "/{clip_id}/approve",
    summary="Approve a ready clip's title, caption and hashtags and give it to leaders (roles: admin, merchant)",
)
def approve(
    clip_id: str, body: ApproveBody, settings: SettingsDep, session: SessionDep, key: Approver
) -> dict[str, Any]:
    result = review.approve_clip(  # lint errors, bad leaders: 422; not ready: 409 (api/errors.py)
        settings,
        session,
        clip_id=clip_id,
        title=body.title,
        caption=body.caption,
        hashtags=body.hashtags,
        leader_ids=body.leader_ids,
        approved_by=key.id,
    )
    clip = result.clip
    return {
        "clip_id": clip.id,
        "review_status": clip.review_status,
        "title": clip.title,
        "caption": clip.caption,
        "hashtags": clip.hashtags,
        "approved_at": clip.approved_at.isoformat() if clip.approved_at else None,
        "leaders": result.leaders,
        "added": result.added,
        "warnings": result.warnings,
    }


@router.get("/{clip_id}/review", summary="The lint of a clip's current text (roles: admin, content, merchant)")
def current(clip_id: str, session: SessionDep, _key: ReviewReader) -> dict[str, Any]:
    return review.current_review(session, clip_id=clip_id)


@router.post("/{clip_id}/revoke", summary="Take a clip back from leaders (roles: admin, merchant)")
def revoke(
    clip_id: str, body: RevokeBody, settings: SettingsDep, session: SessionDep, _key: Approver
) -> dict[str, Any]:
    return {
        "clip_id": clip_id,
        "revoked": review.revoke(settings, session, clip_id=clip_id, leader_ids=body.leader_ids),
    }
