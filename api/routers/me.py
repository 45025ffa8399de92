"""What a leader's own key reads: ``GET /api/me/clips``, the approved clips given to that leader.

Each item carries the leader's own variant video and poster (``/media/clips/{id}/clip.<leader>.mp4`` and
``poster.<leader>.png``; rendered on first request), their share link, and the caption for sharing by
hand: the ``manual`` caption template (``/api/caption-templates``), which by default is the title, the
caption, the product and price, the hashtags and the share link.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from api.routers.clips import media_url
from distribution.captions import MANUAL
from distribution.errors import DistributionError
from services.captions import caption_for
from store import clips as repo
from store.approvals import clips_for_leader
from store.models import ApiKey, Clip, ClipVariant, Leader
from store.share_links import find_link

router = APIRouter(prefix="/api/me", tags=["me"])

LeaderKey = Annotated[ApiKey, Depends(require_roles("leader"))]


def _share_url(settings: SettingsDep, session: SessionDep, clip: Clip, variant: ClipVariant) -> str | None:
    if variant.share_url:
        return variant.share_url
    link = find_link(session, clip_id=clip.id, leader_id=variant.leader_id)
    return f"{settings.public_base_url}/s/{link.code}" if link is not None and link.disabled_at is None else None


def _caption(session: SessionDep, clip: Clip, share_url: str, leader: Leader | None) -> str:
    try:
        return caption_for(session, clip=clip, channel=MANUAL, share_url=share_url, leader=leader)
    except DistributionError:  # a custom manual template that no longer renders: the plain text still helps
        tags = " ".join(f"#{t}" for t in clip.hashtags or [])
        return "\n".join(p for p in (clip.title or "", clip.caption or "", tags, share_url) if p)


@router.get(
    "/clips", summary="The approved clips given to this leader, with their own video, poster and link (role: leader)"
)
def my_clips(settings: SettingsDep, session: SessionDep, key: LeaderKey) -> list[dict[str, Any]]:
    leader_id = leader_scope(key) or ""
    leader = session.get(Leader, leader_id) if leader_id else None
    items = []
    for clip, variant in clips_for_leader(session, leader_id):
        share_url = _share_url(settings, session, clip, variant) or ""
        items.append(
            {
                "clip_id": clip.id,
                "title": clip.title,
                "caption": _caption(session, clip, share_url, leader),
                "video": media_url(clip.id, variant.video_key or f"clip.{variant.leader_id}.mp4"),
                "poster": media_url(clip.id, variant.poster_key or f"poster.{variant.leader_id}.png")
                if variant.poster_key or repo.poster_expected(clip, variant)
                else None,  # no product card, or no link for the poster's QR: no poster
                "share_url": share_url or None,
            }
        )
    return items
