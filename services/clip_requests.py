"""Clip requests before any rendering: times, share URLs, leaders, product images, themes (no database).

Also :func:`render_file_clip`, the file mode of ``liveslice render``: a window of a media file with
the product and cues given as records, rendered by :func:`studio.clip.produce.produce_clip`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from sidedata import records
from sidedata.catalog import check_http_url
from store.leaders import leader_id_for
from store.models import Product as ProductRow
from store.share_links import ShareLinkError, get_or_create_link
from studio.cards.theme import CardTheme, theme_from_mapping
from studio.clip.types import (
    ClipJob,
    ClipTargets,
    InvalidClipRequest,
    Leader,
    ProductInfo,
    ProgressCallback,
    RenderOutcome,
)
from studio.errors import CardError, MediaError
from studio.render.errors import RenderPlanError
from studio.render.presets import Preset, get_preset

MODES = ("accurate", "fast")
_SAFE_ID = re.compile(r"[^A-Za-z0-9._-]+")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def share_url_for(
    settings: Settings | None,
    *,
    clip_id: str | None,
    leader_id: str | None = None,
    explicit: str | None = None,
    buy_url: str | None = None,
    session: Session | None = None,
    channel: str | None = None,
) -> str | None:
    """The URL a clip's QR codes encode (poster, end card, corner QR).

    - ``explicit`` (the merchant's own link, e.g. ``--share-url``) is used as given.
    - A stored clip (``settings``, ``session`` and ``clip_id``) whose product has a ``buy_url`` gets
      its share link ``{public_base_url}/s/{code}``, made once per (clip, leader, channel) and reused
      on every re-render; the link redirects to that buy_url (:mod:`store.share_links`).
    - A file render has no database and so no link: its QR goes straight to the ``buy_url``.
    - No URL at all: None, and the caller draws no QR (never a link that leads nowhere).
    """
    if explicit:
        return explicit
    if not buy_url:
        return None
    if settings is None or session is None or clip_id is None:
        return buy_url
    try:
        link = get_or_create_link(session, clip_id=clip_id, leader_id=leader_id, channel=channel, target_url=buy_url)
    except ShareLinkError as exc:
        raise InvalidClipRequest(f"the product's buy_url cannot be a share link target: {exc}") from exc
    return f"{settings.public_base_url}/s/{link.code}"


def check_share_url(url: str | None, what: str = "share URL") -> str | None:
    """An http(s) URL with a host, trimmed; anything else is an :class:`InvalidClipRequest`."""
    if url is None or not url.strip():
        return None
    try:
        check_http_url(url.strip())
    except ValueError as exc:
        raise InvalidClipRequest(f"{what}: {exc}") from exc
    return url.strip()


def make_leaders(items: Sequence[Mapping[str, Any]]) -> list[Leader]:
    """Leaders from ``{"name", "share_url"?, "id"?}`` mappings; checks names, ids and URLs."""
    leaders: list[Leader] = []
    seen: set[str] = set()
    for index, item in enumerate(items, 1):
        name = " ".join(str(item.get("name") or "").split())
        if not name:
            raise InvalidClipRequest(f"leader {index}: a name is required")
        leader_id = str(item.get("id") or "").strip() or leader_id_for(name)
        if _SAFE_ID.search(leader_id) or leader_id.startswith(".") or len(leader_id) > 64:
            raise InvalidClipRequest(f"leader {name!r}: id {leader_id!r} must be letters, digits, '-', '_' or '.'")
        if leader_id in seen:
            raise InvalidClipRequest(f"leader {name!r}: id {leader_id!r} is used twice")
        seen.add(leader_id)
        url = check_share_url(item.get("share_url"), f"leader {name!r} share_url")
        leaders.append(Leader(leader_id, name, url))
    return leaders


def preset_named(name: str) -> Preset:
    try:
        return get_preset(name)
    except RenderPlanError as exc:
        raise InvalidClipRequest(str(exc)) from exc


def check_window(start: float, end: float, *, duration: float, preset: Preset, mode: str) -> tuple[float, float]:
    """``(start, end)`` rounded to ms once they make a clip of this recording; else InvalidClipRequest."""
    if mode not in MODES:
        raise InvalidClipRequest(f"unknown mode {mode!r} (accurate or fast)")
    start, end = float(start), float(end)
    if not (math.isfinite(start) and math.isfinite(end)):
        raise InvalidClipRequest(f"start and end must be finite numbers of seconds, got {start!r} and {end!r}")
    if start >= end:
        raise InvalidClipRequest(f"start ({start:g} s) must be before end ({end:g} s)")
    if start < 0 or end > duration + 1e-3:
        raise InvalidClipRequest(
            f"{start:g}..{end:g} s is outside the recording, which is {duration:.3f} s long (0..{duration:.3f})"
        )
    if mode == "accurate" and end - start > preset.max_duration:
        raise InvalidClipRequest(
            f"the clip is {end - start:g} s, over {preset.name}'s maximum of {preset.max_duration:g} s"
        )
    if mode == "accurate" and end - start < preset.min_duration:
        raise InvalidClipRequest(
            f"the clip is {end - start:g} s, under {preset.name}'s minimum of {preset.min_duration:g} s"
        )
    return round(start, 3), round(min(end, duration), 3)


def usable_image(image: str | None, roots: Sequence[Path] | None, warnings: list[str]) -> Path | None:
    """A catalog image that can be drawn: a readable local file (inside ``roots`` unless None).

    URLs are not fetched (no safe fetcher here yet): the card is drawn without the image, with a warning.
    """
    if not image:
        return None
    if _URL.match(image):
        warnings.append(f"product image {image} is a URL; only local images are drawn, so the card has none")
        return None
    from studio.cards.product_card import load_product_image  # Pillow only when there is an image to check

    path = Path(image).resolve()
    if roots is not None and not any(path.is_relative_to(Path(root).resolve()) for root in roots):
        warnings.append(f"product image {image} is outside the allowed import roots; the card has none")
        return None
    try:
        load_product_image(path)
    except CardError as exc:
        warnings.append(f"{exc}; the card has no image")
        return None
    return path


def product_info(product: ProductRow | records.Product, image: Path | None) -> ProductInfo:
    return ProductInfo(
        sku=product.sku,
        name=product.name,
        price=Decimal(product.price),
        original_price=Decimal(product.original_price) if product.original_price is not None else None,
        currency=product.currency or "CNY",
        coupon=product.coupon,
        buy_url=product.buy_url,
        image=image,
    )


def theme_mapping(theme: CardTheme | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A JSON-safe theme (what ``Clip.options`` stores); checked by building the theme once."""
    if theme is None:
        return None
    if isinstance(theme, CardTheme):
        values = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(theme).items() if v is not None}
    else:
        values = dict(theme)
    try:
        theme_from_mapping(values)
    except CardError as exc:
        raise InvalidClipRequest(f"theme: {exc}") from exc
    return values


