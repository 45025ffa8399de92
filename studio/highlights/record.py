"""The :class:`Highlight` record: plain data, importable without numpy (the API and the store read it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.errors import AnalysisError

__all__ = ["Highlight", "clock"]


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
