"""Making one clip's files from a resolved request: base video, cover, poster, per-leader variants.

No database here: :mod:`services.clips` resolves a request (times, product, cues, share URLs) from
the database or from files, then calls :func:`produce_clip`. Every file is written atomically
(``render_clip``, ``render_variants`` and ``save_image_atomic`` all rename a finished temp file into
place), so a failed render never leaves a partial file at a final path.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image

from studio.cards import (
    CardContent,
    CardTheme,
    pick_cover_frame,
    qr_image,
    render_cover,
    render_end_card,
    render_poster,
    render_product_card,
    save_image_atomic,
)
from studio.clip.types import (
    ClipCancelled,
    ClipError,
    ClipJob,
    ClipTargets,
    InvalidClipRequest,
    Leader,
    Mode,
    ProductInfo,
    ProgressCallback,
    RenderOutcome,
    VariantOutcome,
)
from studio.errors import FFmpegCancelled, ToolchainError
from studio.ffmpeg import Progress
from studio.probe import probe
from studio.render import CardOverlay, Preset, QrOverlay, RenderFontError, make_plan, render_clip
from studio.render.render import RenderResult
from studio.render.variants import render_variant, render_variants

__all__ = [
    "ClipCancelled",
    "ClipError",
    "ClipJob",
    "ClipTargets",
    "InvalidClipRequest",
    "Leader",
    "Mode",
    "ProductInfo",
    "ProgressCallback",
    "RenderOutcome",
    "VariantOutcome",
    "produce_base",
    "produce_clip",
    "produce_covers",
    "produce_variants",
]

log = logging.getLogger(__name__)

QR_FRACTION = 0.22  # corner QR side, of the frame width
MIN_QR_SIDE = 160
END_CARD_SECONDS = 3.0
#: progress shares: loudness + render, then cover and posters, then the variants
RENDER_SHARE, POSTER_SHARE = 0.8, 0.9


class _Stages:
    """Maps each stage's own 0..1 onto the whole render's progress, and checks for cancellation."""

    def __init__(self, callback: ProgressCallback | None, should_cancel: Callable[[], bool] | None) -> None:
        self.callback = callback
        self.should_cancel = should_cancel

    def __call__(self, stage: str, fraction: float) -> None:
        if self.should_cancel is not None and self.should_cancel():
            raise ClipCancelled("the render was cancelled")
        if self.callback is not None:
            self.callback(stage, max(0.0, min(1.0, fraction)))

    def ffmpeg(self, stage: str, lo: float, hi: float) -> Callable[[Progress], None]:
        def report(p: Progress) -> None:
            if self.callback is not None:
                self.callback(stage, lo + (hi - lo) * min(1.0, max(0.0, p.fraction or 0.0)))

        return report


def corner_qr_side(preset: Preset) -> int:
    """Side of a corner QR at ``preset``: about a fifth of the width, never too small to scan."""
    return max(MIN_QR_SIDE, round(preset.width * QR_FRACTION))


def card_width(preset: Preset) -> int:
    """Product card width: the safe area's width less a small margin on each side."""
    _x, _y, safe_w, _h = preset.safe_box
    return max(200, min(preset.width, safe_w - 2 * round(preset.width * 0.02)))


def _check_font(theme: CardTheme) -> None:
    try:
        theme.font_choice()
    except ToolchainError as exc:
        raise RenderFontError(f"cards and captions need a CJK font: {exc}") from exc


