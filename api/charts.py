"""Server-rendered charts: the score timeline of a recording's highlight analysis, as inline SVG.

Pure functions, no JavaScript and no external URLs (the pages run under a strict CSP that also blocks
inline ``style`` attributes, so only SVG presentation attributes are used). Every piece of text is
escaped: reasons quote chat and transcript phrases, which are user input.

``score_timeline_svg(result.series(), [h.to_dict() for h in result.highlights], duration=...)`` draws
the combined score as a thick line on top of the other signals (thin, muted lines), voice activity as a
lane of speech segments under the plot (a dense 0/1 signal drawn as a line hides everything else), the
highlights as bands with their rank and a tooltip, and a time axis. :func:`score_timeline` adds the rows
of the highlights table rendered by ``templates/partials/score_timeline.html``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

__all__ = ["SIGNAL_COLOURS", "active_segments", "clock", "score_timeline", "score_timeline_svg", "timeline_rows"]

SIGNAL_COLOURS: dict[str, str] = {
    "score": "#111827",
    "orders": "#d97706",
    "chat": "#2563eb",
    "keywords": "#7c3aed",
    "gifts": "#db2777",
    "loudness": "#059669",
    "voice": "#64748b",
    "scenes": "#0891b2",
    "products": "#a3a3a3",
}
_FALLBACK_COLOURS = ("#b91c1c", "#4d7c0f", "#0f766e", "#9333ea", "#c2410c", "#1d4ed8")
BAND_FILL = "#f59e0b"
LOCKED_FILL = "#10b981"
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
_TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
_PAD_X, _AXIS_H, _LEGEND_ROW = 8, 22, 18
_LABEL_H = 14  # a strip above the plot where the bands carry their rank labels, clear of the lines
LANE_SIGNALS = ("voice",)  # drawn as activity segments in a lane under the plot, not as lines
LANE_THRESHOLD = 0.5  # a lane signal at or above this (after smoothing) counts as active
_LANE_H, _LANE_GAP = 10, 4
_LANE_MERGE_PX = 2.0  # active runs closer than this are drawn as one segment


def clock(seconds: float, *, hours: bool = False) -> str:
    """``MM:SS``, or ``H:MM:SS`` when ``hours`` is set or the time is an hour or more."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if hours or h else f"{m:02d}:{s:02d}"


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _unit(value: Any) -> float:
    """A series value clamped into [0, 1]; anything non-finite or non-numeric is 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, number)) if math.isfinite(number) else 0.0


def _colour(name: str, fallback_index: int) -> str:
    return SIGNAL_COLOURS.get(name) or _FALLBACK_COLOURS[fallback_index % len(_FALLBACK_COLOURS)]


class _Frame:
    """Where the plot lies inside the SVG, and how times and values map onto it."""

    def __init__(self, width: int, height: int, top: float, duration: float, lanes: int = 0) -> None:
        self.left, self.right = float(_PAD_X), float(width - _PAD_X)
        self.lanes_h = lanes * (_LANE_H + _LANE_GAP)
        self.top, self.bottom = top, float(height - _AXIS_H - self.lanes_h)
        self.duration = duration

    def x(self, seconds: float) -> float:
        return self.left + min(max(seconds, 0.0), self.duration) / self.duration * (self.right - self.left)

    def y(self, value: float) -> float:
        return self.bottom - value * (self.bottom - self.top)


def _legend(names: Sequence[str], colours: Mapping[str, str], width: int) -> tuple[list[str], float]:
    """Legend items laid out in rows; returns the elements and the height they take."""
    items, x, row = [], float(_PAD_X), 0
    for name in names:
        item_w = 22 + 7 * len(name) + 14
        if x + item_w > width - _PAD_X and x > _PAD_X:
            x, row = float(_PAD_X), row + 1
        y = 12 + row * _LEGEND_ROW
        if name in LANE_SIGNALS:
            swatch = (
                f'<rect x="{_num(x)}" y="{y - 8}" width="16" height="8" fill="{colours[name]}" fill-opacity="0.45"/>'
            )
        else:
            stroke = 3 if name == "score" else 1.5
            swatch = (
                f'<line x1="{_num(x)}" y1="{y - 4}" x2="{_num(x + 16)}" y2="{y - 4}" stroke="{colours[name]}" '
                f'stroke-width="{stroke}"/>'
            )
        items.append(
            f'<g class="legend-item" data-signal="{escape(name)}">{swatch}'
            f'<text x="{_num(x + 21)}" y="{y}" fill="#374151">{escape(name)}</text></g>'
        )
        x += item_w
    return items, (row + 1) * _LEGEND_ROW + 4 if names else 4.0


def _points(times: Sequence[float], values: Sequence[Any], frame: _Frame) -> str:
    """Polyline points, max-pooled per pixel column so that peaks survive long series."""
    columns: dict[int, float] = {}
    for t, v in zip(times, values, strict=False):
        column = round(frame.x(float(t)) * 2)  # half-pixel columns
        value = _unit(v)
        columns[column] = max(columns.get(column, 0.0), value)
    return " ".join(f"{_num(c / 2)},{_num(frame.y(v))}" for c, v in sorted(columns.items()))


def _times(series: Mapping[str, Sequence[float]], count: int, duration: float) -> list[float]:
    given = series.get("t")
    if given is not None and len(given) >= count:
        return [float(t) for t in given[:count]]
    step = duration / max(count, 1)
    return [i * step for i in range(count)]


def _tick_step(duration: float, plot_width: float) -> int:
    wanted = max(2, int(plot_width // 90))
    return next((s for s in _TICK_STEPS if duration / s <= wanted), _TICK_STEPS[-1])


def _axis(frame: _Frame, height: int) -> list[str]:
    step = _tick_step(frame.duration, frame.right - frame.left)
    hours = frame.duration >= 3600
    parts = [
        f'<line class="axis" x1="{_num(frame.left)}" y1="{_num(frame.bottom)}" x2="{_num(frame.right)}" '
        f'y2="{_num(frame.bottom)}" stroke="#9ca3af" stroke-width="1"/>'
    ]
    count = int(frame.duration // step)
    for i in range(count + 1):
        t = i * step
        x = _num(frame.x(t))
        anchor = "start" if i == 0 else ("end" if frame.x(t) > frame.right - 20 else "middle")
        parts.append(
            f'<g class="tick" data-t="{t}">'
            f'<line x1="{x}" y1="{_num(frame.top)}" x2="{x}" y2="{_num(frame.bottom + frame.lanes_h + 4)}" '
            'stroke="#e5e7eb" stroke-width="1"/>'
            f'<text x="{x}" y="{height - 6}" text-anchor="{anchor}" fill="#6b7280">{clock(t, hours=hours)}</text></g>'
        )
    return parts


def _smoothed(values: Sequence[Any], radius: int = 1) -> list[float]:
    """A centred moving average over ``2 * radius + 1`` points (values clamped into [0, 1] first)."""
    clean = [_unit(v) for v in values]
    out = []
    for i in range(len(clean)):
        window = clean[max(0, i - radius) : i + radius + 1]
        out.append(sum(window) / len(window))
    return out


def active_segments(
    times: Sequence[float], values: Sequence[Any], duration: float, *, threshold: float = LANE_THRESHOLD
) -> list[tuple[float, float]]:
    """``(start, end)`` seconds where the smoothed signal is at least ``threshold`` (speech, for voice)."""
    pairs = sorted(zip((float(t) for t in times), _smoothed(values), strict=False))
    runs: list[tuple[float, float]] = []
    for i, (t, v) in enumerate(pairs):
        end = pairs[i + 1][0] if i + 1 < len(pairs) else duration
        if v < threshold or end <= t:
            continue
        if runs and runs[-1][1] >= t:
            runs[-1] = (runs[-1][0], end)
        else:
            runs.append((t, end))
    return [(max(0.0, a), min(duration, b)) for a, b in runs if b > 0 and a < duration]


def _lane(name: str, values: Sequence[Any], times: Sequence[float], frame: _Frame, index: int, colour: str) -> str:
    """One lane under the plot: a light track with the signal's active segments filled in."""
    top = frame.bottom + _LANE_GAP + index * (_LANE_H + _LANE_GAP)
    spans: list[tuple[float, float]] = []
    for start, end in active_segments(times, values, frame.duration):
        x0, x1 = frame.x(start), frame.x(end)
        if spans and x0 - spans[-1][1] < _LANE_MERGE_PX:
            spans[-1] = (spans[-1][0], x1)
        else:
            spans.append((x0, x1))
    plot_w = frame.right - frame.left
    share = sum(x1 - x0 for x0, x1 in spans) / plot_w if plot_w else 0.0
    label = "speech" if name == "voice" else f"{name} active"
    rects = "".join(
        f'<rect class="segment" x="{_num(x0)}" y="{_num(top)}" width="{_num(max(x1 - x0, 0.5))}" '
        f'height="{_LANE_H}" fill="{colour}" fill-opacity="0.45"/>'
        for x0, x1 in spans
    )
    return (
        f'<g class="lane" data-signal="{escape(name)}">'
        f"<title>{escape(f'{name}: {label} in {share:.0%} of the recording')}</title>"
        f'<rect class="track" x="{_num(frame.left)}" y="{_num(top)}" width="{_num(plot_w)}" '
        f'height="{_LANE_H}" fill="#f1f5f9"/>{rects}</g>'
    )


