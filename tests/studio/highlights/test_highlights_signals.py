"""Detectors, registry, normalisation and snapping, one piece at a time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.highlights import AnalysisError, detect_highlights, normalise
from studio.highlights.snap import pause_midpoints, snap_window
from studio.signals import AnalysisInput, UnknownDetectorError, get_detector, name_parts, registry
from tests.studio.highlights.conftest import CHAT_BURST, ORDER_SPIKE, Planted


def test_registry_has_one_detector_per_signal() -> None:
    names = set(registry())
    assert names >= {"chat", "gifts", "orders", "products", "keywords", "loudness", "voice", "scenes"}
    for name in names:
        detector = get_detector(name)
        assert detector.name == name and detector.requires in {"chat", "orders", "timeline", "transcript", "media"}
    with pytest.raises(UnknownDetectorError, match="unknown signal 'nope'"):
        get_detector("nope")


def test_chat_and_orders_peak_at_their_bursts(planted: Planted) -> None:
    inp = planted.input()
    chat = get_detector("chat").compute(inp)
    orders = get_detector("orders").compute(inp)
    assert chat.values.dtype == np.float32 and len(chat.values) == inp.ticks == 6000
    assert abs(np.argmax(chat.values) / 10 - CHAT_BURST) <= 2.0
    assert abs(np.argmax(orders.values) / 10 - ORDER_SPIKE) <= 2.0
    assert orders.values.max() > 4 * np.median(orders.values)
    assert orders.label_at(ORDER_SPIKE + 1) in (None, "LS-0002")


def test_missing_side_data_gives_unavailable_signals(planted: Planted) -> None:
    inp = planted.input(chat=None, orders=None, cues=None, segments=None, audio=None)
    for name, note in [
        ("chat", "no chat log"),
        ("gifts", "no chat log"),
        ("orders", "no stream orders"),
        ("keywords", "no transcript"),
        ("products", "no product timeline"),
        ("loudness", "no recording given"),
        ("voice", "no recording given"),
        ("scenes", "scene detection off"),
    ]:
        signal = get_detector(name).compute(inp)
        assert not signal.available and signal.note == note
        assert signal.values.shape == (inp.ticks,) and not signal.values.any()


def test_events_outside_the_recording_are_dropped_with_a_warning(planted: Planted) -> None:
    chat = [*planted.chat, ChatEvent(-5.0, "x", "早"), ChatEvent(9999.0, "y", "晚")]
    orders = [*planted.orders, StreamOrder(10_000.0, "LS-0001", 1, Decimal("1.00"))]
    result = detect_highlights(planted.input(chat=chat, orders=orders), clips=1)
    assert "2 chat comments outside the recording ignored" in result.warnings
    assert "1 orders outside the recording ignored" in result.warnings


def test_product_timeline_labels_each_tick() -> None:
    inp = AnalysisInput(duration=30.0, segments=[TimelineSegment("A", 5.0, 10.0), TimelineSegment("B", 10.0, 20.0)])
    signal = get_detector("products").compute(inp)
    assert signal.label_at(4.9) is None and signal.label_at(5.0) == "A"
    assert signal.label_at(9.95) == "A" and signal.label_at(10.0) == "B" and signal.label_at(25.0) is None
    assert signal.values[50:200].all() and not signal.values[:50].any()


def test_name_parts_split_chinese_and_english() -> None:
    assert name_parts("保湿面霜 Hydrating Cream") == ["保湿面霜", "hydrating cream"]
    assert name_parts("防晒喷雾 SPF50 Sun Spray") == ["防晒喷雾", "spf50 sun spray"]
    assert name_parts("蜡烛") == ["蜡烛"]


def test_keywords_match_names_in_either_language_and_phrases() -> None:
    products = [
        Product("A", "保湿面霜 Hydrating Cream", Decimal(1)),
        Product("B", "蓝牙耳机 Wireless Earbuds", Decimal(1)),
    ]
    cues = [
        TranscriptCue(2.0, 4.0, "这个保湿面霜很好"),
        TranscriptCue(10.0, 12.0, "our HYDRATING  cream is back"),
        TranscriptCue(20.0, 22.0, "Wireless Earbuds 上链接 限时 discount"),
        TranscriptCue(30.0, 32.0, "大家好"),
    ]
    inp = AnalysisInput(duration=40.0, products=products, cues=cues)
    signal = get_detector("keywords").compute(inp)
    assert signal.label_at(3.0) == "A" and signal.label_at(11.0) == "A" and signal.label_at(21.0) == "B"
    assert signal.label_at(31.0) is None
    assert signal.events == [(20.0, "上链接、限时、discount")]
    assert signal.values[210] > signal.values[30] > 0 and signal.values[310] == 0
    custom = get_detector("keywords").compute(AnalysisInput(duration=40.0, cues=cues, phrases=["大家好"]))
    assert custom.events == [(30.0, "大家好")]


def test_normalise_is_robust_and_handles_flat_signals() -> None:
    x = np.zeros(1000)
    x[500:520] = np.arange(1, 21)  # 2 % of ticks: the top 1 % clips to 1
    clipped, raw = normalise(x)
    assert clipped.max() == 1.0 and clipped.min() == 0.0 and raw.argmax() == 519 and raw[519] > 1.5
    assert (clipped[510:520] == 1.0).sum() >= 9
    sparse = np.zeros(1000)
    sparse[500:503] = [1, 4, 2]  # fewer than 1 % of ticks: scaled by the maximum instead
    assert normalise(sparse)[0][501] == 1.0 and normalise(sparse)[0][502] == 0.5
    flat, _ = normalise(np.full(100, 3.0))
    assert not flat.any()


def test_snap_window_respects_bounds_lengths_and_peak() -> None:
    mids = pause_midpoints([(9.0, 9.4), (31.0, 31.2), (26.0, 26.4), (40.0, 41.0)])
    assert list(mids) == [9.2, 26.2, 31.1, 40.5]
    snapped = snap_window(10.0, 30.0, 20.0, mids, bounds=(0.0, 100.0), min_len=15.0, max_len=60.0, tolerance=2.0)
    assert (snapped.start, snapped.end, snapped.snapped_start, snapped.snapped_end) == (9.2, 31.1, True, True)
    # 26.2 is nearer to 27 but would make the clip shorter than 17.5 s; 31.1 is out of tolerance.
    short = snap_window(10.0, 27.0, 20.0, mids, bounds=(0.0, 100.0), min_len=17.5, max_len=60.0, tolerance=2.0)
    assert (short.start, short.end, short.snapped_start, short.snapped_end) == (9.2, 27.0, True, False)
    # At its minimum length the window may still snap outwards: the end wanted moves with the start.
    outward = snap_window(11.0, 26.0, 20.0, mids, bounds=(0.0, 100.0), min_len=15.0, max_len=60.0, tolerance=2.0)
    assert (outward.start, outward.end) == (9.2, 26.2)
    # The peak must stay inside.
    inside = snap_window(10.0, 30.0, 30.5, mids, bounds=(0.0, 100.0), min_len=15.0, max_len=60.0, tolerance=2.0)
    assert inside.end >= 30.5
    # The bound forbids the pause at 9.2.
    bounded = snap_window(10.0, 30.0, 20.0, mids, bounds=(9.5, 100.0), min_len=15.0, max_len=60.0, tolerance=2.0)
    assert bounded.start == 10.0 and not bounded.snapped_start and bounded.end == 31.1


def test_bad_parameters_raise_clear_errors(planted: Planted) -> None:
    inp = planted.input()
    with pytest.raises(AnalysisError, match="min_len <= max_len"):
        detect_highlights(inp, min_len=30, max_len=20)
    with pytest.raises(AnalysisError, match="unknown preset"):
        detect_highlights(inp, preset="viral")
    with pytest.raises(AnalysisError, match="unknown signal 'likes'"):
        detect_highlights(inp, weights={"likes": 1.0})
    with pytest.raises(AnalysisError, match=">= 0"):
        detect_highlights(inp, weights={"chat": -1.0})
    with pytest.raises(AnalysisError, match="shorter than min_len"):
        detect_highlights(AnalysisInput(duration=10.0), min_len=15.0)
    with pytest.raises(AnalysisError, match="positive"):
        AnalysisInput(duration=0.0)


def test_loudness_from_a_real_decode(tmp_path: Path) -> None:
    """One tiny real decode: a 2 s tone whose second half is 20 dB louder."""
    from studio.ffmpeg import run_ffmpeg

    wav = tmp_path / "tone.wav"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=8000:duration=2",
            "-af",
            "volume='if(lt(t,1),0.05,0.5)':eval=frame",
            "-ac",
            "1",
            str(wav),
        ]
    )
    inp = AnalysisInput(duration=2.0, media_path=wav)
    loud = get_detector("loudness").compute(inp)
    assert loud.available and loud.values.shape == (20,)
    assert loud.values[15] - loud.values[4] == pytest.approx(20.0, abs=3.0)
    assert get_detector("voice").compute(inp).available
