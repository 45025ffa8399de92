"""Highlight detection: the :func:`detect_highlights` facade (PySceneDetect's ``detect()`` is the model).

Re-exported by :mod:`studio.highlights`.

Signals come from the detectors in :mod:`studio.signals`; a weight preset scores them; windows are
picked, snapped to speech pauses, tagged with a SKU and explained. Locked (manual) highlights win.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from studio.highlights.explain import Highlight, build_reason
from studio.highlights.presets import TAGGING_SIGNALS, renormalise, resolve_weights
from studio.highlights.select import Pick, Scores, SelectionParams, normalise, pick_windows, score_curve
from studio.signals.base import AnalysisError, AnalysisInput, Signal, get_detector

__all__ = ["HighlightResult", "detect_highlights"]

MENTION_RADIUS = 30.0  # seconds around the peak searched for a transcript mention of a product
PEAK_RADIUS = 2.0  # a highlight's score is the mean score within this many seconds of its peak


@dataclass
class HighlightResult:
    """Highlights sorted by start; the signals used; missing weighted signals (name -> note); warnings."""

    highlights: list[Highlight]
    signals: dict[str, Signal]
    missing: dict[str, str]
    warnings: list[str]
    hz: float
    weights: dict[str, float] = field(default_factory=dict)
    score: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary: highlights, missing signals, warnings, weights and each signal's status."""
        return {
            "highlights": [h.to_dict() for h in self.highlights],
            "signals": {
                name: {"available": s.available, "note": s.note, "unit": s.unit} for name, s in self.signals.items()
            },
            "missing": dict(self.missing),
            "warnings": list(self.warnings),
            "weights": {k: round(v, 4) for k, v in self.weights.items()},
            "hz": self.hz,
        }

    def series(self, points: int = 600) -> dict[str, list[float]]:
        """Score and each available signal normalised to [0, 1], max-pooled to about ``points`` values.

        For plotting the score timeline; ``"t"`` holds each point's start time in seconds.
        """
        n = len(self.score)
        step = max(1, math.ceil(n / max(1, points)))
        starts = np.arange(0, n, step)

        def pool(values: np.ndarray) -> list[float]:
            return [round(float(v), 4) for v in np.maximum.reduceat(values, starts)] if n else []

        out: dict[str, list[float]] = {"t": [round(float(i) / self.hz, 3) for i in starts] if n else []}
        out["score"] = pool(self.score.astype(np.float64))
        for name, signal in self.signals.items():
            if signal.available and len(signal.values) == n:
                out[name] = pool(normalise(signal.values)[0])
        return out


def _check(clips: int, min_len: float, max_len: float, duration: float, snap_tolerance: float) -> None:
    if clips < 0:
        raise AnalysisError(f"clips must be >= 0, got {clips}")
    if not (math.isfinite(min_len) and math.isfinite(max_len) and 0 < min_len <= max_len):
        raise AnalysisError(f"need 0 < min_len <= max_len, got {min_len!r} and {max_len!r}")
    if snap_tolerance < 0:
        raise AnalysisError(f"snap_tolerance must be >= 0, got {snap_tolerance!r}")
    if min_len > duration:
        raise AnalysisError(f"the recording ({duration:.1f} s) is shorter than min_len ({min_len:g} s)")


def _pauses(signals: Mapping[str, Signal], warnings: list[str]) -> list[tuple[float, float]]:
    voice = signals.get("voice")
    if voice is None or not voice.available:
        warnings.append("no speech pauses known (no voice activity and none given): cut points not snapped")
        return []
    module = importlib.import_module("studio.signals.voice")
    pauses: list[tuple[float, float]] = module.speech_pauses(voice.values, voice.hz)
    return pauses


def _sku(signals: Mapping[str, Signal], pick: Pick) -> str | None:
    """SKU on air at the peak, else the nearest transcript mention, else the most ordered SKU in the window."""
    products = signals.get("products")
    if products is not None and products.available and (sku := products.label_at(pick.peak)):
        return sku
    keywords = signals.get("keywords")
    if keywords is not None and keywords.available and keywords.labels is not None:
        hz, n = keywords.hz, len(keywords.labels)
        lo, hi = max(0, int((pick.peak - MENTION_RADIUS) * hz)), min(n, int((pick.peak + MENTION_RADIUS) * hz) + 1)
        hits = np.flatnonzero(keywords.labels[lo:hi] >= 0)
        if len(hits):
            nearest = lo + int(hits[np.argmin(np.abs(lo + hits - pick.peak * hz))])
            return keywords.label_names[int(keywords.labels[nearest])]
    orders = signals.get("orders")
    if orders is not None and orders.available and orders.labels is not None:
        lo, hi = int(pick.start * orders.hz), int(pick.end * orders.hz) + 1
        codes = orders.labels[lo:hi]
        codes = codes[codes >= 0]
        if len(codes):
            return orders.label_names[int(np.bincount(codes).argmax())]
    return None