def _band(h: Mapping[str, Any], frame: _Frame, hours: bool) -> str | None:
    try:
        start, end = float(h["start"]), float(h["end"])
    except (KeyError, TypeError, ValueError):
        return None
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        return None
    x0, x1 = frame.x(start), frame.x(end)
    rank = int(h.get("rank") or 0)
    label = f"#{rank}" if rank else "M"
    pinned = bool(h.get("locked")) or h.get("source") == "manual"
    tip = [f"{label} {clock(start, hours=hours)}–{clock(end, hours=hours)} ({_num(round(end - start, 1))} s)"]
    if h.get("sku"):
        tip.append(f"SKU {h['sku']}")
    if h.get("score") is not None:
        tip.append(f"score {_unit(h['score']):.2f}")
    if pinned:
        tip.append("locked" if h.get("locked") else "manual")
    if h.get("reason"):
        tip.append(str(h["reason"]))
    peak = h.get("peak")
    peak_line = ""
    if peak is not None and math.isfinite(float(peak)) and start <= float(peak) <= end:
        px = _num(frame.x(float(peak)))
        peak_line = (
            f'<line class="peak" x1="{px}" y1="{_num(frame.top)}" x2="{px}" y2="{_num(frame.bottom)}" '
            f'stroke="{BAND_FILL}" stroke-width="1" stroke-dasharray="3 3"/>'
        )
    fill = LOCKED_FILL if pinned else BAND_FILL
    width = max(x1 - x0, 1.0)
    text_x = x0 + width / 2 if width < 24 else x0 + 3
    anchor = "middle" if width < 24 else "start"
    return (
        f'<g class="band" data-rank="{rank}" data-start="{_num(round(start, 3))}" data-end="{_num(round(end, 3))}">'
        f"<title>{escape(' · '.join(tip))}</title>"
        f'<rect x="{_num(x0)}" y="{_num(frame.top - _LABEL_H)}" width="{_num(width)}" '
        f'height="{_num(frame.bottom - frame.top + _LABEL_H)}" '
        f'fill="{fill}" fill-opacity="0.2" stroke="{fill}" stroke-opacity="0.6" stroke-width="1"/>'
        f"{peak_line}"
        f'<text x="{_num(text_x)}" y="{_num(frame.top - 3)}" text-anchor="{anchor}" fill="#374151" '
        f'font-weight="600">{escape(label)}</text></g>'
    )