def produce_clip(
    job: ClipJob,
    targets: ClipTargets,
    *,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RenderOutcome:
    """Render ``job`` to ``targets``: the clip, its cover, its poster, then one variant per leader.

    The three parts (:func:`produce_base`, :func:`produce_covers`, :func:`produce_variants`) are also
    run one by one, as separate pipeline stages. Raises :class:`ClipCancelled`,
    :class:`InvalidClipRequest`, or the studio errors as they come (``RenderPlanError``,
    ``RenderFontError``, ``RenderFailed``, ``RenderValidationError``, ``CardError``).
    """
    outcome = produce_base(job, targets, on_progress=on_progress, should_cancel=should_cancel, share=RENDER_SHARE)
    stages = _Stages(on_progress, should_cancel)
    stages("cover", RENDER_SHARE)
    cover = produce_covers(job, targets, outcome)
    if job.leaders:
        stages("variants", POSTER_SHARE)
        produce_variants(job, targets, outcome, cover=cover, should_cancel=should_cancel)
    stages("done", 1.0)
    return outcome


def _theme(job: ClipJob) -> CardTheme:
    return replace(job.theme, font=job.theme.font or job.font)


def produce_base(
    job: ClipJob,
    targets: ClipTargets,
    *,
    on_progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    share: float = 1.0,
) -> RenderOutcome:
    """Render the base clip only (the one ffmpeg run with card, captions and corner QR) to ``targets.video``.

    ``share`` is the part of ``on_progress``'s 0..1 that the render takes.
    """
    stages = _Stages(on_progress, should_cancel)
    stages("prepare", 0.0)
    theme = _theme(job)
    if job.mode == "fast" and job.leaders:
        raise InvalidClipRequest("--fast makes a raw excerpt without overlays: leader variants need an accurate render")
    if job.product is not None or (job.captions and job.cues and job.mode == "accurate") or job.leaders:
        _check_font(theme)
    targets.video.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=".work-", dir=targets.video.parent))
    try:
        if _wants_end_card(job):  # a single link on an end-card preset: the base, then its end card
            base = _render_base(job, theme, workdir / "base.mp4", workdir, stages, share)
            result = _with_end_card(job, theme, base, targets.video)
        else:
            result = _render_base(job, theme, targets.video, workdir, stages, share)
    except FFmpegCancelled as exc:
        raise ClipCancelled("the render was cancelled") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return RenderOutcome(
        video=result.path,
        preset=job.preset.name,
        mode=result.mode,
        start=job.start,
        end=job.end,
        actual_start=result.actual_start,
        actual_end=result.actual_end,
        duration=result.duration,
        size_bytes=result.path.stat().st_size,
        product=job.product,
        share_url=job.poster_url,
        corner_qr=job.mode == "accurate" and _wants_corner_qr(job),
        end_card=_wants_end_card(job),
    )


def produce_covers(job: ClipJob, targets: ClipTargets, outcome: RenderOutcome) -> Image.Image:
    """The cover, the share poster and each leader's poster of a rendered base; returns the cover image.

    Sets ``outcome.cover``, ``outcome.poster`` and the leaders' posters on ``outcome.variants`` (in
    ``outcome.leader_posters`` when the variants are not made yet).
    """
    theme = _theme(job)
    cover = _cover(job, theme, outcome)
    outcome.cover = save_image_atomic(cover, targets.cover)
    content = job.product.card_content() if job.product is not None else None
    if content is not None and job.poster_url:
        poster = render_poster(cover=cover, content=content, qr_url=job.poster_url, leader=None, theme=theme)
        outcome.poster = save_image_atomic(poster, targets.poster)
    elif content is not None:
        outcome.warnings.append(
            f"no QR code and no poster: product {job.product.sku if job.product else ''} has no buy_url "
            "(add it to the catalog and render again) and no share URL was given"
        )
    if content is not None:
        for leader in job.leaders:
            if leader.share_url:
                poster = render_poster(
                    cover=cover, content=content, qr_url=leader.share_url, leader=leader.name, theme=theme
                )
                outcome.leader_posters[leader.id] = save_image_atomic(poster, targets.leader_poster(leader.id))
    for index, variant in enumerate(outcome.variants):
        outcome.variants[index] = replace(variant, poster=outcome.leader_posters.get(variant.leader.id))
    return cover


