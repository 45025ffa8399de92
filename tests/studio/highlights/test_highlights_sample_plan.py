"""The demo stream's planted truth (services.sample_data), as side-data records; no video decode."""

from __future__ import annotations

import pytest

from services.sample_data import SamplePlan, make_plan
from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.highlights import detect_highlights
from studio.signals import AnalysisInput


def plan_input(plan: SamplePlan, **overrides: object) -> AnalysisInput:
    values: dict[str, object] = dict(
        duration=plan.duration,
        products=[Product(p.sku, p.name, p.price, p.original_price) for p in plan.products],
        segments=[TimelineSegment(s.sku, s.start, s.end) for s in plan.segments],
        chat=[ChatEvent(c.ts, c.user, c.text, c.kind) for c in plan.chat],
        orders=[StreamOrder(o.ts, o.sku, o.qty, o.amount, o.order_id) for o in plan.orders],
        cues=[TranscriptCue(c.start, c.end, c.text) for c in plan.transcript],
    )
    values.update(overrides)
    return AnalysisInput(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("duration", "seed"), [(330, 7), (330, 18), (600, 2), (1200, 12)])
def test_every_selling_moment_found_with_its_sku(duration: int, seed: int) -> None:
    plan = make_plan(duration=duration, seed=seed)
    pauses = [(p.start, p.end) for p in plan.pauses]
    result = detect_highlights(plan_input(plan), clips=len(plan.segments), preset="sales", pauses=pauses)
    assert len(result.highlights) == len(plan.segments)
    for seg in plan.segments:
        found = [h for h in result.highlights if h.start <= seg.selling_moment <= h.end]
        assert len(found) == 1, seg
        (h,) = found
        assert h.peak is not None and abs(h.peak - seg.selling_moment) <= 2.0, (h.peak, seg.selling_moment)
        assert h.sku == seg.sku
        assert "orders" in h.reason and "上链接" in h.reason
        assert seg.start <= h.start and h.end <= seg.end  # the clip stays in its product's segment
        assert h.snapped == (True, True)
        for cut in (h.start, h.end):  # no cut inside a planted speech spurt
            assert not any(sp.start < cut < sp.end for sp in plan.speech), cut


def test_sample_plan_without_timeline_tags_from_transcript() -> None:
    plan = make_plan(duration=330)
    result = detect_highlights(plan_input(plan, segments=None), clips=len(plan.segments), preset="sales")
    tagged = {h.sku for h in result.highlights}
    assert tagged == {seg.sku for seg in plan.segments}
    for seg in plan.segments:
        assert any(h.start <= seg.selling_moment <= h.end and h.sku == seg.sku for h in result.highlights)
