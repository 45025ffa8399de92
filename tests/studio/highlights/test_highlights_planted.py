"""Planted moments are found, ranked per preset, and degrade gracefully without side data."""

from __future__ import annotations

import itertools
import json

import pytest

from studio.highlights import Highlight, HighlightResult, detect_highlights
from tests.studio.highlights.conftest import CHAT_BURST, DECOY, DURATION, ORDER_SPIKE, Planted


def _containing(result: HighlightResult, t: float) -> Highlight:
    found = [h for h in result.highlights if h.start <= t <= h.end]
    assert found, f"no highlight contains {t}: {[(h.start, h.end) for h in result.highlights]}"
    return found[0]


def _assert_windows_valid(result: HighlightResult, min_len: float, max_len: float) -> None:
    spans = sorted((h.start, h.end) for h in result.highlights)
    for start, end in spans:
        assert 0 <= start < end <= DURATION
        assert min_len - 1e-6 <= end - start <= max_len + 1e-6
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start + 1e-9, f"overlap: {spans}"


def test_sales_finds_chat_burst_and_order_spike(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=3, preset="sales")
    burst = _containing(result, CHAT_BURST + 1)
    spike = _containing(result, ORDER_SPIKE + 1)
    assert burst.peak is not None and abs(burst.peak - CHAT_BURST) <= 2.0
    assert spike.peak is not None and abs(spike.peak - ORDER_SPIKE) <= 2.0
    assert burst.sku == "LS-0001" and spike.sku == "LS-0002"
    assert "orders" in spike.reason and "x baseline" in spike.reason
    assert "上链接" in spike.reason
    assert "chat" in burst.reason
    _assert_windows_valid(result, 15.0, 60.0)
    assert not result.missing


def test_sales_order_spike_outranks_louder_decoy(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=4, preset="sales")
    spike = _containing(result, ORDER_SPIKE + 1)
    decoys = [h for h in result.highlights if h.start <= DECOY + 1 <= h.end]
    assert spike.rank == 1 or all(spike.rank < d.rank for d in decoys)
    for decoy in decoys:
        assert decoy.score < spike.score


def test_audio_only_prefers_the_loud_decoy(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=3, preset="audio-only")
    top = min(result.highlights, key=lambda h: h.rank)
    assert top.start <= DECOY + 1 <= top.end
    assert top.peak is not None and abs(top.peak - DECOY - 1.5) <= 2.0
    assert "loudness" in top.reason and "dB" in top.reason
    assert set(result.weights) <= {"loudness", "voice", "scenes"}
    assert "scenes" in result.missing  # scene detection is off unless asked for


def test_missing_chat_degrades_gracefully(planted: Planted) -> None:
    result = detect_highlights(planted.input(chat=None), clips=2, preset="sales")
    assert result.missing["chat"] == "no chat log"
    assert result.missing["gifts"] == "no chat log"
    assert "chat" not in result.weights and "gifts" not in result.weights
    assert sum(result.weights.values()) == pytest.approx(1.0)
    assert not result.signals["chat"].available
    spike = _containing(result, ORDER_SPIKE + 1)
    assert "chat" not in spike.contributions
    assert result.highlights


def test_no_usable_signal_gives_no_auto_highlights_and_says_why(planted: Planted) -> None:
    inp = planted.input(chat=None, orders=None, cues=None, audio=None)
    result = detect_highlights(inp, clips=3, preset="sales")
    assert result.highlights == []
    assert set(result.missing) == {"orders", "chat", "keywords", "gifts", "loudness"}
    assert any("no usable signal" in w for w in result.warnings)


def test_windows_bounded_non_overlapping_and_one_per_segment(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=8, preset="engagement", min_len=20.0, max_len=40.0)
    _assert_windows_valid(result, 20.0, 40.0)
    assert len(result.highlights) == 8
    assert sorted(h.rank for h in result.highlights) == list(range(1, 9))
    two = detect_highlights(planted.input(), clips=2, preset="sales")
    assert sorted(h.sku for h in two.highlights) == ["LS-0001", "LS-0002"]