def score_timeline_svg(
    series: Mapping[str, Sequence[float]],
    highlights: Sequence[Mapping[str, Any]],
    *,
    duration: float,
    width: int = 960,
    height: int = 260,
) -> Markup:
    """The score timeline as an inline ``<svg>`` element.

    ``series`` is ``HighlightResult.series()``: ``"t"`` (seconds) plus one list per signal, values in
    [0, 1]; ``"score"`` is drawn thicker. ``highlights`` are ``Highlight.to_dict()`` mappings, drawn as
    bands with their rank (``M`` for an unranked manual one) and a tooltip. Raises ``ValueError`` for
    a non-positive duration or a size too small to draw in.
    """
    if not (math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    if width < 120 or height < 80:
        raise ValueError(f"the chart needs at least 120x80 px, got {width}x{height}")
    names = [name for name, values in series.items() if name != "t" and len(values) > 0]
    names.sort(key=lambda name: (name != "score", name))
    fallback = iter(range(len(names)))
    colours = {name: _colour(name, next(fallback)) for name in names}
    legend, legend_h = _legend(names, colours, width)
    lane_names = [name for name in names if name in LANE_SIGNALS]
    frame = _Frame(width, height, legend_h + _LABEL_H + 2, duration, lanes=len(lane_names))
    hours = duration >= 3600
    body = [*_axis(frame, height)]
    bands = [band for h in highlights if (band := _band(h, frame, hours)) is not None]
    body.append(f'<g class="bands">{"".join(bands)}</g>')
    lanes = [
        _lane(name, series[name], _times(series, len(series[name]), duration), frame, i, colours[name])
        for i, name in enumerate(lane_names)
    ]
    body.append(f'<g class="lanes">{"".join(lanes)}</g>')
    lines = []
    drawn = [n for n in names if n not in LANE_SIGNALS]
    for name in [*(n for n in drawn if n != "score"), *(n for n in drawn if n == "score")]:  # score on top
        values = series[name]
        points = _points(_times(series, len(values), duration), values, frame)
        if not points:
            continue
        stroke = "2.5" if name == "score" else "1"
        opacity = "1" if name == "score" else "0.55"
        lines.append(
            f'<polyline class="signal" data-signal="{escape(name)}" points="{points}" fill="none" '
            f'stroke="{colours[name]}" stroke-width="{stroke}" stroke-opacity="{opacity}" stroke-linejoin="round">'
            f"<title>{escape(name)}</title></polyline>"
        )
    body.append(f'<g class="signals">{"".join(lines)}</g>')
    if not lines and not lanes:
        body.append(
            f'<text class="empty" x="{_num(width / 2)}" y="{_num((frame.top + frame.bottom) / 2)}" '
            f'text-anchor="middle" fill="#6b7280">No signal data</text>'
        )
    summary = f"{len(names)} signals over {clock(duration, hours=hours)}, {len(bands)} highlights"
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="score-timeline" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-labelledby="score-timeline-title score-timeline-desc" '
        f'font-family="{escape(FONT)}" font-size="11">'
        f'<title id="score-timeline-title">Score timeline</title>'
        f'<desc id="score-timeline-desc">{escape(summary)}</desc>'
        f'<g class="legend">{"".join(legend)}</g>{"".join(body)}</svg>'
    )


