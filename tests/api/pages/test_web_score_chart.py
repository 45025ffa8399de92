"""The server-rendered score timeline (api.charts) and its Jinja partial."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from api.charts import active_segments, clock, score_timeline, score_timeline_svg
from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.highlights import detect_highlights
from studio.signals import AnalysisInput

NS = {"svg": "http://www.w3.org/2000/svg"}
EVIL = "<script>alert(\"x\")</script> 上链接！& 秒杀 'quoted'"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def plot_span(root: ET.Element) -> tuple[float, float, float, float]:
    """The plot's left, right (from the time axis line) and top, bottom (from a band or tick)."""
    axis = root.find(".//svg:line[@class='axis']", NS)
    assert axis is not None
    tick = root.find(".//svg:g[@class='tick']/svg:line", NS)
    assert tick is not None
    return float(axis.get("x1", "")), float(axis.get("x2", "")), float(tick.get("y1", "")), float(axis.get("y1", ""))


def points(line: ET.Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in line.get("points", "").split())]


def hl(start: float, end: float, rank: int, **extra: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"start": start, "end": end, "rank": rank, "score": 0.8, "sku": "LS-0001"}
    values.update(extra)
    return values


SERIES = {
    "t": [float(i) for i in range(0, 600, 10)],
    "score": [0.1] * 30 + [0.9] + [0.1] * 29,
    "orders": [0.0] * 30 + [1.0] + [0.0] * 29,
    "chat": [0.2] * 60,
    "loudness": [0.5] * 60,
}


def test_one_polyline_per_signal_with_a_legend() -> None:
    root = parse(score_timeline_svg(SERIES, [], duration=600))
    lines = root.findall(".//svg:polyline", NS)
    assert sorted(line.get("data-signal", "") for line in lines) == ["chat", "loudness", "orders", "score"]
    legend = [item.get("data-signal", "") for item in root.findall(".//svg:g[@class='legend-item']", NS)]
    assert sorted(legend) == ["chat", "loudness", "orders", "score"]
    for item in root.findall(".//svg:g[@class='legend-item']", NS):
        text = item.find("svg:text", NS)
        assert text is not None and text.text == item.get("data-signal")
    widths = {line.get("data-signal"): float(line.get("stroke-width", "0")) for line in lines}
    assert widths["score"] > max(w for name, w in widths.items() if name != "score")
    colours = {line.get("stroke") for line in lines}
    assert len(colours) == len(lines)  # one colour per signal


def test_polyline_maps_time_and_value_onto_the_plot() -> None:
    root = parse(score_timeline_svg(SERIES, [], duration=600))
    left, right, top, bottom = plot_span(root)
    orders = root.find(".//svg:polyline[@data-signal='orders']", NS)
    assert orders is not None
    pts = points(orders)
    assert len(pts) == 60
    peak_x, peak_y = min(pts, key=lambda p: p[1])
    assert peak_x == pytest.approx(left + 300 / 600 * (right - left), abs=0.6)
    assert peak_y == pytest.approx(top, abs=0.1)  # value 1 at the top of the plot
    assert pts[0] == (pytest.approx(left, abs=0.6), pytest.approx(bottom, abs=0.1))  # value 0 at the bottom


def test_long_series_keep_their_peaks() -> None:
    n = 20_000
    series = {"t": [i * 0.5 for i in range(n)], "score": [0.0] * n}
    series["score"][12_345] = 1.0
    root = parse(score_timeline_svg(series, [], duration=n * 0.5, width=600))
    line = root.find(".//svg:polyline", NS)
    assert line is not None
    pts = points(line)
    assert len(pts) <= 2 * 600  # pooled per half pixel, not 20,000 points
    top = plot_span(root)[2]
    assert min(y for _, y in pts) == pytest.approx(top, abs=0.1)


