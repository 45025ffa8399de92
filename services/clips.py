"""Clip rendering as a product feature: a stored recording's window in, clip files and a row out.

:func:`render_recording_clip` validates the request against the recording, resolves the product
(the SKU given, else the one on air mid-window) and its transcript cues from the database, renders
the clip, its cover, poster and per-leader variants under ``media/clips/<clip_id>/``, and records the
:class:`~store.models.Clip` row (rendering -> ready | failed). The API and the worker split it in two:
:func:`prepare_clip` (checks, row queued) and :func:`run_clip` (render, record). A media file with no
database goes through :func:`render_file_clip` (``liveslice render FILE``); the media work itself
is :func:`studio.clip.produce.produce_clip`.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from services.clip_prepare import prepare_clip, stored_leaders
from services.clip_requests import (
    leader_id_for,
    make_leaders,
    product_info,
    render_file_clip,
    share_url_for,
    usable_image,
)
from services.media_files import recording_source
from services.storage import get_storage, local_copy, save_outputs
from store import clips as repo
from store import share_links
from store.models import Clip, Recording
from store.recordings import MissingMedia
from studio.cards.theme import CardTheme, theme_from_mapping
from studio.clip.types import (
    ClipCancelled,
    ClipError,
    ClipJob,
    ClipTargets,
    InvalidClipRequest,
    Leader,
    ProductInfo,
    ProgressCallback,
    RenderOutcome,
    VariantOutcome,
)
from studio.render.presets import get_preset

__all__ = [
    "CLIP_PARTS",
    "ClipCancelled",
    "ClipError",
    "InvalidClipRequest",
    "Leader",
    "RenderOutcome",
    "leader_id_for",
    "make_leaders",
    "prepare_clip",
    "render_file_clip",
    "render_recording_clip",
    "run_clip",
    "share_url_for",
    "stored_leaders",
]

log = logging.getLogger(__name__)

#: The parts of a clip, in the order they are made (separate pipeline stages; one render job makes all).
CLIP_PARTS = ("base", "variants", "covers")


def clip_key(clip_id: str, name: str) -> str:
    """Storage key of one of a clip's files: ``clips/<clip_id>/<name>``."""
    return f"clips/{clip_id}/{name}"


def run_clip(
    settings: Settings,
    session: Session,
    *,
    clip_id: str,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    parts: Sequence[str] = CLIP_PARTS,
) -> Clip:
    """Render a prepared clip (or some of its :data:`CLIP_PARTS`) and record the outcome.

    ``base`` renders the video (the row stays ``rendering``), ``variants`` the leaders' videos from
    that base, ``covers`` the cover and posters, after which the clip is ``ready``. The pipeline runs
    them as separate stages; the render job runs all three. No transaction is held while ffmpeg
    runs. On failure the row says why and the error is re-raised.
    """
    unknown = set(parts) - set(CLIP_PARTS)
    if unknown or not parts:
        raise ValueError(f"clip parts must be some of {CLIP_PARTS}, got {list(parts)}")
    clip = repo.get_clip(session, clip_id=clip_id)
    recording = session.get(Recording, clip.recording_id)
    if recording is None:
        raise MissingMedia(f"recording {clip.recording_id} no longer exists")
    warnings: list[str] = []
    try:
        job, targets = clip_job(settings, session, clip, recording, dict(clip.options or {}), warnings)
        if "base" in parts:
            repo.mark_rendering(clip)
            clip.product = job.product.snapshot() if job.product is not None else None
        elif not clip.video_key:
            raise ClipError(f"clip {clip.id} has no base video yet: render its base first")
        session.commit()
        outcome = _produce(settings, clip, job, targets, parts, on_progress, should_cancel)
    except BaseException as exc:
        session.rollback()
        clip = repo.get_clip(session, clip_id=clip_id)
        repo.mark_failed(clip, str(exc) or type(exc).__name__)
        session.commit()
        raise
    for warning in warnings + outcome.warnings:
        log.warning("clip=%s %s", clip.id, warning)
    _record(session, clip, outcome, parts, settings)
    return clip


