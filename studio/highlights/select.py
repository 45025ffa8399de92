"""Scoring and window selection: normalise each signal, weight, then pick non-overlapping windows.

Windows grow around score peaks while the score stays above half the peak, are held within
``[min_len, max_len]``, stay inside their product segment when it is long enough, never overlap each
other or the locked (manual) highlights, and are snapped to speech pauses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from studio.highlights.snap import pause_midpoints, snap_window
from studio.signals.base import Signal

GROW_THRESHOLD = 0.5  # a window grows while score >= this fraction of its peak score
LEAD_SECONDS = 5.0  # context kept before the peak when the window allows it
ANCHOR_LOOKBACK = 8.0  # seconds before a response peak searched for its call to action
ANCHOR_LOOKAHEAD = 3.0  # ...and after it (the score may peak just before the call ends)
ANCHOR_MIN = 0.75  # normalised anchor (keywords) value that counts as a call to action
TIE_BREAK = 1e-3  # weight of the unclipped score when locating a peak inside a clipped plateau
MIN_PEAK = 1e-6
PEAK_GAP = 5.0  # seconds around a chosen window where no other peak may be picked (at least min_len / 2)


def normalise(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Robust per-recording scaling: ``(x - median) / (p99 - median)``, clipped to [0, 1].

    Also returns the unclipped (>= 0) version, used only to break ties inside clipped plateaus.
    Falls back to the maximum when p99 equals the median; a flat signal becomes all zeros.
    """
    x = np.asarray(values, dtype=np.float64)
    med = float(np.median(x))
    scale = float(np.quantile(x, 0.99)) - med
    if scale <= 1e-12:
        scale = float(x.max()) - med
    if scale <= 1e-12:
        zeros = np.zeros_like(x)
        return zeros, zeros
    raw = np.maximum((x - med) / scale, 0.0)
    return np.minimum(raw, 1.0), raw


@dataclass
class Scores:
    """The weighted score curve, its tie-breaking twin, and each weighted signal normalised."""

    score: np.ndarray
    peak_curve: np.ndarray
    normalised: dict[str, np.ndarray]
    weights: dict[str, float]


def score_curve(signals: Mapping[str, Signal], weights: Mapping[str, float], n: int) -> Scores:
    """Weighted sum of the normalised signals (``weights`` already renormalised over usable ones)."""
    score = np.zeros(n, dtype=np.float64)
    fine = np.zeros(n, dtype=np.float64)
    normalised: dict[str, np.ndarray] = {}
    for name, weight in weights.items():
        clipped, raw = normalise(signals[name].values)
        normalised[name] = clipped
        score += weight * clipped
        fine += weight * raw
    return Scores(score, score + TIE_BREAK * fine, normalised, dict(weights))


@dataclass(frozen=True)
class Pick:
    """A chosen window in seconds, with its peak and whether each side landed on a pause."""

    start: float
    end: float
    peak: float
    snapped_start: bool
    snapped_end: bool


@dataclass(frozen=True)
class SelectionParams:
    clips: int
    min_len: float
    max_len: float
    snap_tolerance: float = 3.0


