"""Snap a window's cut points to speech pauses, so no clip starts or ends inside a word."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

EPS = 1e-6


@dataclass(frozen=True)
class Snapped:
    start: float
    end: float
    snapped_start: bool
    snapped_end: bool


def pause_midpoints(pauses: Sequence[tuple[float, float]]) -> np.ndarray:
    """Sorted midpoints of the well-formed pauses."""
    mids = [(a + b) / 2.0 for a, b in pauses if b >= a]
    return np.sort(np.asarray(mids, dtype=np.float64))


def _near(mids: np.ndarray, t: float, tolerance: float) -> np.ndarray:
    lo, hi = np.searchsorted(mids, [t - tolerance - EPS, t + tolerance + EPS])
    return mids[lo:hi]


def snap_window(
    start: float,
    end: float,
    peak: float,
    mids: np.ndarray,
    *,
    bounds: tuple[float, float],
    min_len: float,
    max_len: float,
    tolerance: float,
) -> Snapped:
    """Move ``start``/``end`` to pause midpoints within ``tolerance`` seconds of where they are wanted.

    An end is wanted at the planned end, held to the length limits for the chosen start (and a start
    likewise for a snapped end), so a window at its minimum length can still snap outwards. The result
    stays inside ``bounds``, keeps ``peak`` inside, and keeps its length within ``[min_len, max_len]``.
    Both sides snapped beats one, which beats none; among equals the smallest total move wins. A side
    with no reachable pause keeps its cut and reports ``False``.
    """
    lo, hi = bounds

    def fits(s: float, e: float) -> bool:
        return lo - EPS <= s <= peak and peak <= e <= hi + EPS and min_len - EPS <= e - s <= max_len + EPS

    def options(near: float) -> list[tuple[float, bool]]:
        return [(float(m), True) for m in _near(mids, near, tolerance)]

    pairs: set[tuple[float, bool, float, bool]] = set()
    for s, s_ok in [*options(start), (start, False)]:
        # The end wanted for this start: the planned end, held to the length limits.
        want = min(max(end, s + min_len), s + max_len)
        pairs.update((s, s_ok, e, e_ok) for e, e_ok in [*options(want), (want, False), (end, False)])
    for e, e_ok in options(end):
        want = min(max(start, e - max_len), e - min_len)
        pairs.update((s, s_ok, e, e_ok) for s, s_ok in [*options(want), (want, False), (start, False)])
    best: tuple[int, float, float, float] | None = None
    choice = Snapped(start, end, False, False)
    for s, s_ok, e, e_ok in pairs:
        if not fits(s, e):
            continue
        key = (-(int(s_ok) + int(e_ok)), abs(s - start) + abs(e - end), s, e)
        if best is None or key < best:
            best, choice = key, Snapped(s, e, s_ok, e_ok)
    return choice