def test_one_band_per_highlight_at_the_right_place() -> None:
    highlights = [
        hl(30.0, 75.0, 2, reason="chat 3.1x"),
        hl(300.0, 345.5, 1, peak=310.0, reason="orders 4.2x baseline at 05:10"),
        hl(500.0, 560.0, 0, locked=True, source="manual", sku=None, score=0.0),
    ]
    root = parse(score_timeline_svg(SERIES, highlights, duration=600))
    left, right, top, bottom = plot_span(root)
    bands = root.findall(".//svg:g[@class='band']", NS)
    assert len(bands) == 3
    for band, h in zip(bands, highlights, strict=True):
        rect = band.find("svg:rect", NS)
        assert rect is not None
        x, w = float(rect.get("x", "")), float(rect.get("width", ""))
        assert x == pytest.approx(left + h["start"] / 600 * (right - left), abs=0.1)
        assert x + w == pytest.approx(left + h["end"] / 600 * (right - left), abs=0.1)
        rect_top = float(rect.get("y", ""))
        assert rect_top < top  # the band reaches into the label strip above the lines
        assert rect_top + float(rect.get("height", "")) == pytest.approx(bottom)
        assert 0 < float(rect.get("fill-opacity", "1")) < 1  # translucent
        label = band.find("svg:text", NS)
        assert label is not None
        assert label.text == (f"#{h['rank']}" if h["rank"] else "M")
    tips = [band.findtext("svg:title", namespaces=NS) or "" for band in bands]
    assert tips[0].startswith("#2 00:30–01:15 (45 s)") and "SKU LS-0001" in tips[0] and tips[0].endswith("chat 3.1x")
    assert "05:00–05:46" in tips[1] and "orders 4.2x baseline at 05:10" in tips[1]
    assert "locked" in tips[2] and "SKU" not in tips[2]
    fills = [band.find("svg:rect", NS).get("fill") for band in bands]  # type: ignore[union-attr]
    assert fills[0] == fills[1] != fills[2]  # locked/manual bands stand out
    peak = bands[1].find("svg:line[@class='peak']", NS)
    assert peak is not None
    assert float(peak.get("x1", "")) == pytest.approx(left + 310 / 600 * (right - left), abs=0.1)


def test_text_is_escaped() -> None:
    highlights = [hl(10.0, 40.0, 1, reason=EVIL, sku='SKU"><script>')]
    series = {"t": [0.0, 100.0], 'bad"><script>x</script>': [0.2, 0.4]}
    svg = str(score_timeline_svg(series, highlights, duration=120))
    assert "<script" not in svg
    assert "&lt;script&gt;" in svg
    root = parse(svg)
    tip = root.findtext(".//svg:g[@class='band']/svg:title", namespaces=NS) or ""
    assert EVIL in tip and 'SKU"><script>' in tip  # the parsed text is exactly what was given
    line = root.find(".//svg:polyline", NS)
    assert line is not None and line.get("data-signal") == 'bad"><script>x</script>'


def test_no_script_style_or_external_urls() -> None:
    svg = str(score_timeline_svg(SERIES, [hl(100.0, 130.0, 1, reason="x")], duration=600))
    assert "<script" not in svg and "style=" not in svg and "<style" not in svg
    assert "href" not in svg and not re.search(r"\son\w+=", svg)
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]  # the namespace only


def test_time_axis_uses_clock_labels() -> None:
    short = parse(score_timeline_svg(SERIES, [], duration=600))
    labels = [t.text for t in short.findall(".//svg:g[@class='tick']/svg:text", NS)]
    assert labels[0] == "00:00" and all(re.fullmatch(r"\d\d:\d\d", label or "") for label in labels)
    assert "05:00" in labels and len(labels) >= 4
    long = parse(score_timeline_svg({"t": [0.0], "score": [0.5]}, [], duration=3 * 3600 + 120))
    labels = [t.text for t in long.findall(".//svg:g[@class='tick']/svg:text", NS)]
    assert labels[0] == "0:00:00" and "1:00:00" in labels and "3:00:00" in labels
    assert all(re.fullmatch(r"\d:\d\d:\d\d", label or "") for label in labels)
    assert clock(3725.4) == "1:02:05" and clock(65) == "01:05" and clock(5, hours=True) == "0:00:05"


