"""A leader's variant of a clip, rendered on first request and cached.

Giving a clip to a leader makes a :class:`~store.models.ClipVariant` row with no files: 500 leaders
cost 500 small rows and no render. The first request for a leader's video or poster calls
:func:`ensure_variant`, which takes the row's render lock (a compare-and-set on ``job_id``) with a
queued job of kind ``variant`` in the same transaction, and sends it; a request while that job is
queued or running starts nothing. The job (``pipeline.variant_rendering``) calls :func:`render_variant`:
only that leader's video (the base + their end card, joined by stream copy) and poster, stored atomically
and recorded on the row in one transaction. A job that failed for want of a retry (the worker gave up on
a transient error, or it was cancelled) leaves the lock to the next request; one that failed for a lasting
reason (a bad clip, missing media: a failure with a ``code``) is not started again until the clip or the
variant changes, and requests get :class:`VariantImpossible` with the reason instead.

A clip whose product has no shop link still gives its leaders a variant: the end card shows the product
and their name with no QR (or the clip's own share URL as the QR, when it has one), and no poster.
A fast-mode clip (a stream copy with no overlays) cannot end on a leader's card: approval refuses to give
it to leaders, and :func:`ensure_variant` raises :class:`VariantImpossible` for one given before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.clip_requests import share_url_for, usable_image
from services.clips import clip_job, clip_key
from services.errors import Conflict, NotFound, NotReadyYet, Unavailable
from services.storage import get_storage, local_copy, save_outputs
from store import clips as repo
from store.models import Clip, ClipVariant, Job, Recording, utcnow
from store.recordings import MissingMedia
from studio.cards.theme import theme_from_mapping
from studio.clip.types import ClipCancelled, ClipTargets, Leader, ProductInfo, ProgressCallback
from studio.render.presets import get_preset

log = logging.getLogger(__name__)

Send = Callable[[Settings, str], bool]
VARIANT_KIND = "variant"
ACTIVE = ("queued", "running")
#: The clip's base without a QR of its own (made once per clip when its stored base carries one).
PLAIN_BASE = "plain.mp4"


class VariantNotFound(NotFound):
    """The clip was not given to that leader (or there is no such variant)."""

    code = "variant_not_found"


class VariantPending(NotReadyYet):
    """The variant (or the clip under it) is being rendered; ask again shortly."""

    code = "variant_pending"


class VariantFailed(Unavailable):
    """The variant's render failed; the next request starts a new one."""

    code = "variant_failed"


class VariantImpossible(Conflict):
    """The variant cannot be rendered (a fast-mode clip), or its render failed for a lasting reason:
    not tried again until the clip or the variant changes."""

    code = "variant_impossible"


def _variant(session: Session, clip_id: str, leader_id: str) -> ClipVariant:
    variant = session.scalars(
        select(ClipVariant).where(ClipVariant.clip_id == clip_id, ClipVariant.leader_id == leader_id)
    ).first()
    if variant is None:
        raise VariantNotFound(f"clip {clip_id} was not given to leader {leader_id}")
    return variant


def _check_base(clip: Clip) -> None:
    if clip.status != "ready" or not clip.video_key:
        raise VariantPending(f"clip {clip.id} is {clip.status}: its variants render once it is ready")
    if not repo.variants_possible(clip):
        raise VariantImpossible(
            f"clip {clip.id} is a fast-mode excerpt (a stream copy with no overlays): it cannot end on a leader's "
            "card; render the clip again in accurate mode to give it to leaders"
        )


def _lasting_failure(clip: Clip, variant: ClipVariant, job: Job | None) -> VariantImpossible | None:
    """The error to answer when the variant's last render failed for a lasting reason (a failure with a
    ``code``: see :mod:`pipeline.errors`) after the clip and the variant last changed; else None."""
    if job is None or job.status != "failed" or not (job.result or {}).get("code") or job.finished_at is None:
        return None  # no code: the worker gave up on a transient error, so another try may work
    if job.finished_at < max(clip.updated_at, variant.updated_at):
        return None  # the clip (or the variant) changed since: worth another try
    return VariantImpossible(
        f"rendering leader {variant.leader_name!r}'s variant of clip {clip.id} failed: {job.error}; "
        "it is tried again once the clip changes (render or approve it again)"
    )