def _length(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else clock(seconds)


def timeline_rows(highlights: Sequence[Mapping[str, Any]], *, duration: float) -> list[dict[str, Any]]:
    """One row per highlight for the table beside the chart, in time order, with formatted fields."""
    hours = duration >= 3600
    rows = []
    for h in sorted(highlights, key=lambda h: (float(h["start"]), float(h["end"]))):
        start, end = float(h["start"]), float(h["end"])
        rank = int(h.get("rank") or 0)
        score = h.get("score")
        rows.append(
            {
                "rank": f"#{rank}" if rank else "—",
                "start": clock(start, hours=hours),
                "end": clock(end, hours=hours),
                "length": _length(end - start),
                "sku": h.get("sku") or "",
                "score": "" if score is None else f"{float(score):.2f}",
                "reason": str(h.get("reason") or ""),
                "locked": bool(h.get("locked")),
                "manual": h.get("source") == "manual",
            }
        )
    return rows


def score_timeline(
    series: Mapping[str, Sequence[float]],
    highlights: Sequence[Mapping[str, Any]],
    *,
    duration: float,
    width: int = 960,
    height: int = 260,
) -> dict[str, Any]:
    """The context ``templates/partials/score_timeline.html`` expects as ``timeline``: svg and rows."""
    return {
        "svg": score_timeline_svg(series, highlights, duration=duration, width=width, height=height),
        "rows": timeline_rows(highlights, duration=duration),
        "duration": duration,
    }
