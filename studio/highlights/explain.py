"""A highlight's readable reason; the :class:`Highlight` record itself lives in :mod:`studio.highlights.record`.

For example: "orders 4.2x baseline at 12:31, chat 3.1x, host said 上链接".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from studio.highlights.record import Highlight as Highlight  # re-exported
from studio.highlights.record import clock as clock
from studio.signals.base import Signal
from studio.signals.sidedata import phrase_priority

MIN_SHARE = 0.08  # signals below this share of the score are not named in the reason
MIN_RATIO = 1.5
MIN_DB = 3.0


def _slice(signal: Signal, start: float, end: float) -> tuple[np.ndarray, int]:
    lo = int(np.clip(np.floor(start * signal.hz), 0, len(signal.values) - 1))
    hi = int(np.clip(np.ceil(end * signal.hz), lo + 1, len(signal.values)))
    return signal.values[lo:hi], lo


def describe(signal: Signal, start: float, end: float, *, first_ratio: bool, phrases: Sequence[str]) -> str | None:
    """One reason fragment for ``signal`` inside ``[start, end]``, or ``None`` if nothing notable fired."""
    window, lo = _slice(signal, start, end)
    if signal.unit == "x":
        top = int(np.argmax(window))
        ratio = float(window[top])
        if ratio < MIN_RATIO:
            return None
        at = f" at {clock((lo + top) / signal.hz)}" if first_ratio else ""
        return f"{signal.name} {ratio:.1f}x baseline{at}" if first_ratio else f"{signal.name} {ratio:.1f}x"
    if signal.unit == "dB":
        rise = float(window.max()) - float(np.median(signal.values))
        return f"{signal.name} +{rise:.0f} dB" if rise >= MIN_DB else None
    if signal.unit == "hits":
        said = [label for t, label in signal.events if start <= t <= end]
        if not said:
            return None
        best = min(said, key=lambda label: phrase_priority(label, phrases))
        return "host said " + ", ".join(best.split("、")[:2])
    if signal.name == "scenes":
        count = sum(1 for t, _ in signal.events if start <= t <= end)
        return f"{count} scene change{'s' if count != 1 else ''}" if count else None
    if signal.unit == "prob":
        return "host speaking" if float(window.mean()) >= 0.5 else None
    return None


def build_reason(
    signals: Mapping[str, Signal],
    contributions: Mapping[str, float],
    start: float,
    end: float,
    *,
    phrases: Sequence[str],
) -> str:
    """The signals that fired in the window, strongest contribution first."""
    parts: list[str] = []
    first_ratio = True
    for name, share in sorted(contributions.items(), key=lambda item: -item[1]):
        signal = signals.get(name)
        if signal is None or not signal.available:
            continue
        if share < MIN_SHARE and signal.unit != "hits":
            continue
        text = describe(signal, start, end, first_ratio=first_ratio, phrases=phrases)
        if text:
            parts.append(text)
            first_ratio = first_ratio and signal.unit != "x"
    return ", ".join(parts) if parts else "highest combined score"
