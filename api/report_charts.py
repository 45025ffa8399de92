"""Server-rendered charts of the sales dashboard: the funnel and GMV over time, as inline SVG.

Pure functions in the style of :mod:`api.charts`: no JavaScript, no external URLs, only SVG presentation
attributes (the pages' CSP blocks inline ``style``), every text escaped. Labels come in translated from the
template (``funnel_svg(totals, labels={"scans": _("Scans"), ...})``). Money is integer minor units, shown in
major units with the currency's digits (:func:`money`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from markupsafe import Markup, escape

from api.charts import FONT
from sidedata.money import currency_digits

FUNNEL_STEPS = ("scans", "clicks", "unique_visitors", "orders")
FUNNEL_COLOURS = {"scans": "#2563eb", "clicks": "#0891b2", "unique_visitors": "#059669", "orders": "#d97706"}
BOT_COLOUR = "#9ca3af"
BAR_COLOUR = "#d97706"
_LABEL_W, _ROW_H, _GAP = 150, 28, 8


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def money(amount: int, currency: str) -> str:
    """``12345`` CNY -> ``123.45``: minor units in major units, with the currency's digits."""
    digits = currency_digits(currency)
    value = amount / 10**digits
    return f"{value:,.{digits}f}"


def _svg(kind: str, width: int, height: int, title: str, desc: str, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{kind}" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-labelledby="{kind}-title {kind}-desc" font-family="{escape(FONT)}" font-size="12">'
        f'<title id="{kind}-title">{escape(title)}</title><desc id="{kind}-desc">{escape(desc)}</desc>{body}</svg>'
    )


def funnel_svg(
    totals: Mapping[str, Any], *, labels: Mapping[str, str], title: str = "Funnel", width: int = 640
) -> Markup:
    """Scans, clicks, unique visitors and orders as bars on one scale with their counts, orders with the
    conversion (orders per unique visitor); bot hits (never counted) as a grey bar apart, under a rule."""
    values = {step: max(0, int(totals.get(step) or 0)) for step in (*FUNNEL_STEPS, "bot_hits")}
    top = max([values[step] for step in FUNNEL_STEPS] + [values["bot_hits"], 1])
    plot_w = width - _LABEL_W - 90
    parts: list[str] = []
    y = 6
    previous: int | None = None
    for step in (*FUNNEL_STEPS, "bot_hits"):
        if step == "bot_hits":
            y += _GAP
            parts.append(f'<line x1="0" y1="{y - _GAP / 2}" x2="{width}" y2="{y - _GAP / 2}" stroke="#e5e7eb"/>')
        value = values[step]
        bar_w = max(value / top * plot_w, 1.5 if value else 0)
        colour = BOT_COLOUR if step == "bot_hits" else FUNNEL_COLOURS[step]
        rate = ""
        if step == "orders" and previous:  # conversion: orders per unique visitor
            rate = f" ({value / previous:.0%})"
        label = escape(labels.get(step, step))
        parts.append(
            f'<g class="step" data-step="{step}" data-value="{value}">'
            f"<title>{label}: {value}{escape(rate)}</title>"
            f'<text x="{_LABEL_W - 8}" y="{y + 18}" text-anchor="end" fill="#374151">{label}</text>'
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{_num(round(bar_w, 1))}" height="{_ROW_H - 8}" rx="3" '
            f'fill="{colour}"/>'
            f'<text x="{_num(round(_LABEL_W + bar_w + 6, 1))}" y="{y + 18}" fill="#111827" font-weight="600">'
            f"{value}{escape(rate)}</text></g>"
        )
        if step == "unique_visitors":
            previous = value
        y += _ROW_H
    desc = ", ".join(f"{labels.get(step, step)} {values[step]}" for step in (*FUNNEL_STEPS, "bot_hits"))
    return _svg("funnel", width, y + 6, title, desc, "".join(parts))


def gmv_svg(
    days: Sequence[Mapping[str, Any]],
    *,
    currency: str,
    title: str = "GMV",
    empty: str = "No sales in this range",
    width: int = 640,
    height: int = 220,
) -> Markup:
    """GMV per day in ``currency`` as bars (a time series' ``days``), with the top value and dates on the axes."""
    values = [int((day.get("gmv") or {}).get(currency, 0)) for day in days]
    left, right, top_pad, axis_h = 64, 8, 14, 22
    plot_w, plot_h = width - left - right, height - top_pad - axis_h
    bottom = top_pad + plot_h
    peak = max([*values, 0])
    parts = [
        f'<line class="axis" x1="{left}" y1="{bottom}" x2="{width - right}" y2="{bottom}" stroke="#9ca3af"/>',
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end" fill="#6b7280">'
        f"{escape(money(peak, currency))}</text>",
        f'<text x="{left - 6}" y="{bottom}" text-anchor="end" fill="#6b7280">0</text>',
        f'<line x1="{left}" y1="{top_pad}" x2="{width - right}" y2="{top_pad}" stroke="#f1f5f9"/>',
    ]
    count = max(len(days), 1)
    slot = plot_w / count
    bar_w = max(min(slot * 0.7, 40), 1.0)
    for index, (day, value) in enumerate(zip(days, values, strict=True)):
        x = left + index * slot + (slot - bar_w) / 2
        h = value / peak * plot_h if peak else 0
        label = f"{day.get('date')}: {money(value, currency)} {currency}, {int(day.get('orders') or 0)}"
        date = escape(str(day.get("date")))
        parts.append(
            f'<rect class="bar" data-date="{date}" data-value="{value}" x="{_num(round(x, 1))}" '
            f'y="{_num(round(bottom - h, 1))}" width="{_num(round(bar_w, 1))}" height="{_num(round(h, 1))}" '
            f'fill="{BAR_COLOUR}"><title>{escape(label)}</title></rect>'
        )
    ticks = sorted({0, (len(days) - 1) // 2, len(days) - 1}) if days else []
    for index in ticks:
        x = left + index * slot + slot / 2
        anchor = "start" if index == 0 and len(days) > 1 else ("end" if index == len(days) - 1 and index else "middle")
        parts.append(
            f'<text class="tick" x="{_num(round(x, 1))}" y="{height - 6}" text-anchor="{anchor}" fill="#6b7280">'
            f"{escape(str(days[index].get('date')))}</text>"
        )
    if not peak:
        parts.append(
            f'<text class="empty" x="{left + plot_w / 2}" y="{top_pad + plot_h / 2}" text-anchor="middle" '
            f'fill="#6b7280">{escape(empty)}</text>'
        )
    desc = f"{len(days)} days, {money(sum(values), currency)} {currency} in total"
    return _svg("gmv-chart", width, height, title, desc, "".join(parts))
