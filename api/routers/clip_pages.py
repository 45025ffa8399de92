"""The clip gallery web page (``/clips``) and the clip cards shown on a recording's page.

Same auth and error pages as :mod:`api.routers.pages`. Previews play from ``/media/clips/...`` on
this host (the pages' CSP allows only ``'self'``); community leaders may open the gallery too.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep, leader_scope
from api.routers.clips import ClipReader, clip_payload
from api.routers.pages import Pager, PageRoute, _page_number, render, viewer
from store import clips as repo
from store.models import Recording
from studio.cards import format_price
from studio.render import PLATFORM_PRESETS

router = APIRouter(route_class=PageRoute, include_in_schema=False)

GALLERY_PAGE_SIZE = 24
RECORDING_CLIP_LIMIT = 60


def clip_cards(session: Session, clips: list[Any], *, leader_id: str | None = None) -> list[dict[str, Any]]:
    """Template context for clip cards: the API payload (scoped to ``leader_id``) plus the recording's title."""
    titles: dict[str, str] = {}
    cards = []
    for clip in clips:
        if clip.recording_id not in titles:
            recording = session.get(Recording, clip.recording_id)
            titles[clip.recording_id] = recording.title if recording is not None else clip.recording_id
        cards.append(
            {**clip_payload(clip, leader_id=leader_id), "recording_title": titles[clip.recording_id], **_display(clip)}
        )
    return cards


def _display(clip: Any) -> dict[str, Any]:
    """Preset label and formatted prices (the snapshot the clip was rendered with)."""
    preset = PLATFORM_PRESETS.get(clip.preset)
    shown = {
        "preset_label": f"{preset.label} {preset.name}" if preset and preset.label else clip.preset,
        "price_text": None,
        "original_text": None,
    }
    product = clip.product or {}
    currency = product.get("currency") or "CNY"
    if product.get("price") is not None:
        price = Decimal(product["price"])
        shown["price_text"] = format_price(price, currency)
        original = product.get("original_price")
        if original is not None and Decimal(original) > price:
            shown["original_text"] = format_price(Decimal(original), currency)
    return shown


def recording_clips(session: Session, recording_id: str) -> list[dict[str, Any]]:
    """The clip cards of one recording (newest first), for the recording page."""
    return clip_cards(session, repo.list_clips(session, recording_id=recording_id, limit=RECORDING_CLIP_LIMIT))


@router.get("/clips")
def clips_page(
    request: Request,
    key: ClipReader,
    session: SessionDep,
    settings: SettingsDep,
    page: str = "1",
    recording: str | None = None,
) -> Response:
    """Every clip, newest first: inline previews, covers, posters, downloads and the leader variants."""
    scope = leader_scope(key)
    rec = session.get(Recording, recording) if recording and scope is None else None
    rec_id = rec.id if rec is not None else None
    total = repo.count_clips(session, recording_id=rec_id, leader_id=scope)
    pages = max(math.ceil(total / GALLERY_PAGE_SIZE), 1)
    pager = Pager(page=_page_number(page, pages), pages=pages, total=total)
    rows = repo.list_clips(
        session,
        recording_id=rec_id,
        leader_id=scope,
        limit=GALLERY_PAGE_SIZE,
        offset=(pager.page - 1) * GALLERY_PAGE_SIZE,
    )
    context = {
        "clips": clip_cards(session, rows, leader_id=scope),
        "pager": pager,
        "filter_recording": rec,
        "tz": settings.timezone,
        "nav": "clips",
        **viewer(key),
    }
    return render(request, "clips.html", context)
