"""Voice activity end to end on the rendered sample stream: planted speech spurts over music and loud cheers.

``services.sample_data.make_plan`` plants the truth (speech spurts, the pauses between them, selling
moments with chat and orders); ``studio.synth`` renders it (a small, low-frame-rate picture: only the audio
matters here); the audio is decoded and analysed like any recording. The checks: the planted speech is
heard as speech, the pauses found lie between the spurts, and the cut points of the detected highlights,
snapped to those pauses, never land inside a spurt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from services.sample_data import SamplePlan, make_plan
from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.fonts import find_cjk_font
from studio.highlights import detect_highlights
from studio.signals import AnalysisInput
from studio.signals.audio import AudioFeatures, analyze_audio
from studio.signals.voice import speech_pauses
from studio.synth import render_sample_stream

pytestmark = pytest.mark.slow

HZ = 10.0
TICK = 1.0 / HZ
PLANS = [(120.0, 7), (90.0, 11)]  # (duration, seed) of make_plan, three products each


@dataclass(frozen=True)
class Rendered:
    plan: SamplePlan
    features: AudioFeatures


@pytest.fixture(scope="module", params=PLANS, ids=lambda p: f"{p[0]:g}s-seed{p[1]}")
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    duration, seed = request.param
    plan = make_plan(duration, seed=seed, products=3)
    out = tmp_path_factory.mktemp("voice-rendered") / "stream.mp4"
    render_sample_stream(plan, out, font=find_cjk_font().path, width=96, height=160, fps=5)
    return Rendered(plan, analyze_audio(out, hz=HZ))


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return max(0.0, min(a[1], b[1]) - max(a[0], b[0]))


def test_planted_speech_is_heard(rendered: Rendered) -> None:
    voice = rendered.features.voice
    for spurt in rendered.plan.speech:
        inside = voice[int(np.ceil(spurt.start * HZ)) : int(spurt.end * HZ)]  # ticks wholly inside the spurt
        assert inside.size and float(np.mean(inside >= 0.5)) >= 0.9, (spurt, inside.round(2).tolist())


def test_pauses_stay_out_of_speech(rendered: Rendered) -> None:
    pauses = speech_pauses(rendered.features.voice, HZ)
    assert pauses
    for pause in pauses:
        for spurt in rendered.plan.speech:
            assert _overlap(pause, (spurt.start, spurt.end)) <= TICK + 1e-6, (pause, spurt)


def test_planted_pauses_are_found(rendered: Rendered) -> None:
    """Every gap of 0.6 s or more between spurts is found, its middle inside a reported pause.

    Gaps filled by a decoy cheer are no pauses to the ear (a crowd roars there) and are left out.
    """
    plan = rendered.plan
    pauses = speech_pauses(rendered.features.voice, HZ)
    long_ones = [
        p
        for p in plan.pauses
        if p.length >= 0.6 and not any(_overlap((p.start, p.end), (d.start, d.end)) for d in plan.decoys)
    ]
    assert len(long_ones) >= 10
    for planted in long_ones:
        middle = (planted.start + planted.end) / 2
        assert any(start <= middle <= end for start, end in pauses), (planted, pauses)


def test_snapped_cuts_never_land_inside_speech(rendered: Rendered) -> None:
    plan = rendered.plan
    inp = AnalysisInput(
        duration=plan.duration,
        hz=HZ,
        products=[Product(p.sku, p.name, p.price, p.original_price) for p in plan.products],
        segments=[TimelineSegment(s.sku, s.start, s.end) for s in plan.segments],
        chat=[ChatEvent(c.ts, c.user, c.text, c.kind) for c in plan.chat],
        orders=[StreamOrder(o.ts, o.sku, o.qty, o.amount, o.order_id) for o in plan.orders],
        cues=[TranscriptCue(c.start, c.end, c.text) for c in plan.transcript],
        audio=rendered.features,
    )
    result = detect_highlights(inp, clips=len(plan.segments), preset="sales")  # pauses from the voice signal
    assert result.signals["voice"].available
    assert len(result.highlights) == len(plan.segments)
    cuts = [cut for h in result.highlights for cut, snapped in zip((h.start, h.end), h.snapped, strict=True) if snapped]
    assert len(cuts) >= len(result.highlights)  # snapping happened: at least one side of each clip on average
    for cut in cuts:
        inside = [s for s in plan.speech if s.start + 1e-6 < cut < s.end - 1e-6]
        assert not inside, (cut, inside)