def _produce(
    settings: Settings,
    clip: Clip,
    job: ClipJob,
    targets: ClipTargets,
    parts: Sequence[str],
    on_progress: ProgressCallback | None,
    should_cancel: Callable[[], bool] | None,
) -> RenderOutcome:
    # PyAV, numpy and Pillow only in the process that renders (a worker), never in the API
    from studio.clip.produce import produce_base, produce_clip, produce_covers, produce_variants

    if set(parts) == set(CLIP_PARTS):
        return produce_clip(job, targets, on_progress=on_progress, should_cancel=should_cancel)
    if "base" in parts:
        outcome = produce_base(job, targets, on_progress=on_progress, should_cancel=should_cancel)
    else:
        outcome = _stored_outcome(settings, clip, job, targets)
    if "variants" in parts and job.leaders:
        produce_variants(job, targets, outcome, should_cancel=should_cancel)
    if "covers" in parts:
        produce_covers(job, targets, outcome)
    if on_progress is not None:
        on_progress("done", 1.0)
    return outcome


def _stored_outcome(settings: Settings, clip: Clip, job: ClipJob, targets: ClipTargets) -> RenderOutcome:
    """What an earlier stage rendered, read back from the row (its base fetched from storage if need be)."""
    assert clip.video_key is not None
    video = local_copy(settings, clip.video_key)  # on S3: downloaded to this machine's working path
    leaders = {leader.id: leader for leader in job.leaders}
    variants = [
        VariantOutcome(
            leaders.get(v.leader_id) or Leader(v.leader_id, v.leader_name, v.share_url),
            local_copy(settings, v.video_key),
            None,
            v.size_bytes or 0,
        )
        for v in clip.variants
        if v.video_key
    ]
    return RenderOutcome(
        video=video,
        preset=clip.preset,
        mode=clip.mode,
        start=clip.start,
        end=clip.end,
        actual_start=clip.actual_start if clip.actual_start is not None else clip.start,
        actual_end=clip.actual_end if clip.actual_end is not None else clip.end,
        duration=clip.duration or clip.end - clip.start,
        size_bytes=clip.size_bytes or 0,
        product=job.product,
        share_url=job.poster_url,
        corner_qr=bool(clip.options.get("corner_qr")),
        variants=variants,
    )


def clip_job(
    settings: Settings, session: Session, clip: Clip, recording: Recording, options: dict[str, Any], warnings: list[str]
) -> tuple[ClipJob, ClipTargets]:
    """What rendering ``clip`` takes (product, cues, share links and leaders resolved) and where its files go;
    share links are made on the row as needed (flushed, not committed)."""
    source = recording_source(settings, recording)
    if not source.is_file():
        raise MissingMedia(f"the recording's file is missing: {source}")
    row = repo.get_product(session, sku=clip.sku) if clip.sku else None
    product: ProductInfo | None = None
    if row is not None:
        product = product_info(row, usable_image(row.image, settings.import_roots or [], warnings))
    elif clip.sku and clip.product:  # the SKU left the catalog: keep the snapshot taken before
        snap = clip.product
        product = ProductInfo(
            clip.sku,
            snap["name"],
            Decimal(snap["price"]),
            Decimal(snap["original_price"]) if snap.get("original_price") else None,
            snap.get("currency") or "CNY",
            snap.get("coupon"),
            snap.get("buy_url"),
        )
    buy_url = product.buy_url if product is not None else None
    explicit = options.get("share_url", clip.share_url)  # rows from before share links kept it on the clip
    leaders = [
        Leader(
            item["id"],
            item["name"],
            share_url_for(
                settings,
                session=session,
                clip_id=clip.id,
                leader_id=item["id"],
                explicit=item.get("share_url"),
                buy_url=buy_url,
            ),
        )
        for item in options.get("leaders") or []
    ]
    clip.share_url = share_url_for(settings, session=session, clip_id=clip.id, explicit=explicit, buy_url=buy_url)
    captions = bool(options.get("captions", True))
    cues = repo.cues_between(session, recording_id=recording.id, start=clip.start, end=clip.end) if captions else []
    theme = theme_from_mapping(options.get("theme") or {})
    job = ClipJob(
        source=source,
        start=clip.start,
        end=clip.end,
        preset=get_preset(clip.preset),
        mode=clip.mode,  # type: ignore[arg-type]
        product=product,
        cues=cues,
        captions=captions,
        reframe=str(options.get("reframe") or "auto"),
        theme=theme,
        corner_qr_url=clip.share_url,
        poster_url=clip.share_url,
        leaders=leaders,
        peak=clip.peak,
        font=settings.font,
    )
    storage = get_storage(settings)
    targets = ClipTargets(
        video=storage.local_path(clip_key(clip.id, "clip.mp4")),
        cover=storage.local_path(clip_key(clip.id, "cover.jpg")),
        poster=storage.local_path(clip_key(clip.id, "poster.png")),
    )
    return job, targets


