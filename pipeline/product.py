"""Product clips for merchants: one SKU's best moments across every recording it appears in.

A recording counts when the SKU is on its product timeline, in its stream orders, or named in its
transcript. Each such recording is scored as usual (its signals come from the cache when it was
analysed before); the windows tagged with the SKU are ranked together by score and the best N
become clips. Scores are normalised per recording, so ties across recordings go to the window with
more of the SKU's stream orders.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select

from pipeline.analysis import load_analysis_input, run_detection
from pipeline.clipmaking import Window, make_clips
from pipeline.errors import AnalyzeFailure
from pipeline.lifecycle import ProgressReporter
from runtime.config import Settings
from store.db import session_scope
from store.models import Product, Recording, StreamOrder, TimelineSegment, TranscriptCue
from studio.signals import name_parts

CANDIDATES_PER_RECORDING = 3  # windows asked of each recording per clip wanted


def recordings_with_sku(settings: Settings, sku: str) -> list[str]:
    """Probed recordings whose timeline, orders or transcript mention ``sku``, oldest first."""
    with session_scope(settings.database_url) as session:
        product = session.get(Product, sku)
        if product is None:
            raise AnalyzeFailure(f"unknown SKU {sku!r}: it is not in the product catalog", code="unknown_sku")
        ids = set(session.scalars(select(TimelineSegment.recording_id).where(TimelineSegment.sku == sku)))
        ids |= set(session.scalars(select(StreamOrder.recording_id).where(StreamOrder.sku == sku)))
        parts = name_parts(product.name)
        if parts:
            mentions = or_(*[func.lower(TranscriptCue.text).contains(part.lower()) for part in parts])
            ids |= set(session.scalars(select(TranscriptCue.recording_id).where(mentions).distinct()))
        if not ids:
            return []
        stmt = select(Recording.id).where(Recording.id.in_(ids), Recording.duration.is_not(None))
        return list(session.scalars(stmt.order_by(Recording.created_at)))


def find_product_moments(settings: Settings, *, options: Mapping[str, Any], report: ProgressReporter) -> dict[str, Any]:
    """The stage result: ``clip_ids`` of the SKU's best moments, ``recordings`` searched, ``warnings``."""
    sku = str(options.get("sku") or "")
    params = dict(options["analysis"])
    wanted = int(params["clips"])
    recordings = recordings_with_sku(settings, sku)
    if not recordings:
        raise AnalyzeFailure(
            f"SKU {sku} appears in no probed recording (timeline, orders or transcript)", code="sku_not_found"
        )
    windows: list[tuple[float, int, Window]] = []
    warnings: list[str] = []
    per_recording = {**params, "clips": max(10, CANDIDATES_PER_RECORDING * wanted)}
    for index, recording_id in enumerate(recordings):
        report(f"recording {index + 1}/{len(recordings)}", index / len(recordings), force=True)
        inp = load_analysis_input(settings, recording_id, _Quiet(report))
        if per_recording["min_len"] > inp.duration:
            warnings.append(f"recording {recording_id} is shorter than min_len: skipped")
            continue
        result = run_detection(inp, per_recording)
        orders = [o for o in inp.orders or () if o.sku == sku]
        for h in result.highlights:
            if h.sku != sku:
                continue
            count = sum(1 for o in orders if h.start <= o.ts < h.end)
            window = Window(
                recording_id,
                h.start,
                h.end,
                sku,
                peak=h.peak,
                score=h.score,
                reason=h.reason,
                contributions=dict(h.contributions),
            )
            windows.append((h.score, count, window))
    windows.sort(key=lambda item: (-item[0], -item[1]))
    best = [w for _score, _count, w in windows[:wanted]]
    if not best:
        warnings.append(f"no moment of {sku} scored as a highlight in {len(recordings)} recording(s)")
    with session_scope(settings.database_url) as session:
        made = make_clips(settings, session, best, options)
    return {**made, "warnings": warnings + made["warnings"], "recordings": recordings, "candidates": len(windows)}


class _Quiet(ProgressReporter):
    """Keeps one recording's detector progress from rewinding the stage's bar (the stage reports per recording)."""

    def __init__(self, outer: ProgressReporter) -> None:
        super().__init__(None, 1, None)
        self.outer = outer

    def __call__(self, stage: str, fraction: float, *, force: bool = False) -> None:
        if self.outer.cancelled():  # asked to stop, or the job was taken over
            self.outer(stage, self.outer.done, force=True)