def ensure_variant(settings: Settings, session: Session, *, clip_id: str, leader_id: str, send: Send) -> bool:
    """True when the leader's variant video and poster are stored; False when a render was started (or is
    running) for them: the caller tries again later. Never renders the same variant twice at once.

    Commits the session. Raises :class:`VariantNotFound` (not given), :class:`VariantPending` (the clip
    itself is not ready yet) or :class:`VariantImpossible` (a fast-mode clip, or the last render failed for
    a lasting reason since the clip last changed).
    """
    variant = _variant(session, clip_id, leader_id)
    clip = variant.clip
    _check_base(clip)
    if repo.variant_rendered(clip, variant):
        return True
    held = variant.job_id
    current = session.get(Job, held) if held else None
    if current is not None and current.status in ACTIVE:
        session.rollback()
        return False  # queued or running: that job renders it (the reconciler re-sends a lost one)
    lasting = _lasting_failure(clip, variant, current)
    if lasting is not None:
        session.rollback()
        raise lasting
    job = Job(
        kind=VARIANT_KIND,
        recording_id=clip.recording_id,
        status="queued",
        stage="variant",
        options={"clip_id": clip.id, "leader_id": leader_id, "variant_id": variant.id},
    )
    session.add(job)
    session.flush()
    lock = ClipVariant.job_id.is_(None) if held is None else ClipVariant.job_id == held
    taken = session.execute(
        update(ClipVariant)
        .where(ClipVariant.id == variant.id, lock)
        .values(job_id=job.id)
        .execution_options(synchronize_session=False)
    )
    if getattr(taken, "rowcount", 0) != 1:
        session.rollback()  # another request took the lock first: its job renders the variant
        return False
    session.commit()
    log.info("clip=%s leader=%s variant render job=%s queued", clip_id, leader_id, job.id)
    send(settings, job.id)
    return False


def variant_state(session: Session, *, clip_id: str, leader_id: str) -> str:
    """``ready`` (files stored), ``pending`` (a render is queued or running) or ``failed`` (the last one
    failed or none holds the lock: the next :func:`ensure_variant` starts one). Raises
    :class:`VariantImpossible` when the last render failed for a lasting reason (none will be started)."""
    variant = _variant(session, clip_id, leader_id)
    if repo.variant_rendered(variant.clip, variant):
        return "ready"
    job = session.get(Job, variant.job_id) if variant.job_id else None
    if job is not None and job.status in ACTIVE:
        return "pending"
    lasting = _lasting_failure(variant.clip, variant, job)
    if lasting is not None:
        raise lasting
    return "failed"


def rendered_product(settings: Settings, session: Session, clip: Clip) -> ProductInfo | None:
    """The product as the clip was rendered (the row's snapshot: its prices), with the catalog's image."""
    snap = clip.product
    if not snap:
        return None
    row = repo.get_product(session, sku=clip.sku) if clip.sku else None
    image = usable_image(row.image, settings.import_roots or [], []) if row is not None else None
    original = snap.get("original_price")
    return ProductInfo(
        snap["sku"],
        snap["name"],
        Decimal(snap["price"]),
        Decimal(original) if original else None,
        snap.get("currency") or "CNY",
        snap.get("coupon"),
        snap.get("buy_url"),
        image,
    )


def base_has_own_qr(clip: Clip) -> bool:
    """Whether the stored base carries the clip's own QR (a corner QR or an end card): a single-link render
    on a preset that puts one there. Variants then build on a plain base (:func:`plain_base`)."""
    if clip.mode != "accurate" or not clip.share_url or (clip.options or {}).get("leaders"):
        return False
    return get_preset(clip.preset).qr_policy in ("corner", "end_card")