def produce_variants(
    job: ClipJob,
    targets: ClipTargets,
    outcome: RenderOutcome,
    *,
    cover: Image.Image | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> list[VariantOutcome]:
    """One video per leader: the base joined by stream copy to an end card with the leader's QR and name.

    Sets and returns ``outcome.variants`` (with the leaders' posters when :func:`produce_covers` ran first).
    """
    if should_cancel is not None and should_cancel():
        raise ClipCancelled("the render was cancelled")
    theme = _theme(job)
    content = job.product.card_content() if job.product is not None else None
    workdir = Path(tempfile.mkdtemp(prefix=".work-", dir=targets.video.parent))
    try:
        outcome.variants = _variants(job, theme, content, targets, workdir, outcome.leader_posters)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome.variants


def _wants_corner_qr(job: ClipJob) -> bool:
    """A single-link clip on a preset that allows it; a base meant for variants never has one."""
    return bool(job.corner_qr_url) and job.preset.qr_policy == "corner" and not job.leaders


def _wants_end_card(job: ClipJob) -> bool:
    """A single-link clip on a preset that takes its QR on an end card (leaders' variants get their own)."""
    return bool(job.corner_qr_url) and job.preset.qr_policy == "end_card" and not job.leaders and job.mode == "accurate"


def _with_end_card(job: ClipJob, theme: CardTheme, base: RenderResult, output: Path) -> RenderResult:
    """``base`` joined by stream copy to the end card with the clip's QR (no leader), written to ``output``."""
    assert job.corner_qr_url is not None
    content = job.product.card_content() if job.product is not None else None
    size = (job.preset.width, job.preset.height)
    card = render_end_card(size=size, qr_url=job.corner_qr_url, leader=None, content=content, theme=theme)
    render_variant(base.path, card, output, preset=job.preset, seconds=END_CARD_SECONDS)
    return replace(base, path=output, duration=probe(output).duration or base.duration + END_CARD_SECONDS)


def _render_base(
    job: ClipJob, theme: CardTheme, output: Path, workdir: Path, stages: _Stages, share: float
) -> RenderResult:
    options: dict[str, Any] = {"mode": job.mode, "font": job.font}
    if job.mode == "accurate":
        options["reframe"] = job.reframe
        if job.product is not None:
            card = render_product_card(job.product.card_content(), width=card_width(job.preset), theme=theme)
            card_png = workdir / "card.png"
            card.save(card_png)
            options["card"] = CardOverlay(card_png, position=theme.position, entrance=theme.entrance)
        if job.captions and job.cues:
            options["captions"] = list(job.cues)
        if _wants_corner_qr(job):
            assert job.corner_qr_url is not None
            qr_png = workdir / "qr.png"
            qr_image(job.corner_qr_url, size=corner_qr_side(job.preset)).save(qr_png)
            options["qr"] = QrOverlay(qr_png, corner="bottom-right" if theme.position == "top" else "top-right")
    plan = make_plan(job.source, start=job.start, end=job.end, preset=job.preset, info=job.info, **options)
    stages("render", 0.02)
    return render_clip(
        plan, output, on_progress=stages.ffmpeg("render", 0.02, share), should_cancel=stages.should_cancel
    )


def _cover(job: ClipJob, theme: CardTheme, outcome: RenderOutcome) -> Image.Image:
    """The sharpest well-lit source frame near the peak, framed like the clip, titled with the product name.

    Taken from the source rather than the rendered clip so the title band never lands on the product
    card or the captions burned into the clip (accurate mode: cover-cropped to the preset's size).
    """
    lo, hi = outcome.actual_start, max(outcome.actual_start, outcome.actual_end - 0.05)
    window = min(2.0, max(0.1, (hi - lo) / 2))
    peak = job.peak if job.peak is not None else (lo + hi) / 2
    around = min(max(peak, lo + window / 2), max(lo + window / 2, hi - window / 2))
    size = (job.preset.width, job.preset.height) if job.mode == "accurate" else None
    frame = pick_cover_frame(job.source, around=around, window=window, size=size)
    title = job.product.name if job.product is not None else ""
    return render_cover(frame, title=title, size=frame.size, theme=theme)


def _variants(
    job: ClipJob,
    theme: CardTheme,
    content: CardContent | None,
    targets: ClipTargets,
    workdir: Path,
    posters: dict[str, Path],
) -> list[VariantOutcome]:
    """End cards with each leader's QR and name, joined to the base by stream copy."""
    cards: dict[str, Image.Image | Path] = {}
    for leader in job.leaders:
        if not leader.share_url:
            raise InvalidClipRequest(f"leader {leader.name!r} has no share URL (and the product has no buy_url)")
        card = render_end_card(
            size=(job.preset.width, job.preset.height),
            qr_url=leader.share_url,
            leader=leader.name,
            content=content,
            theme=theme,
        )
        path = workdir / f"end.{leader.id}.png"
        card.save(path)
        cards[leader.id] = path
    made = render_variants(targets.video, cards, targets.video.parent, preset=job.preset, seconds=END_CARD_SECONDS)
    outcomes = [
        VariantOutcome(leader, made[leader.id], posters.get(leader.id), made[leader.id].stat().st_size)
        for leader in job.leaders
    ]
    log.debug("%d leader variants of %s made", len(outcomes), targets.video)
    return outcomes
