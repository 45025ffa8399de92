"""Voice activity over background music, and the speech pauses that cut points snap to.

Pure array transforms over per-tick features (no decoding here). Music under a live stream is
steady in level and spectrum over a few seconds, while speech keeps lifting the speech-band
energies above that floor and changes them from one 25 ms frame to the next. So:

1. per band, the music floor is the minimum over a sliding window of a few seconds;
2. ``excess`` = how far the tick rises above that floor, at a low percentile over the bands
   (speech lifts most of them; a music note, a few);
3. ``flux`` (frame-to-frame spectral change) is averaged over about one syllable (a steady
   vowel nucleus changes little within one tick, the syllable around it a lot), then
   normalised against the recording's own quiet level (a low percentile, but never below the
   frame-to-frame jitter of a steady soundtrack), so a louder or busier soundtrack raises the bar;
4. both go through a logistic into a probability, which a 3-tick median rids of single-tick
   blips and a hysteresis keeps from flickering at the edges of words.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["hysteresis", "speech_pauses", "voice_activity"]

FLOOR_WINDOW_S = 3.0
EXCESS_BAND_PERCENTILE = 40  # a band percentile, so music notes lifting a few bands do not count
EXCESS_DB_MID = 4.0  # excess over the music floor at which speech is 50% likely
EXCESS_DB_SCALE = 1.5
FLUX_MID = 1.6  # flux, relative to the recording's quiet flux, at which speech is 50% likely
FLUX_SCALE = 0.25
FLUX_WINDOW_S = 0.3  # flux is averaged over about one syllable (centred)
# The quiet-flux reference never drops below this (dB): with little speech in a recording, its 10th
# percentile falls between the beats of the music, and every beat would then look like speech.
QUIET_FLUX_MIN = 1.2
HANGOVER_S = 0.0  # extra ticks of speech after each spoken tick (tick quantisation already pads)
HYST_HIGH, HYST_LOW = 0.6, 0.4


def _sliding_min(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running minimum along axis 0 (edges padded with the edge value)."""
    half = width // 2
    padded = np.pad(values, [(half, half)] + [(0, 0)] * (values.ndim - 1), mode="edge")
    return sliding_window_view(padded, width, axis=0).min(axis=-1)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))).astype(np.float32)


def _centred_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Centred running mean of a 1-D array over ``width`` (odd) ticks, edges padded with the edge value."""
    if width <= 1 or values.size == 0:
        return values
    half = width // 2
    return sliding_window_view(np.pad(values, half, mode="edge"), width).mean(axis=-1)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius <= 0 or mask.size == 0:
        return mask
    padded = np.pad(mask, radius)
    return sliding_window_view(padded, 2 * radius + 1).max(axis=-1)


def voice_activity(bands: np.ndarray, flux: np.ndarray, hz: float) -> np.ndarray:
    """Probability per tick ([0,1], float32) that someone is speaking.

    ``bands``: (ticks, n) speech-band energies in dB; ``flux``: (ticks,) spectral flux in dB.
    """
    n = bands.shape[0]
    if n == 0:
        return np.zeros(0, np.float32)
    width = max(3, round(FLOOR_WINDOW_S * hz) | 1)
    floor = _sliding_min(bands, width)
    excess = np.percentile(np.clip(bands - floor, 0.0, 20.0), EXCESS_BAND_PERCENTILE, axis=1)
    quiet_flux = max(float(np.percentile(flux, 10)), QUIET_FLUX_MIN)
    rel_flux = _centred_mean(flux, max(1, round(FLUX_WINDOW_S * hz)) | 1) / quiet_flux
    level = _sigmoid((excess - EXCESS_DB_MID) / EXCESS_DB_SCALE)
    change = _sigmoid((rel_flux - FLUX_MID) / FLUX_SCALE)
    prob = np.sqrt(level * change)
    if n >= 3:  # 3-tick median removes single-tick blips (a drum hit, a click)
        prob = np.median(sliding_window_view(np.pad(prob, 1, mode="edge"), 3), axis=-1)
    hang = round(HANGOVER_S * hz)
    held = _dilate(prob, hang)
    speaking = hysteresis(held, HYST_HIGH, HYST_LOW)  # keep the 0.5 crossing consistent with the hysteresis state
    out = np.where(speaking, np.maximum(held, 0.5), np.minimum(held, 0.49))
    return np.asarray(out, dtype=np.float32)


def hysteresis(prob: np.ndarray, high: float, low: float) -> np.ndarray:
    """Boolean speech mask: on above ``high``, stays on until it drops below ``low``."""
    above, below = prob >= high, prob < low
    state = np.full(prob.shape, -1, np.int64)
    state[above] = 1
    state[below] = 0
    idx = np.where(state >= 0, np.arange(prob.size), 0)
    np.maximum.accumulate(idx, out=idx)
    return state[idx] == 1  # before the first decision, state[0] is -1: not speech


def speech_pauses(
    voice: np.ndarray, hz: float, *, min_pause: float = 0.25, threshold: float = 0.5
) -> list[tuple[float, float]]:
    """(start, end) seconds of every run of ticks with ``voice < threshold`` lasting ``min_pause`` or more.

    Runs that touch the start or end of the recording count as pauses too.
    """
    quiet = np.asarray(voice) < threshold
    if quiet.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    min_ticks = min_pause * hz - 1e-9
    return [(s / hz, e / hz) for s, e in zip(starts, ends, strict=True) if e - s >= min_ticks]
