"""The :class:`Highlight` record and its readable reason.

For example: "orders 4.2x baseline at 12:31, chat 3.1x, host said 上链接".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from studio.signals.base import AnalysisError, Signal
from studio.signals.sidedata import phrase_priority

MIN_SHARE = 0.08  # signals below this share of the score are not named in the reason
MIN_RATIO = 1.5
MIN_DB = 3.0


@dataclass(frozen=True)
class Highlight:
    """A clip candidate. ``source`` is ``"auto"`` or ``"manual"``; locked ones survive re-detection verbatim."""

    start: float
    end: float
    score: float = 0.0
    rank: int = 0
    sku: str | None = None
    peak: float | None = None
    contributions: dict[str, float] = field(default_factory=dict)
    reason: str = ""
    snapped: tuple[bool, bool] = (False, False)
    locked: bool = False
    source: str = "auto"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end) and 0 <= self.start < self.end):
            raise AnalysisError(f"a highlight needs 0 <= start < end, got {self.start!r}..{self.end!r}")
        if self.source not in ("auto", "manual"):
            raise AnalysisError(f"highlight source must be 'auto' or 'manual', got {self.source!r}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlaps(self, start: float, end: float) -> bool:
        return self.start < end and start < self.end

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the schema the CLI's ``--json`` and the API use)."""
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "score": round(self.score, 4),
            "rank": self.rank,
            "sku": self.sku,
            "peak": None if self.peak is None else round(self.peak, 3),
            "contributions": {k: round(v, 4) for k, v in self.contributions.items()},
            "reason": self.reason,
            "snapped": {"start": self.snapped[0], "end": self.snapped[1]},
            "locked": self.locked,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Highlight:
        snapped = data.get("snapped") or {}
        peak = data.get("peak")
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            score=float(data.get("score", 0.0)),
            rank=int(data.get("rank", 0)),
            sku=data.get("sku"),
            peak=None if peak is None else float(peak),
            contributions={str(k): float(v) for k, v in (data.get("contributions") or {}).items()},
            reason=str(data.get("reason", "")),
            snapped=(bool(snapped.get("start", False)), bool(snapped.get("end", False))),
            locked=bool(data.get("locked", False)),
            source=str(data.get("source", "auto")),
        )


def clock(seconds: float) -> str:
    """``M:SS`` (or ``H:MM:SS``) for a time in the recording."""
    total = round(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


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