@pytest.mark.parametrize("series", [{}, {"t": [], "score": []}])
def test_empty_series_still_draws_axis_and_bands(series: dict[str, list[float]]) -> None:
    root = parse(score_timeline_svg(series, [hl(10.0, 40.0, 1)], duration=120))
    assert root.findall(".//svg:polyline", NS) == []
    assert root.findall(".//svg:g[@class='legend-item']", NS) == []
    assert len(root.findall(".//svg:g[@class='band']", NS)) == 1
    assert root.findtext(".//svg:text[@class='empty']", namespaces=NS) == "No signal data"


def test_bad_input_is_refused_or_skipped() -> None:
    with pytest.raises(ValueError, match="duration"):
        score_timeline_svg(SERIES, [], duration=0)
    with pytest.raises(ValueError, match="120x80"):
        score_timeline_svg(SERIES, [], duration=60, width=50)
    weird = {"t": [0.0, 1.0, 2.0], "score": [float("nan"), 7.0, -3.0]}
    root = parse(score_timeline_svg(weird, [{"start": 5, "end": 5}, {"end": 9}], duration=10))
    line = root.find(".//svg:polyline", NS)
    assert line is not None
    _, _, top, bottom = plot_span(root)
    assert [y for _, y in points(line)] == [pytest.approx(bottom), pytest.approx(top), pytest.approx(bottom)]
    assert root.findall(".//svg:g[@class='band']", NS) == []  # empty and incomplete highlights are skipped


def test_chart_of_a_real_analysis() -> None:
    products = [Product("LS-0001", "保湿面霜 Hydrating Cream", Decimal("89.00"))]
    chat = [ChatEvent(float(t), f"u{t}", "主播好") for t in range(0, 300, 3)]
    chat += [ChatEvent(150.0 + i * 0.2, f"b{i}", "上链接") for i in range(40)]
    orders = [StreamOrder(40.0, "LS-0001", 1, Decimal("89.00")), StreamOrder(260.0, "LS-0001", 1, Decimal("89.00"))]
    orders += [StreamOrder(152.0 + i * 0.3, "LS-0001", 1, Decimal("89.00")) for i in range(15)]
    inp = AnalysisInput(
        duration=300.0,
        products=products,
        segments=[TimelineSegment("LS-0001", 5.0, 295.0)],
        chat=chat,
        orders=orders,
        cues=[TranscriptCue(149.0, 151.0, "上链接 保湿面霜 秒杀")],
    )
    result = detect_highlights(inp, clips=2, preset="sales")
    series = result.series(200)
    root = parse(score_timeline_svg(series, [h.to_dict() for h in result.highlights], duration=300.0))
    drawn = {line.get("data-signal") for line in root.findall(".//svg:polyline", NS)}
    drawn |= {lane.get("data-signal") for lane in root.findall(".//svg:g[@class='lane']", NS)}
    assert drawn == set(series) - {"t"} and {"score", "orders", "chat"} <= drawn
    assert len(root.findall(".//svg:g[@class='band']", NS)) == len(result.highlights) >= 1


def test_partial_renders_chart_and_table() -> None:
    from api.routers.pages import TEMPLATES

    highlights = [
        hl(3700.0, 3745.0, 1, reason=EVIL),
        hl(100.0, 190.0, 0, locked=True, source="manual", sku=None, score=0.0, reason=""),
    ]
    timeline = score_timeline(SERIES, highlights, duration=7200.0)
    html = TEMPLATES.env.get_template("partials/score_timeline.html").render(timeline=timeline)
    assert html.count("<svg") == 1 and "&lt;svg" not in html  # the chart is not escaped twice
    assert "<script" not in html and "&lt;script&gt;alert" in html
    body = html.split("<tbody>", 1)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    assert len(rows) == 2
    first, second = rows  # time order: the manual one comes first
    assert "0:01:40 – 0:03:10" in first and "1:30" in first and "locked" in first and "manual" in first
    assert "1:01:40 – 1:02:25" in second and "#1" in second and "45 s" in second and "LS-0001" in second
    assert "0.80" in second and "locked" not in second
    empty = TEMPLATES.env.get_template("partials/score_timeline.html").render(
        timeline=score_timeline({}, [], duration=60.0)
    )
    assert "No highlights yet." in empty and "<table" not in empty