def _record(session: Session, clip: Clip, outcome: RenderOutcome, parts: Sequence[str], settings: Settings) -> None:
    """Store what ``parts`` made on the row; once the covers are made the clip is ready, and files an
    earlier render made that this one did not (or that a killed render left behind) are dropped."""
    written: list[str] = []
    if "base" in parts:
        clip.video_key = clip_key(clip.id, outcome.video.name)
        clip.duration, clip.size_bytes = round(outcome.duration, 3), outcome.size_bytes
        clip.actual_start, clip.actual_end = outcome.actual_start, outcome.actual_end
        clip.options = {**(clip.options or {}), "corner_qr": outcome.corner_qr}
        written.append(clip.video_key)
    if "variants" in parts or "covers" in parts:
        variants = [
            repo.VariantFiles(
                leader_id=v.leader.id,
                leader_name=v.leader.name,
                share_url=v.leader.share_url,
                video_key=clip_key(clip.id, v.video.name),
                size_bytes=v.size_bytes,
                poster_key=clip_key(clip.id, v.poster.name) if v.poster else None,
            )
            for v in outcome.variants
        ]
        repo.replace_variants(session, clip=clip, variants=variants)
        share_links.attach_variants(session, clip_id=clip.id, variant_ids={v.leader_id: v.id for v in clip.variants})
        written += [key for v in variants for key in (v.video_key, v.poster_key) if key]
    if "covers" in parts:
        clip.cover_key = clip_key(clip.id, outcome.cover.name) if outcome.cover else None
        clip.poster_key = clip_key(clip.id, outcome.poster.name) if outcome.poster else None
        written += [key for key in (clip.cover_key, clip.poster_key) if key]
    save_outputs(settings, written)
    if "covers" in parts:
        repo.mark_ready(clip)
    session.commit()
    if "covers" in parts:
        _drop_stale_files(settings, clip)


def _drop_stale_files(settings: Settings, clip: Clip) -> None:
    """Remove files in the clip's folder that the row no longer names, and what killed renders left there."""
    keep = set(repo.clip_file_keys(clip).values())
    storage = get_storage(settings)
    for key in storage.list_keys(f"clips/{clip.id}/"):
        if key not in keep:
            storage.delete(key)
    folder = get_storage(settings).local_path(clip_key(clip.id, "clip.mp4")).parent
    if folder.is_dir():
        for entry in folder.iterdir():  # every working name starts with a dot (temp files, .work-*, .clip.render-*)
            if entry.name.startswith(".") and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            elif entry.name.startswith("."):
                entry.unlink(missing_ok=True)


def render_recording_clip(
    settings: Settings,
    session: Session,
    *,
    recording_id: str,
    start: float,
    end: float,
    sku: str | None = None,
    preset: str = "douyin",
    share_url: str | None = None,
    mode: str = "accurate",
    captions: bool = True,
    reframe: str = "auto",
    theme: CardTheme | Mapping[str, Any] | None = None,
    leaders: Sequence[Leader | Mapping[str, Any]] = (),
    highlight_id: str | None = None,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Clip:
    """Render one clip of a stored recording now, in this process; returns the ready :class:`Clip`.

    The same (recording, start, end, preset, mode) again reuses the row and replaces its files.
    Raises :class:`InvalidClipRequest` for a bad request (nothing stored), else the render's error
    (the row is then ``failed`` with the reason).
    """
    clip = prepare_clip(
        settings,
        session,
        recording_id=recording_id,
        start=start,
        end=end,
        highlight_id=highlight_id,
        sku=sku,
        preset=preset,
        share_url=share_url,
        mode=mode,
        captions=captions,
        reframe=reframe,
        theme=theme,
        leaders=leaders,
    )
    session.commit()
    return run_clip(settings, session, clip_id=clip.id, on_progress=on_progress, should_cancel=should_cancel)
