"""Clips and their per-leader variants. Each function runs inside the caller's transaction.

A clip is one row per (recording, start, end, preset, mode): rendering the same window again finds
and reuses the row (:func:`find_or_create_clip`) and its files are replaced in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sidedata.records import TranscriptCue as CueRecord
from store.errors import ClipNotFound
from store.models import Clip, ClipVariant, Product, TimelineSegment, TranscriptCue, utcnow

CLIP_STATUSES = ("queued", "rendering", "ready", "failed")


@dataclass(frozen=True)
class VariantFiles:
    """A rendered leader variant, as stored."""

    leader_id: str
    leader_name: str
    share_url: str | None
    video_key: str
    poster_key: str | None
    size_bytes: int


def get_clip(session: Session, *, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise ClipNotFound(f"no clip {clip_id!r}")
    return clip


def find_clip(session: Session, *, recording_id: str, start: float, end: float, preset: str, mode: str) -> Clip | None:
    """The clip of exactly this window, preset and mode, if one was made before."""
    stmt = select(Clip).where(
        Clip.recording_id == recording_id,
        Clip.start == start,
        Clip.end == end,
        Clip.preset == preset,
        Clip.mode == mode,
    )
    return session.scalars(stmt).first()


def find_or_create_clip(
    session: Session, *, recording_id: str, start: float, end: float, preset: str, mode: str
) -> tuple[Clip, bool]:
    """The clip row for this window (created, status queued, if new); ``(clip, created)``.

    A concurrent insert of the same window loses on the unique constraint: the session's transaction
    is then rolled back (so call this before other changes) and the winner's row is returned.
    """
    existing = find_clip(session, recording_id=recording_id, start=start, end=end, preset=preset, mode=mode)
    if existing is not None:
        return existing, False
    clip = Clip(recording_id=recording_id, start=start, end=end, preset=preset, mode=mode, status="queued", options={})
    session.add(clip)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        existing = find_clip(session, recording_id=recording_id, start=start, end=end, preset=preset, mode=mode)
        if existing is None:
            raise
        return existing, False
    return clip, True


def _scoped(stmt: Select[Any], *, recording_id: str | None, status: str | None, leader_id: str | None) -> Select[Any]:
    if recording_id is not None:
        stmt = stmt.where(Clip.recording_id == recording_id)
    if status is not None:
        stmt = stmt.where(Clip.status == status)
    if leader_id is not None:
        stmt = stmt.where(Clip.id.in_(select(ClipVariant.clip_id).where(ClipVariant.leader_id == leader_id)))
    return stmt


def list_clips(
    session: Session,
    *,
    recording_id: str | None = None,
    status: str | None = None,
    leader_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Clip]:
    """Clips, newest first (of one recording when ``recording_id`` is given; with ``leader_id`` only the
    clips given to that leader: those with a variant for them)."""
    stmt = _scoped(select(Clip), recording_id=recording_id, status=status, leader_id=leader_id)
    stmt = stmt.order_by(Clip.created_at.desc(), Clip.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def count_clips(
    session: Session, *, recording_id: str | None = None, status: str | None = None, leader_id: str | None = None
) -> int:
    stmt = _scoped(
        select(func.count()).select_from(Clip), recording_id=recording_id, status=status, leader_id=leader_id
    )
    return session.scalar(stmt) or 0


def given_to(clip: Clip, leader_id: str | None) -> bool:
    """Whether a reader scoped to ``leader_id`` (None: not scoped) may see the clip: it has their variant."""
    return leader_id is None or bool(visible_variants(clip, leader_id))


def visible_variants(clip: Clip, leader_id: str | None) -> list[ClipVariant]:
    """The clip's variants a reader scoped to ``leader_id`` may see: all of them, or only their own."""
    return [v for v in clip.variants if leader_id is None or v.leader_id == leader_id]


def variant_file_names(leader_id: str) -> tuple[str, str]:
    """The file names of a leader's variant video and poster in the clip's folder (as the renders name them)."""
    return f"clip.{leader_id}.mp4", f"poster.{leader_id}.png"


def variant_has_link(clip: Clip, variant: ClipVariant | None = None) -> bool:
    """Whether a leader's variant carries a QR code: the leader's own share link, the product's buy_url
    (their link is made from it) or the clip's own share URL. Without one the end card shows no QR."""
    return bool((variant is not None and variant.share_url) or (clip.product or {}).get("buy_url") or clip.share_url)


def poster_expected(clip: Clip, variant: ClipVariant | None = None) -> bool:
    """Whether a leader's poster is drawn: it needs the clip's product card and a link for its QR code
    (as the clip's own poster does); with ``variant`` None, for a leader with no link of their own."""
    return clip.product is not None and variant_has_link(clip, variant)