def test_sku_from_transcript_mention_without_timeline(planted: Planted) -> None:
    result = detect_highlights(planted.input(segments=None), clips=2, preset="sales")
    assert _containing(result, ORDER_SPIKE + 1).sku == "LS-0002"
    assert _containing(result, CHAT_BURST + 1).sku == "LS-0001"


def test_cut_points_snap_into_given_pauses(planted: Planted) -> None:
    pauses = [(5.0 + 3.3 * i, 5.4 + 3.3 * i) for i in range(int(DURATION / 3.3) - 2)]
    result = detect_highlights(planted.input(), clips=4, preset="sales", pauses=pauses)
    assert result.highlights
    for h in result.highlights:
        assert h.snapped == (True, True)
        for cut in (h.start, h.end):
            assert any(a <= cut <= b for a, b in pauses), cut


def test_voice_pauses_used_when_none_given(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=2, preset="sales")
    voice = planted.audio.voice if planted.audio else None
    assert voice is not None
    for h in result.highlights:
        assert h.snapped == (True, True)
        for cut in (h.start, h.end):
            assert voice[min(int(cut * 10), len(voice) - 1)] == 0.0, cut


def test_unreachable_pause_keeps_cut_and_says_so(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=1, preset="sales", pauses=[(1.0, 1.5)])
    (h,) = result.highlights
    assert h.snapped == (False, False)
    assert "not snapped" in h.reason


def test_locked_highlights_win(planted: Planted) -> None:
    manual = Highlight(ORDER_SPIKE - 3.0, ORDER_SPIKE + 9.0, sku="LS-0002", locked=True, source="manual", reason="mine")
    result = detect_highlights(planted.input(), clips=4, preset="sales", locked=[manual])
    assert manual in result.highlights
    kept = next(h for h in result.highlights if h.source == "manual")
    assert kept is manual
    autos = [h for h in result.highlights if h.source == "auto"]
    assert len(autos) == 3
    for h in autos:
        assert not h.overlaps(manual.start, manual.end)


def test_result_is_json_safe_and_round_trips(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=2, preset="sales")
    data = json.loads(json.dumps(result.to_dict(), ensure_ascii=False))
    assert len(data["highlights"]) == 2
    first = data["highlights"][0]
    assert set(first) >= {"start", "end", "score", "rank", "sku", "peak", "contributions", "reason", "snapped"}
    assert sum(first["contributions"].values()) == pytest.approx(1.0, abs=1e-3)
    again = Highlight.from_dict(first)
    assert again.to_dict() == first


def test_custom_weights_switch_signals_off(planted: Planted) -> None:
    result = detect_highlights(planted.input(), clips=2, preset="sales", weights={"orders": 0, "loudness": 0})
    assert "orders" not in result.weights and "loudness" not in result.weights
    assert "orders" not in result.missing


def test_progress_is_reported(planted: Planted) -> None:
    seen: list[tuple[str, float]] = []
    detect_highlights(planted.input(on_progress=lambda stage, f: seen.append((stage, f))), clips=1)
    assert seen[-1] == ("select", 1.0)
    assert any(stage == "signal orders" for stage, _ in seen)


def test_series_for_the_score_timeline(planted: Planted) -> None:
    result = detect_highlights(planted.input(chat=None), clips=2)
    series = result.series(points=100)
    assert len(series["t"]) == len(series["score"]) == len(series["orders"]) == 100
    assert "chat" not in series and series["t"][1] == pytest.approx(6.0)
    assert max(series["orders"]) == 1.0 and min(series["orders"]) >= 0.0
    assert series["score"][int(ORDER_SPIKE / 6)] == max(series["score"])
    data = result.to_dict()
    assert data["signals"]["chat"] == {"available": False, "note": "no chat log", "unit": "x"}
