"""A clip request checked against a stored recording and the catalog, and its row queued (no rendering)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from services.clip_requests import check_share_url, check_window, make_leaders, preset_named, theme_mapping
from store import clips as repo
from store.leaders import InvalidLeader, LeaderNotFound, resolve_leaders
from store.models import Clip, HighlightRow, Recording
from studio.cards.theme import CardTheme
from studio.clip.types import InvalidClipRequest, Leader
from studio.render.plan import REFRAMES


def prepare_clip(
    settings: Settings,
    session: Session,
    *,
    recording_id: str,
    start: float | None = None,
    end: float | None = None,
    highlight_id: str | None = None,
    sku: str | None = None,
    preset: str = "douyin",
    share_url: str | None = None,
    mode: str = "accurate",
    captions: bool = True,
    reframe: str = "auto",
    theme: CardTheme | Mapping[str, Any] | None = None,
    leaders: Sequence[Leader | Mapping[str, Any]] = (),
) -> Clip:
    """Check a clip request and find or create its row (status queued, options stored); no commit.

    Times default to the highlight's. The SKU is the one given (it must be in the catalog), else the
    highlight's, else the product on air mid-window (kept None when nothing is: no card).
    """
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise InvalidClipRequest(f"{recording_id!r} is not a recording id")
    highlight = session.get(HighlightRow, highlight_id) if highlight_id else None
    if highlight_id and (highlight is None or highlight.dismissed or highlight.recording_id != recording_id):
        raise InvalidClipRequest(f"no highlight {highlight_id!r} in recording {recording_id}")
    if start is None or end is None:
        if highlight is None:
            raise InvalidClipRequest("give start and end, or a highlight")
        start, end = highlight.start if start is None else start, highlight.end if end is None else end
    if not recording.duration:
        raise InvalidClipRequest(f"recording {recording_id} has not been probed yet (status {recording.status})")
    chosen = preset_named(preset)
    start, end = check_window(start, end, duration=recording.duration, preset=chosen, mode=mode)
    if sku is not None and repo.get_product(session, sku=sku) is None:
        raise InvalidClipRequest(f"unknown SKU {sku!r}: it is not in the product catalog")
    if sku is None and highlight is not None and highlight.sku:
        sku = highlight.sku
    if sku is None:
        on_air = repo.product_on_air(session, recording_id=recording_id, at=(start + end) / 2)
        sku = on_air.sku if on_air is not None else None
    people = stored_leaders(session, leaders)
    if mode == "fast" and people:
        raise InvalidClipRequest("fast mode makes a raw excerpt without overlays: leader variants need accurate mode")
    if reframe not in REFRAMES:
        raise InvalidClipRequest(f"unknown reframe {reframe!r}; choose one of {', '.join(REFRAMES)}")
    url = check_share_url(share_url)
    buy_url = _buy_url(session, sku)
    for person in people:
        if not person.share_url and not buy_url:
            raise InvalidClipRequest(
                f"leader {person.name!r} needs a QR link, but {'product ' + sku if sku else 'the clip'} has no "
                "buy_url: add buy_url to the catalog, or give the leader a share_url"
            )
    options = {
        "share_url": url,  # the merchant's own link, used as given; else the clip gets a /s/{code} link
        "captions": bool(captions),
        "reframe": reframe,
        "theme": theme_mapping(theme),
        "leaders": [{"id": p.id, "name": p.name, "share_url": p.share_url} for p in people],
    }
    peak = (highlight.peak, highlight.score, highlight.reason) if highlight is not None else (None, None, None)
    clip, _created = repo.find_or_create_clip(
        session, recording_id=recording_id, start=start, end=end, preset=chosen.name, mode=mode
    )
    clip.sku, clip.share_url, clip.options = sku, url, options
    clip.highlight_id = highlight_id if highlight is not None else None
    clip.peak, clip.score, clip.reason = peak
    if clip.status != "rendering":
        clip.status = "queued"
    session.flush()
    return clip


def stored_leaders(session: Session, leaders: Sequence[Leader | Mapping[str, Any]]) -> list[Leader]:
    """The request's leaders as leader rows (see :func:`store.leaders.resolve_leaders`: ``{"leader_id"}``
    names one, ``{"name", "share_url"?, "id"?}`` finds or creates one), checked as :func:`make_leaders` does."""
    items = [{"id": p.id, "name": p.name, "share_url": p.share_url} if isinstance(p, Leader) else p for p in leaders]
    try:
        refs = resolve_leaders(session, items)
    except (LeaderNotFound, InvalidLeader) as exc:
        raise InvalidClipRequest(str(exc)) from exc
    return make_leaders([ref.as_dict() for ref in refs])


def _buy_url(session: Session, sku: str | None) -> str | None:
    product = repo.get_product(session, sku=sku) if sku else None
    return product.buy_url if product is not None else None