def plain_base(
    settings: Settings,
    session: Session,
    clip: Clip,
    *,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Path:
    """A local file of the clip's base with no QR of its own: the stored base itself, or (when that one
    ends on the clip's QR) ``plain.mp4``, rendered once per clip from the recording and kept.

    Rolls the session back (the render resolves the clip's links on the row; nothing of that is kept).
    """
    assert clip.video_key is not None
    if not base_has_own_qr(clip):
        return local_copy(settings, clip.video_key)
    storage = get_storage(settings)
    key = clip_key(clip.id, PLAIN_BASE)
    if storage.exists(key):
        return local_copy(settings, key)
    recording = session.get(Recording, clip.recording_id)
    if recording is None:
        raise MissingMedia(f"recording {clip.recording_id} no longer exists")
    job, _targets = clip_job(settings, session, clip, recording, dict(clip.options or {}), [])
    job = replace(job, product=rendered_product(settings, session, clip), corner_qr_url=None, poster_url=None)
    session.rollback()
    from studio.clip.produce import produce_base  # PyAV and Pillow only where media is made

    path = storage.local_path(key)
    targets = ClipTargets(video=path, cover=path.with_suffix(".jpg"), poster=path.with_suffix(".png"))
    produce_base(job, targets, on_progress=on_progress, should_cancel=should_cancel)
    save_outputs(settings, [key])
    return local_copy(settings, key)


def _leader(settings: Settings, session: Session, clip: Clip, variant: ClipVariant) -> Leader:
    """The leader as their end card and poster show them; their share link is made now if they have none
    and the product has a buy_url. With no buy_url the QR is the clip's own share URL, or there is none."""
    if not variant.share_url:
        buy_url = (clip.product or {}).get("buy_url")
        url = share_url_for(settings, session=session, clip_id=clip.id, leader_id=variant.leader_id, buy_url=buy_url)
        if url is not None:
            variant.share_url = url
    return Leader(variant.leader_id, variant.leader_name, variant.share_url or clip.share_url or None)


def render_variant(
    settings: Settings,
    session: Session,
    *,
    variant_id: str,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> ClipVariant:
    """Render one leader's variant video and poster of a ready clip, store them, and record them on the row.

    Idempotent: what is stored already is not made again (nothing at all once both are). Renders neither
    the base (a plain base at most, once per clip: :func:`plain_base`) nor other leaders' variants.
    """
    variant = session.get(ClipVariant, variant_id)
    if variant is None:
        raise VariantNotFound(f"no clip variant {variant_id!r}")
    clip = variant.clip
    _check_base(clip)
    wants_video = not variant.video_key
    wants_poster = repo.poster_expected(clip, variant) and not variant.poster_key
    if not (wants_video or wants_poster):
        return variant
    leader = _leader(settings, session, clip, variant)
    session.commit()  # a share link made for the leader is kept whatever the render does
    product = rendered_product(settings, session, clip)
    content = product.card_content() if product is not None else None
    theme = theme_from_mapping((clip.options or {}).get("theme") or {})
    theme = replace(theme, font=theme.font or settings.font)
    storage = get_storage(settings)
    video_name, poster_name = repo.variant_file_names(variant.leader_id)
    video_key, poster_key = clip_key(clip.id, video_name), clip_key(clip.id, poster_name)
    from studio.clip.leader import leader_poster, leader_video  # PyAV and Pillow only where media is made

    if on_progress is not None:
        on_progress("variant", 0.0)
    written: list[str] = []
    if wants_video:
        base = plain_base(settings, session, clip, should_cancel=should_cancel)
        if should_cancel is not None and should_cancel():
            raise ClipCancelled("the variant render was cancelled")
        preset = get_preset(clip.preset)
        leader_video(base, storage.local_path(video_key), preset=preset, leader=leader, content=content, theme=theme)
        written.append(video_key)
    if wants_poster:
        assert content is not None
        if not clip.cover_key:
            raise MissingMedia(f"clip {clip.id} has no cover to draw the leader's poster on")
        cover = local_copy(settings, clip.cover_key)
        leader_poster(cover, storage.local_path(poster_key), leader=leader, content=content, theme=theme)
        written.append(poster_key)
    save_outputs(settings, written)
    variant = session.get(ClipVariant, variant_id) or variant
    if wants_video:
        variant.video_key = video_key
        variant.size_bytes = storage.size(video_key)
    if wants_poster:
        variant.poster_key = poster_key
    variant.updated_at = utcnow()
    session.commit()
    if on_progress is not None:
        on_progress("done", 1.0)
    log.info("clip=%s leader=%s variant rendered: %s", clip.id, variant.leader_id, written)
    return variant