class _Picker:
    """Greedy window picking over one score curve."""

    def __init__(
        self,
        scores: Scores,
        hz: float,
        duration: float,
        params: SelectionParams,
        taken: Sequence[tuple[float, float]],
        segments: Sequence[tuple[float, float]],
        pauses: Sequence[tuple[float, float]],
        anchor: np.ndarray | None,
    ) -> None:
        self.anchor = anchor
        self.score, self.curve = scores.score, scores.peak_curve
        self.hz, self.duration, self.p = hz, duration, params
        self.taken = sorted((float(a), float(b)) for a, b in taken)
        self.segments = sorted((float(a), float(b)) for a, b in segments if b > a)
        self.mids = pause_midpoints(pauses)
        self.n = len(self.score)
        self.blocked = np.zeros(self.n, dtype=bool)
        for a, b in self.taken:
            self._block(a, b)
        self.picks: list[Pick] = []

    def _tick(self, seconds: float) -> int:
        return int(np.clip(np.floor(seconds * self.hz + 1e-9), 0, self.n))

    def _block(self, a: float, b: float) -> None:
        self.blocked[self._tick(a) : max(self._tick(b), self._tick(a) + 1)] = True

    def _gap(self, t: float) -> tuple[float, float] | None:
        lo, hi = 0.0, self.duration
        for a, b in self.taken:
            if a < t < b or (a == b == t):
                return None
            if b <= t:
                lo = max(lo, b)
            elif a >= t:
                hi = min(hi, a)
        return lo, hi

    def _bounds(self, t: float) -> tuple[float, float] | None:
        gap = self._gap(t)
        if gap is None or gap[1] - gap[0] < self.p.min_len - 1e-9:
            return None
        for a, b in self.segments:
            if a <= t < b:
                inner = (max(gap[0], a), min(gap[1], b))
                if inner[1] - inner[0] >= self.p.min_len:
                    return inner
        return gap

    def _shape(self, p_tick: int, m_tick: int, lo: float, hi: float) -> tuple[float, float]:
        """Grow around the score peak, take in the moment, hold the length in [min_len, max_len] in [lo, hi]."""
        peak = (m_tick + 0.5) / self.hz
        lo_t, hi_t = self._tick(lo), max(self._tick(hi), self._tick(lo) + 1)
        below = self.score < GROW_THRESHOLD * self.score[p_tick]
        left = np.flatnonzero(below[lo_t:p_tick])
        right = np.flatnonzero(below[p_tick:hi_t])
        a = (lo_t + left[-1] + 1) / self.hz if len(left) else lo
        b = (p_tick + right[0]) / self.hz if len(right) else hi
        a, b = max(min(a, peak - 0.5), lo), min(max(b, peak + 0.5), hi)
        if b - a > self.p.max_len:
            a, b = self._best_span(m_tick, p_tick, a, b, self.p.max_len)
        if b - a < self.p.min_len:
            need = self.p.min_len - (b - a)
            a, b = a - 0.6 * need, b + 0.4 * need
            a, b = self._fit(a, b, lo, hi)
        lead = min(LEAD_SECONDS, 0.25 * (b - a))
        if peak - a < lead:
            shift = min(lead - (peak - a), a - lo, max(0.0, b - peak - 1.0))
            a, b = a - shift, b - shift
        return a, b

    def _fit(self, a: float, b: float, lo: float, hi: float) -> tuple[float, float]:
        if a < lo:
            a, b = lo, b + (lo - a)
        if b > hi:
            a, b = max(lo, a - (b - hi)), hi
        return a, b

    def _best_span(self, m_tick: int, p_tick: int, a: float, b: float, length: float) -> tuple[float, float]:
        """The ``length``-second span inside [a, b] holding ticks ``m_tick`` and ``p_tick``, best score sum."""
        width = max(1, round(length * self.hz))
        first = max(self._tick(a), max(m_tick, p_tick) - width + 1)
        last = max(first, min(m_tick, p_tick, self._tick(b) - width))
        csum = np.concatenate([[0.0], np.cumsum(self.score)])
        starts = np.arange(first, last + 1)
        ends = np.minimum(starts + width, self.n)
        best = int(starts[np.argmax(csum[ends] - csum[starts])])
        start = max(a, best / self.hz)
        return start, min(b, start + length)

    def _moment(self, p_tick: int) -> int:
        """The call to action behind a response peak: the strongest anchor run shortly before ``p_tick``.

        Orders and chat answer the host seconds later; when the anchor (transcript keywords) is strong
        from ``ANCHOR_LOOKBACK`` s before the peak to ``ANCHOR_LOOKAHEAD`` s after, the moment is the start of
        its strongest run.
        """
        if self.anchor is None:
            return p_tick
        lo = max(0, p_tick - int(ANCHOR_LOOKBACK * self.hz))
        region = self.anchor[lo : min(self.n, p_tick + int(ANCHOR_LOOKAHEAD * self.hz) + 1)]
        if not len(region) or float(region.max()) < ANCHOR_MIN:
            return p_tick
        tops = np.flatnonzero(region >= region.max() - 1e-9)
        j = int(tops[np.argmin(np.abs(lo + tops - p_tick))])
        while j > 0 and region[j - 1] >= region.max() - 1e-9:
            j -= 1
        return lo + j

    def try_peak(self, p_tick: int) -> bool:
        bounds = self._bounds((p_tick + 0.5) / self.hz)
        if bounds is None:
            return False
        m_tick = self._moment(p_tick)
        moment = (m_tick + 0.5) / self.hz
        if not bounds[0] <= moment <= bounds[1] or self.blocked[m_tick]:
            m_tick, moment = p_tick, (p_tick + 0.5) / self.hz
        a, b = self._shape(p_tick, m_tick, *bounds)
        snapped = snap_window(
            a,
            b,
            moment,
            self.mids,
            bounds=bounds,
            min_len=self.p.min_len,
            max_len=self.p.max_len,
            tolerance=self.p.snap_tolerance,
        )
        pick = Pick(snapped.start, snapped.end, moment, snapped.snapped_start, snapped.snapped_end)
        self.picks.append(pick)
        self.taken = sorted([*self.taken, (pick.start, pick.end)])
        self._block(pick.start, pick.end)
        return True

    def _claim(self, near: np.ndarray) -> None:
        """After a pick: no later peak within ``PEAK_GAP`` of it (that would clip the same moment twice)."""
        pick, gap = self.picks[-1], max(PEAK_GAP, self.p.min_len / 2)
        near[self._tick(pick.start - gap) : max(self._tick(pick.end + gap), self._tick(pick.start) + 1)] = True

    def run(self) -> list[Pick]:
        if self.p.clips <= 0:
            return []
        near = self.blocked.copy()
        # 1. One clip per product segment, strongest segments first.
        order = sorted(
            (
                (float(self.curve[self._tick(a) : max(self._tick(b), self._tick(a) + 1)].max()), a, b)
                for a, b in self.segments
            ),
            reverse=True,
        )
        for _, a, b in order:
            if len(self.picks) >= self.p.clips:
                break
            lo, hi = self._tick(a), max(self._tick(b), self._tick(a) + 1)
            free = np.flatnonzero(~near[lo:hi])
            if not len(free):
                continue
            p = lo + int(free[np.argmax(self.curve[lo:hi][free])])
            if self.score[p] > MIN_PEAK and self.try_peak(p):
                self._claim(near)
        # 2. Fill from the rest of the recording.
        masked = np.where(near, -np.inf, self.curve)
        while len(self.picks) < self.p.clips:
            p = int(np.argmax(masked))
            if not np.isfinite(masked[p]) or self.score[p] <= MIN_PEAK:
                break
            if self.try_peak(p):
                self._claim(near)
                masked[near] = -np.inf
            else:
                masked[self._dead_zone(p)] = -np.inf
        return self.picks

    def _dead_zone(self, p: int) -> slice:
        """Ticks that cannot hold a window's peak: the too-short gap around ``p`` (or just ``p``)."""
        gap = self._gap((p + 0.5) / self.hz)
        if gap is None:
            return slice(p, p + 1)
        return slice(self._tick(gap[0]), max(self._tick(gap[1]), p + 1))


def pick_windows(
    scores: Scores,
    *,
    hz: float,
    duration: float,
    params: SelectionParams,
    taken: Sequence[tuple[float, float]] = (),
    segments: Sequence[tuple[float, float]] = (),
    pauses: Sequence[tuple[float, float]] = (),
    anchor: np.ndarray | None = None,
) -> list[Pick]:
    """Up to ``params.clips`` non-overlapping windows, one per product segment first, best first.

    ``anchor`` (normalised, per tick; the transcript keywords) moves each peak back to the call to
    action that caused it (see :meth:`_Picker._moment`).
    """
    return _Picker(scores, hz, duration, params, taken, segments, pauses, anchor).run()