def variants_possible(clip: Clip) -> bool:
    """Whether the clip can have leader variants: a fast-mode excerpt is a stream copy with no overlays,
    which cannot end on a leader's card."""
    return clip.mode == "accurate"


def variant_rendered(clip: Clip, variant: ClipVariant) -> bool:
    """The variant's video is stored, and its poster too when the clip can have one."""
    return bool(variant.video_key) and (bool(variant.poster_key) or not poster_expected(clip, variant))


def variant_named(clip: Clip, name: str, leader_id: str | None) -> ClipVariant | None:
    """The variant (visible to a reader scoped to ``leader_id``) whose video or poster is called ``name``."""
    for variant in visible_variants(clip, leader_id):
        video, poster = variant_file_names(variant.leader_id)
        if name == video or (name == poster and poster_expected(clip, variant)):
            return variant
    return None


def get_product(session: Session, *, sku: str) -> Product | None:
    return session.get(Product, sku)


def product_on_air(session: Session, *, recording_id: str, at: float) -> Product | None:
    """The product the timeline says was presented at ``at`` seconds, if any."""
    stmt = (
        select(Product)
        .join(TimelineSegment, TimelineSegment.sku == Product.sku)
        .where(TimelineSegment.recording_id == recording_id, TimelineSegment.start <= at, TimelineSegment.end > at)
        .order_by(TimelineSegment.start.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def cues_between(session: Session, *, recording_id: str, start: float, end: float) -> list[CueRecord]:
    """Transcript cues overlapping ``[start, end)``, in source time."""
    stmt = (
        select(TranscriptCue)
        .where(TranscriptCue.recording_id == recording_id, TranscriptCue.end > start, TranscriptCue.start < end)
        .order_by(TranscriptCue.start, TranscriptCue.id)
    )
    return [CueRecord(row.start, row.end, row.text) for row in session.scalars(stmt)]


def mark_rendering(clip: Clip) -> None:
    clip.status = "rendering"
    clip.error = None
    clip.updated_at = utcnow()


def mark_failed(clip: Clip, error: str) -> None:
    clip.status = "failed"
    clip.error = error
    clip.updated_at = utcnow()


def mark_ready(clip: Clip, **fields: Any) -> None:
    """Record a finished render: ``fields`` are columns (keys, duration, size_bytes, actual times…)."""
    for name, value in fields.items():
        setattr(clip, name, value)
    clip.status = "ready"
    clip.error = None
    clip.updated_at = utcnow()


def replace_variants(session: Session, *, clip: Clip, variants: Sequence[VariantFiles]) -> list[str]:
    """Make ``variants`` the clip's set (upsert by leader id); returns the storage keys of dropped files.

    An approved clip keeps the leaders it was given even when they are not in this render: their rows stay
    (the grant), their files, made from the old base, go, and render again on first request."""
    wanted = {v.leader_id: v for v in variants}
    dropped: list[str] = []
    for row in list(clip.variants):
        if row.leader_id not in wanted:
            dropped += [key for key in (row.video_key, row.poster_key) if key]
            if clip.review_status == "approved":
                row.video_key = row.poster_key = row.size_bytes = row.job_id = None
            else:
                clip.variants.remove(row)
    existing = {row.leader_id: row for row in clip.variants}
    for leader_id, files in wanted.items():
        found = existing.get(leader_id)
        row = found if found is not None else ClipVariant(leader_id=leader_id)
        if found is None:
            clip.variants.append(row)
        row.leader_name = files.leader_name
        row.share_url = files.share_url
        row.video_key = files.video_key
        row.poster_key = files.poster_key
        row.size_bytes = files.size_bytes
        row.updated_at = utcnow()
    session.flush()
    return dropped


def clip_file_keys(clip: Clip, *, leader_id: str | None = None) -> dict[str, str]:
    """Stored files of a clip: file name -> storage key (the base, cover, poster and the variants; scoped to
    ``leader_id``: the base files and only that leader's variant and poster)."""
    keys = [clip.video_key, clip.cover_key, clip.poster_key]
    for variant in visible_variants(clip, leader_id):
        keys += [variant.video_key, variant.poster_key]
    return {key.rsplit("/", 1)[-1]: key for key in keys if key}


def clip_files(clip: Clip, ref: Callable[[str | None], str | None]) -> dict[str, Any]:
    """A clip's files as manifests show them: ``video``, ``cover``, ``poster`` and ``variants`` (leader id ->
    ``leader``, ``share_url``, ``video``, ``poster``), each storage key turned into what ``ref`` makes of it."""
    return {
        "video": ref(clip.video_key),
        "cover": ref(clip.cover_key),
        "poster": ref(clip.poster_key),
        "variants": {
            v.leader_id: {
                "leader": v.leader_name,
                "share_url": v.share_url,
                "video": ref(v.video_key),
                "poster": ref(v.poster_key),
            }
            for v in clip.variants
        },
    }
