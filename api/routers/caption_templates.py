"""Caption templates per channel (Jinja2, sandboxed): list, set, reset to the default, and preview.

A template is checked by rendering it against sample data before it is stored (422 with the reason).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, require_roles
from distribution.captions import MAX_TEMPLATE_CHARS
from services import captions
from store import clips as clip_repo
from store import leaders as leader_repo
from store.models import ApiKey

router = APIRouter(prefix="/api/caption-templates", tags=["caption templates"])

TemplateEditor = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
TemplateReader = Annotated[ApiKey, Depends(require_roles("admin", "content", "merchant"))]


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=MAX_TEMPLATE_CHARS)


class PreviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1, max_length=16)
    body: str | None = Field(None, min_length=1, max_length=MAX_TEMPLATE_CHARS)
    clip_id: str = Field(min_length=1, max_length=32)
    leader_id: str | None = Field(None, max_length=64)


@router.get("", summary="Every channel's caption template, default or custom, with its limit and unit")
def list_templates(session: SessionDep, _key: TemplateReader) -> dict[str, Any]:
    return {"items": [t.as_dict() for t in captions.list_templates(session)]}


@router.put("/{channel}", summary="Set a channel's caption template (roles: admin, merchant)")
def put_template(channel: str, body: TemplateBody, session: SessionDep, _key: TemplateEditor) -> dict[str, Any]:
    saved = captions.save_template(session, channel, body.body)  # 422 when it does not render, 404 unknown
    session.commit()
    return saved.as_dict()


@router.delete("/{channel}", summary="Back to the channel's default template (roles: admin, merchant)")
def delete_template(channel: str, session: SessionDep, _key: TemplateEditor) -> dict[str, Any]:
    reset = captions.reset_template(session, channel)
    session.commit()
    return reset.as_dict()


@router.post(
    "/preview", summary="A clip's caption for a channel, fitted to its limit (roles: admin, content, merchant)"
)
def preview(body: PreviewBody, settings: SettingsDep, session: SessionDep, _key: TemplateReader) -> dict[str, Any]:
    clip = clip_repo.get_clip(session, clip_id=body.clip_id)
    leader = leader_repo.get_leader(session, body.leader_id) if body.leader_id else None
    variant = next((v for v in clip.variants if leader is not None and v.leader_id == leader.id), None)
    share_url = (variant.share_url if variant else None) or clip.share_url or f"{settings.public_base_url}/s/…"
    fitted = captions.preview(
        session, channel=body.channel, clip=clip, share_url=share_url, leader=leader, body=body.body
    )
    return {
        "caption": fitted.text,
        "length": fitted.length,
        "limit": fitted.limit,
        "unit": fitted.unit,
        "fits": fitted.fits,
        "shortened": fitted.shortened,
    }
