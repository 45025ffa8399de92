"""Media detectors: loudness, voice activity and scene changes, wrapping :mod:`studio.signals.audio` and
:mod:`studio.signals.scenes` (imported lazily, so the framework imports without decoding anything).

Loudness and voice share one streamed audio decode per run (memoised on the :class:`AnalysisInput`).
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from studio.errors import MediaError
from studio.signals.base import AnalysisInput, Detector, Signal, register
from studio.signals.sidedata import centred_mean

_AUDIO_KEY = "media.audio"


def fit_ticks(values: np.ndarray, n: int, fill: float) -> np.ndarray:
    """``values`` cut or padded (with ``fill``) to exactly ``n`` ticks."""
    out = np.full(n, fill, dtype=np.float32)
    m = min(n, len(values))
    out[:m] = values[:m]
    return out


def _audio(inp: AnalysisInput) -> Any | str:
    """The run's :class:`AudioFeatures`, or a note saying why there are none."""
    if _AUDIO_KEY in inp.memo:
        return inp.memo[_AUDIO_KEY]
    result: Any
    if inp.audio is not None:
        result = inp.audio
    elif inp.media_path is None:
        result = "no recording given"
    else:
        audio = importlib.import_module("studio.signals.audio")
        try:
            result = audio.analyze_audio(
                inp.media_path,
                hz=inp.hz,
                cache_dir=inp.cache_dir,
                on_progress=lambda f: inp.progress("audio", f),
                duration_hint=inp.duration,
            )
        except MediaError as err:
            if err.code == "not_found":
                raise
            result = f"audio unusable: {err}"
    inp.memo[_AUDIO_KEY] = result
    return result


@register
class LoudnessDetector(Detector):
    """RMS loudness in dBFS, smoothed over half a second."""

    name = "loudness"
    requires = "media"

    def compute(self, inp: AnalysisInput) -> Signal:
        features = _audio(inp)
        if isinstance(features, str):
            return Signal.unavailable(self.name, inp.ticks, inp.hz, features, unit="dB")
        loud = fit_ticks(np.asarray(features.loudness), inp.ticks, -90.0)
        # Average power, not decibels, so one loud tick is not diluted by silence.
        power = centred_mean(10.0 ** (loud.astype(np.float64) / 10.0), max(1, round(inp.hz / 2)))
        values = (10.0 * np.log10(np.maximum(power, 1e-9))).astype(np.float32)
        return Signal(self.name, values, inp.hz, unit="dB")


@register
class VoiceDetector(Detector):
    """Speech probability per tick (used for snapping cut points to pauses, and lightly for scoring)."""

    name = "voice"
    requires = "media"

    def compute(self, inp: AnalysisInput) -> Signal:
        features = _audio(inp)
        if isinstance(features, str):
            return Signal.unavailable(self.name, inp.ticks, inp.hz, features, unit="prob")
        values = fit_ticks(np.asarray(features.voice), inp.ticks, 0.0)
        return Signal(self.name, values, inp.hz, unit="prob")


@register
class ScenesDetector(Detector):
    """Shot/scene change strength in [0, 1]; optional per run because it costs a video decode."""

    name = "scenes"
    requires = "media"

    def compute(self, inp: AnalysisInput) -> Signal:
        if not inp.scene_detection:
            return Signal.unavailable(self.name, inp.ticks, inp.hz, "scene detection off", unit="flag")
        if inp.media_path is None:
            return Signal.unavailable(self.name, inp.ticks, inp.hz, "no recording given", unit="flag")
        try:
            scenes = importlib.import_module("studio.signals.scenes")
        except ModuleNotFoundError as err:
            if err.name != "studio.signals.scenes":
                raise
            return Signal.unavailable(self.name, inp.ticks, inp.hz, "scene detection not installed", unit="flag")
        changes = scenes.scene_changes(inp.media_path, hz=inp.hz, cache_dir=inp.cache_dir)
        values = fit_ticks(np.asarray(changes, dtype=np.float32), inp.ticks, 0.0)
        events = [(float(t) / inp.hz, "scene change") for t in np.flatnonzero(values >= 0.5)]
        return Signal(self.name, values, inp.hz, unit="flag", events=events)
