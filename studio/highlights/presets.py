"""Weight presets, and how weights meet the signals a run actually has (no numpy until weights are checked)."""

from __future__ import annotations

import math
from collections.abc import Mapping

from studio.errors import AnalysisError

WEIGHT_PRESETS: dict[str, dict[str, float]] = {
    # What sold: orders and chat first, then what the host said; loudness only as a tie-breaker.
    "sales": {"orders": 0.35, "chat": 0.2, "keywords": 0.2, "gifts": 0.1, "loudness": 0.1},
    # What the audience reacted to.
    "engagement": {"chat": 0.35, "gifts": 0.25, "loudness": 0.25, "keywords": 0.1, "orders": 0.05},
    # No side data at all: loudness, voice activity, scene changes.
    "audio-only": {"loudness": 0.7, "voice": 0.15, "scenes": 0.15},
}
TAGGING_SIGNALS = ("products", "keywords", "orders")  # computed even when unweighted, to tag SKUs


def resolve_weights(preset: str, weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """The preset's weights, updated by ``weights`` (a custom weight of 0 switches a signal off)."""
    if preset not in WEIGHT_PRESETS:
        raise AnalysisError(f"unknown preset {preset!r} (choose from {', '.join(WEIGHT_PRESETS)})")
    merged = dict(WEIGHT_PRESETS[preset])
    if not weights:
        return {name: w for name, w in merged.items() if w > 0}
    from studio.signals.base import registry  # the detectors (and numpy) only when custom weights are checked

    known = registry()
    for name, value in (weights or {}).items():
        if name not in known:
            raise AnalysisError(f"unknown signal {name!r} in weights (known: {', '.join(sorted(known))})")
        weight = float(value)
        if not (math.isfinite(weight) and weight >= 0):
            raise AnalysisError(f"weight of {name!r} must be a finite number >= 0, got {value!r}")
        merged[name] = weight
    return {name: w for name, w in merged.items() if w > 0}


def renormalise(weights: Mapping[str, float], usable: set[str]) -> dict[str, float]:
    """Weights of the usable signals only, scaled to sum to 1 (empty when none is usable)."""
    kept = {name: w for name, w in weights.items() if name in usable and w > 0}
    total = sum(kept.values())
    return {name: w / total for name, w in kept.items()} if total > 0 else {}