def _talking_series() -> dict[str, list[float]]:
    """Ten minutes at 1 point per second: speech 60–180 s and 300–420 s (a dense 0/1 voice signal)."""
    n = 600
    voice = [1.0 if (60 <= i < 180 or 300 <= i < 420) and i % 7 else 0.0 for i in range(n)]  # short dips
    return {
        "t": [float(i) for i in range(n)],
        "score": [0.1 + 0.8 * (i == 350) for i in range(n)],
        "chat": [0.2] * n,
        "voice": voice,
    }


def test_voice_is_a_lane_of_speech_segments_under_the_plot() -> None:
    root = parse(score_timeline_svg(_talking_series(), [hl(330.0, 370.0, 1, reason="r")], duration=600))
    left, right, _top, bottom = plot_span(root)
    signals = [line.get("data-signal") for line in root.findall(".//svg:polyline", NS)]
    assert "voice" not in signals  # no zig-zag over the scores
    assert signals[-1] == "score"  # the score is drawn last, on top
    lane = root.find(".//svg:g[@class='lane']", NS)
    assert lane is not None and lane.get("data-signal") == "voice"
    assert lane.findtext("svg:title", namespaces=NS) == "voice: speech in 40% of the recording"
    track = lane.find("svg:rect[@class='track']", NS)
    assert track is not None and float(track.get("y", "")) > bottom  # below the plot, above the time labels
    segments = [
        (float(r.get("x", "")), float(r.get("x", "")) + float(r.get("width", "")))
        for r in lane.findall("svg:rect[@class='segment']", NS)
    ]
    scale = (right - left) / 600
    assert len(segments) == 2  # the one-second dips do not break a stretch of speech
    for (x0, x1), (start, end) in zip(segments, [(60, 180), (300, 420)], strict=True):
        assert x0 == pytest.approx(left + start * scale, abs=2 * scale)  # within the smoothing window
        assert x1 == pytest.approx(left + end * scale, abs=2 * scale)
    legend = root.find(".//svg:g[@data-signal='voice'][@class='legend-item']", NS)
    assert legend is not None and legend.find("svg:rect", NS) is not None  # a swatch, not a line
    tip = root.findtext(".//svg:g[@class='band']/svg:title", namespaces=NS) or ""
    assert tip.startswith("#1 05:30–06:10")  # highlight tooltips stay
    ticks = root.findall(".//svg:g[@class='tick']/svg:line", NS)
    assert all(float(t.get("y2", "")) > float(track.get("y", "")) for t in ticks)  # grid runs through the lane


def test_non_score_lines_are_muted_under_the_score() -> None:
    root = parse(score_timeline_svg(SERIES, [], duration=600))
    lines = {line.get("data-signal"): line for line in root.findall(".//svg:polyline", NS)}
    score = lines.pop("score")
    assert float(score.get("stroke-opacity", "")) == 1
    assert all(float(line.get("stroke-opacity", "")) <= 0.6 for line in lines.values())
    widest = max(float(line.get("stroke-width", "")) for line in lines.values())
    assert widest * 2 <= float(score.get("stroke-width", ""))


def test_active_segments() -> None:
    times = [float(i) for i in range(10)]
    assert active_segments(times, [0, 0, 1, 1, 1, 1, 0, 0, 0, 0], 10.0) == [(2.0, 6.0)]
    assert active_segments(times, [1, 1, 1, 0, 1, 1, 1, 0, 0, 0], 10.0) == [(0.0, 7.0)]  # a blip is smoothed over
    assert active_segments(times, [0] * 10, 10.0) == []
    assert active_segments(times, [1] * 10, 10.0) == [(0.0, 10.0)]
    assert active_segments(times, ["x", None, float("nan")] + [0] * 7, 10.0) == []


def test_a_chart_with_only_voice_is_not_empty() -> None:
    root = parse(score_timeline_svg({"t": [0.0, 5.0], "voice": [1.0, 1.0]}, [], duration=10))
    assert root.find(".//svg:text[@class='empty']", NS) is None
    assert len(root.findall(".//svg:g[@class='lane']/svg:rect[@class='segment']", NS)) == 1