def render_file_clip(
    source: Path,
    *,
    start: float,
    end: float,
    out: Path,
    products: Sequence[records.Product] | None = None,
    sku: str | None = None,
    cues: Sequence[records.TranscriptCue] = (),
    preset: str | Preset = "douyin",
    share_url: str | None = None,
    mode: str = "accurate",
    captions: bool = True,
    reframe: str = "auto",
    theme: CardTheme | Mapping[str, Any] | None = None,
    leaders: Sequence[Leader] = (),
    peak: float | None = None,
    font: Path | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RenderOutcome:
    """Render a window of a media file to ``out`` (plus ``<out stem>.cover.jpg``, ``.poster.png`` and
    ``<out stem>.<leader>.mp4`` variants beside it); no database. Product images must already be
    resolved local paths (as :func:`sidedata.parse_catalog` leaves them)."""
    from studio.clip.produce import produce_clip  # PyAV, numpy and Pillow only in the process that renders
    from studio.probe import probe

    try:
        info = probe(source)
    except MediaError as exc:
        raise InvalidClipRequest(f"{source}: {exc}") from exc
    chosen = preset if isinstance(preset, Preset) else preset_named(preset)
    start, end = check_window(start, end, duration=info.duration, preset=chosen, mode=mode)
    warnings: list[str] = []
    product: ProductInfo | None = None
    if sku is not None:
        found = next((p for p in products or () if p.sku == sku), None)
        if found is None:
            where = "the product catalog (--products)" if products else "any catalog: give --products"
            raise InvalidClipRequest(f"unknown SKU {sku!r}: it is not in {where}")
        product = product_info(found, usable_image(found.image, None, warnings))
    buy_url = product.buy_url if product is not None else None
    explicit = check_share_url(share_url)
    people = [
        Leader(p.id, p.name, share_url_for(None, clip_id=None, leader_id=p.id, explicit=p.share_url, buy_url=buy_url))
        for p in leaders
    ]
    job = ClipJob(
        source=Path(source),
        start=start,
        end=end,
        preset=chosen,
        mode=mode,  # type: ignore[arg-type]
        product=product,
        cues=list(cues),
        captions=captions,
        reframe=reframe,
        theme=theme_from_mapping(theme_mapping(theme) or {}),
        corner_qr_url=explicit,
        poster_url=share_url_for(None, clip_id=None, explicit=explicit, buy_url=buy_url),
        leaders=people,
        peak=peak,
        font=font,
        info=info,
    )
    out = Path(out)
    targets = ClipTargets(
        video=out, cover=out.with_name(f"{out.stem}.cover.jpg"), poster=out.with_name(f"{out.stem}.poster.png")
    )
    outcome = produce_clip(job, targets, on_progress=on_progress, should_cancel=should_cancel)
    outcome.warnings[:0] = warnings
    return outcome
