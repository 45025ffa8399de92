"""Timeline import."""

from __future__ import annotations

from datetime import datetime

import pytest

from sidedata import SideDataImportError, TimeContext, TimelineSegment, parse_timeline

SKUS = {"A", "B", "C"}


def test_segments_sorted_and_may_touch(ctx: TimeContext) -> None:
    data = b"sku,start,end\nB,00:05:00,00:06:00\nA,0,300\nC,06:00,06:30.5\n"
    result = parse_timeline(data, "t.csv", known_skus=SKUS, ctx=ctx)
    assert result.segments == [
        TimelineSegment("A", 0.0, 300.0),
        TimelineSegment("B", 300.0, 360.0),
        TimelineSegment("C", 360.0, 390.5),
    ]


def test_overlap_error_names_both_lines(ctx: TimeContext) -> None:
    data = b"sku,start,end\nA,0,100\nB,200,300\nC,50,60\n"
    with pytest.raises(SideDataImportError) as info:
        parse_timeline(data, "t.csv", known_skus=SKUS, ctx=ctx)
    assert [str(p) for p in info.value.problems] == [
        "t.csv:4: start: segment C 50–60 s overlaps segment A 0–100 s on line 2"
    ]


def test_unknown_sku_and_bad_ranges_collected(ctx: TimeContext) -> None:
    data = b"sku,start,end\nZZ,0,10\nA,20,20\nB,-5,3\n"
    with pytest.raises(SideDataImportError) as info:
        parse_timeline(data, "t.csv", known_skus=SKUS, ctx=ctx)
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "sku"), (3, "end"), (4, "start")]
    assert "not in the product catalog" in info.value.problems[0].problem


def test_segment_past_duration(ctx: TimeContext) -> None:
    within = parse_timeline(b"sku,start,end\nA,0,100.9\n", "t.csv", known_skus=SKUS, ctx=TimeContext(duration=100))
    assert within.segments[0].end == 100.9
    with pytest.raises(SideDataImportError, match="after the end of the recording"):
        parse_timeline(b"sku,start,end\nA,0,101.5\n", "t.csv", known_skus=SKUS, ctx=TimeContext(duration=100))


def test_wall_clock_timeline_needs_stream_start() -> None:
    data = b"sku,start,end\nA,2026-11-20 20:00:10,2026-11-20 20:01:00\nB,2026-11-20 20:01:00,2026-11-20 20:02:00\n"
    with pytest.raises(SideDataImportError) as info:
        parse_timeline(data, "t.csv", known_skus=SKUS, ctx=TimeContext())
    assert len(info.value.problems) == 1
    assert "stream_started_at" in str(info.value)
    assert "3 more rows affected" in str(info.value)
    ctx = TimeContext(stream_started_at=datetime.fromisoformat("2026-11-20T20:00:00+08:00"))
    result = parse_timeline(data, "t.csv", known_skus=SKUS, ctx=ctx)
    assert [(s.start, s.end) for s in result.segments] == [(10.0, 60.0), (60.0, 120.0)]
