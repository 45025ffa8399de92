"""One analysis run without a database: its validated parameters, the detection call and its progress.

The CLI's file mode needs only this; the analyze job (:mod:`pipeline.analysis`) builds on it, adding the job
row, the heartbeat and the stored highlights (and the SQLAlchemy import that comes with them). numpy loads
when a run detects, not on import, so the API can validate parameters cheaply.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.errors import AnalysisError
from studio.highlights.presets import TAGGING_SIGNALS, WEIGHT_PRESETS, resolve_weights

if TYPE_CHECKING:
    from studio.highlights.detect import HighlightResult
    from studio.highlights.record import Highlight
    from studio.signals.base import AnalysisInput

__all__ = [
    "DEFAULT_PARAMS",
    "DETECT_SHARE",
    "LOAD_SHARE",
    "MAX_CLIPS",
    "DetectionProgress",
    "ProgressCallback",
    "analysis_params",
    "run_detection",
    "signal_cache_dir",
    "signal_count",
]

DEFAULT_PARAMS: dict[str, Any] = {
    "clips": 10,
    "preset": "sales",
    "weights": {},
    "min_len": 15.0,
    "max_len": 60.0,
    "scenes": False,
}
MAX_CLIPS = 200
LOAD_SHARE, DETECT_SHARE = 0.05, 0.9  # of a run's progress bar; saving takes the rest

ProgressCallback = Callable[[str, float], None]


def analysis_params(
    *,
    clips: int = 10,
    preset: str = "sales",
    weights: Mapping[str, float] | None = None,
    min_len: float = 15.0,
    max_len: float = 60.0,
    scenes: bool = False,
    duration: float | None = None,
) -> dict[str, Any]:
    """Validated, JSON-safe parameters of one run (a job's options, an analysis's params).

    Raises :class:`AnalysisError` naming the problem: unknown preset or signal, bad weight or lengths.
    """
    if not 0 <= clips <= MAX_CLIPS:
        raise AnalysisError(f"clips must be 0..{MAX_CLIPS}, got {clips}")
    if preset not in WEIGHT_PRESETS:
        raise AnalysisError(f"unknown preset {preset!r} (choose from {', '.join(WEIGHT_PRESETS)})")
    resolve_weights(preset, weights)
    min_len, max_len = float(min_len), float(max_len)
    if not (math.isfinite(min_len) and math.isfinite(max_len) and 0 < min_len <= max_len):
        raise AnalysisError(f"need 0 < min_len <= max_len, got {min_len:g} and {max_len:g}")
    if duration is not None and min_len > duration:
        raise AnalysisError(f"the recording ({duration:.1f} s) is shorter than min_len ({min_len:g} s)")
    return {
        "clips": int(clips),
        "preset": preset,
        "weights": {str(k): float(v) for k, v in (weights or {}).items()},
        "min_len": min_len,
        "max_len": max_len,
        "scenes": bool(scenes),
    }


def run_detection(
    inp: AnalysisInput,
    params: Mapping[str, Any],
    locked: Sequence[Highlight] = (),
    avoid: Sequence[tuple[float, float]] = (),
) -> HighlightResult:
    """``detect_highlights`` with a run's parameters (see :func:`analysis_params`); ``avoid``: dismissed windows."""
    from studio.highlights.detect import detect_highlights  # numpy only when a run detects

    inp.scene_detection = bool(params.get("scenes", False))
    return detect_highlights(
        inp,
        clips=int(params["clips"]),
        preset=str(params["preset"]),
        weights=params.get("weights") or None,
        min_len=float(params["min_len"]),
        max_len=float(params["max_len"]),
        locked=locked,
        avoid=avoid,
    )


def signal_cache_dir(media_root: Path) -> Path:
    """Where signal arrays are cached (per file, mtime and parameters) under a media root."""
    return media_root / "cache" / "signals"


def signal_count(params: Mapping[str, Any]) -> int:
    """How many signals ``detect_highlights`` computes for ``params`` (weighted, SKU tagging, voice)."""
    wanted = resolve_weights(str(params["preset"]), params.get("weights") or None)
    return len({*wanted, *TAGGING_SIGNALS, "voice"})


class DetectionProgress:
    """Maps detector progress onto one rising fraction for ``callback`` (``signals``: how many are computed)."""

    def __init__(self, callback: ProgressCallback | None, signals: int) -> None:
        self.callback = callback
        self.step = 1.0 / max(1, signals)  # share of detection taken by one signal
        self.signal_start = 0.0
        self.done = 0.0

    def __call__(self, stage: str, fraction: float, *, force: bool = False) -> None:
        self.done = max(self.done, min(1.0, fraction))
        if self.callback is not None:
            self.callback(stage, self.done)

    def detector(self, stage: str, fraction: float) -> None:
        """``AnalysisInput.on_progress``: "signal X" steps, "audio" decode fractions within a step, "select"."""
        if stage.startswith("signal "):
            self.signal_start = fraction
        elif stage == "audio":
            fraction = self.signal_start + self.step * min(1.0, max(0.0, fraction))
        self(stage, LOAD_SHARE + DETECT_SHARE * min(1.0, fraction))