def _contributions(scores: Scores, hz: float, peak: float) -> tuple[float, dict[str, float]]:
    lo = max(0, int((peak - PEAK_RADIUS) * hz))
    hi = min(len(scores.score), max(lo + 1, int((peak + PEAK_RADIUS) * hz) + 1))
    parts = {name: w * float(scores.normalised[name][lo:hi].mean()) for name, w in scores.weights.items()}
    total = sum(parts.values())
    shares = {name: (v / total if total > 0 else 0.0) for name, v in parts.items()}
    return float(scores.score[lo:hi].mean()), shares


def detect_highlights(
    inp: AnalysisInput,
    *,
    clips: int = 10,
    preset: str = "sales",
    weights: Mapping[str, float] | None = None,
    min_len: float = 15.0,
    max_len: float = 60.0,
    locked: Sequence[Highlight] = (),
    pauses: Sequence[tuple[float, float]] | None = None,
    snap_tolerance: float = 3.0,
    avoid: Sequence[tuple[float, float]] = (),
) -> HighlightResult:
    """Find up to ``clips`` highlights in ``inp`` (``clips`` counts the locked ones too).

    No automatic highlight overlaps a locked one, nor a window in ``avoid`` (``(start, end)`` in
    seconds: the highlights a merchant dismissed).

    ``weights`` update the preset's (0 switches a signal off). Weighted signals without their data are
    dropped and listed in ``missing``; flat ones are dropped with a warning. ``pauses`` are speech
    pauses ``(start, end)`` in seconds; without them they come from the voice signal, if any.
    Raises :class:`AnalysisError` for bad parameters.
    """
    _check(clips, min_len, max_len, inp.duration, snap_tolerance)
    wanted = resolve_weights(preset, weights)
    names = list(dict.fromkeys([*wanted, *TAGGING_SIGNALS, *(["voice"] if pauses is None else [])]))
    signals: dict[str, Signal] = {}
    for i, name in enumerate(names):
        inp.progress(f"signal {name}", i / len(names))
        signals[name] = get_detector(name).compute(inp)
    inp.progress("select", 1.0)
    warnings = [w for s in signals.values() for w in s.warnings]
    missing = {name: signals[name].note for name in wanted if not signals[name].available}
    usable = set()
    for name in wanted:
        if name in missing:
            continue
        if np.ptp(signals[name].values) <= 1e-9:
            warnings.append(f"{name} is flat ({signals[name].note or 'no variation'}): left out of the score")
        else:
            usable.add(name)
    effective = renormalise(wanted, usable)
    scores = score_curve(signals, effective, inp.ticks)
    if not effective:
        warnings.append(f"no usable signal for preset {preset!r}: no automatic highlights")
    cut_pauses = list(pauses) if pauses is not None else _pauses(signals, warnings)
    params = SelectionParams(max(0, clips - len(locked)), min_len, max_len, snap_tolerance)
    segments = [(s.start, s.end) for s in inp.segments or ()]
    picks = (
        pick_windows(
            scores,
            hz=inp.hz,
            duration=inp.duration,
            params=params,
            taken=[*((h.start, h.end) for h in locked), *avoid],
            segments=segments,
            pauses=cut_pauses,
            anchor=normalise(signals["keywords"].values)[1] if "keywords" in effective else None,
        )
        if effective
        else []
    )
    auto: list[Highlight] = []
    for pick in picks:
        score, shares = _contributions(scores, inp.hz, pick.peak)
        reason = build_reason(signals, shares, pick.start, pick.end, phrases=inp.phrases)
        if cut_pauses and not (pick.snapped_start and pick.snapped_end):
            side = "start" if not pick.snapped_start else "end"
            side = "start and end" if not (pick.snapped_start or pick.snapped_end) else side
            reason += f" ({side} not snapped: no pause within {snap_tolerance:g} s)"
        auto.append(
            Highlight(
                start=round(pick.start, 3),
                end=round(pick.end, 3),
                score=score,
                sku=_sku(signals, pick),
                peak=round(pick.peak, 3),
                contributions=shares,
                reason=reason,
                snapped=(pick.snapped_start, pick.snapped_end),
            )
        )
    order = sorted(range(len(auto)), key=lambda i: -auto[i].score)
    ranked = [_with_rank(auto[i], rank) for rank, i in enumerate(order, 1)]
    highlights = sorted([*locked, *ranked], key=lambda h: (h.start, h.end))
    return HighlightResult(highlights, signals, missing, warnings, inp.hz, effective, scores.score.astype(np.float32))


def _with_rank(h: Highlight, rank: int) -> Highlight:
    return replace(h, rank=rank)
