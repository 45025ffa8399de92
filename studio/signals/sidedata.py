"""Side-data detectors: chat density, gift bursts, order spikes, the product timeline and transcript keywords.

All pure numpy on the shared timebase. Audience responses (chat, gifts, orders) come a few seconds after
what caused them, so they are *attributed back*: the value at ``t`` weighs the activity that follows ``t``
(an exponential kernel, ``tau`` seconds) more than what precedes it (``back`` seconds). The value is then a
ratio to a rolling median baseline (5 minutes), which is what reasons quote ("orders 4.2x baseline").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from studio.signals.base import AnalysisInput, Detector, Signal, register, ticks_of

BASELINE_WINDOW = 300.0  # seconds, rolling median
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")


# -- numpy helpers ---------------------------------------------------------------------------------------


def event_counts(times: np.ndarray, n: int, hz: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Events (or their weights) summed per tick; times are seconds already inside the recording."""
    if len(times) == 0:
        return np.zeros(n, dtype=np.float64)
    return np.bincount(ticks_of(times, hz, n), weights=weights, minlength=n)[:n].astype(np.float64)


def attribution_kernel(hz: float, *, tau: float, back: float) -> np.ndarray:
    """Kernel ``k[d]`` for an event ``d`` ticks after ``t`` (negative before); sums to 1."""
    fwd = np.exp(-np.arange(0, int(np.ceil(5 * tau * hz)) + 1) / (tau * hz))
    bwd = np.exp(-np.arange(int(np.ceil(3 * back * hz)), 0, -1) / max(back * hz, 1e-9))
    kernel = np.concatenate([bwd, fwd])
    return kernel / kernel.sum()


def attributed_rate(counts: np.ndarray, hz: float, *, tau: float = 4.0, back: float = 1.0) -> np.ndarray:
    """Events per second at each tick, attributing later events back to ``t`` (see module doc)."""
    kernel = attribution_kernel(hz, tau=tau, back=back)
    n_back = int(np.ceil(3 * back * hz))
    # value[t] = sum_d counts[t + d] * k[d]: correlate, i.e. convolve with the reversed kernel.
    full = np.convolve(counts, kernel[::-1], mode="full")
    start = len(kernel) - 1 - n_back
    return full[start : start + len(counts)] * hz


def centred_mean(values: np.ndarray, width: int) -> np.ndarray:
    """Moving average over ``width`` ticks, centred, edges averaged over what exists."""
    if width <= 1 or len(values) == 0:
        return values.astype(np.float64)
    csum = np.concatenate([[0.0], np.cumsum(values, dtype=np.float64)])
    idx = np.arange(len(values))
    lo = np.clip(idx - width // 2, 0, len(values))
    hi = np.clip(idx + (width - width // 2), 0, len(values))
    return (csum[hi] - csum[lo]) / np.maximum(hi - lo, 1)


def rolling_baseline(rate: np.ndarray, hz: float, *, window: float = BASELINE_WINDOW, floor: float) -> np.ndarray:
    """Rolling median of ``rate`` over ``window`` seconds (sampled each second, evaluated every 10 s)."""
    n = len(rate)
    step = max(1, round(hz))
    per_second = rate[::step]
    half = max(1, int(window / 2))
    centres = np.arange(0, len(per_second), 10)
    if len(centres) == 0:
        return np.full(n, floor)
    meds = np.array([np.median(per_second[max(0, c - half) : c + half + 1]) for c in centres])
    base = np.interp(np.arange(n) / step, centres, meds)
    return np.maximum(base, floor)


def spike_ratio(counts: np.ndarray, hz: float, duration: float, *, tau: float, back: float) -> np.ndarray:
    """Attributed rate over its rolling baseline (floored at a quarter of the overall mean rate)."""
    rate = attributed_rate(counts, hz, tau=tau, back=back)
    mean_rate = float(counts.sum()) / duration
    floor = max(0.25 * mean_rate, 0.5 / duration, 1e-6)
    return rate / rolling_baseline(rate, hz, floor=floor)


def _inside(times: np.ndarray, duration: float) -> np.ndarray:
    return (times >= 0.0) & (times <= duration)


def _dropped_warning(what: str, dropped: int) -> list[str]:
    return [f"{dropped} {what} outside the recording ignored"] if dropped else []


# -- detectors -------------------------------------------------------------------------------------------


@register
class ChatDetector(Detector):
    """Comments per second (``kind == "comment"``), as a ratio to the rolling baseline."""

    name = "chat"
    requires = "chat"
    tau = 4.0
    back = 1.0

    def compute(self, inp: AnalysisInput) -> Signal:
        n = inp.ticks
        if inp.chat is None:
            return Signal.unavailable(self.name, n, inp.hz, "no chat log")
        times = np.array([c.ts for c in inp.chat if c.kind == "comment"], dtype=np.float64)
        ok = _inside(times, inp.duration)
        values = spike_ratio(event_counts(times[ok], n, inp.hz), inp.hz, inp.duration, tau=self.tau, back=self.back)
        return Signal(
            self.name, values.astype(np.float32), inp.hz, warnings=_dropped_warning("chat comments", int((~ok).sum()))
        )


@register
class GiftsDetector(Detector):
    """Gift, share and like bursts (weighted 1, 0.5 and 0.25 per event) over the rolling baseline."""

    name = "gifts"
    requires = "chat"
    kind_weights: dict[str, float] = {"gift": 1.0, "share": 0.5, "like": 0.25}  # noqa: RUF012

    def compute(self, inp: AnalysisInput) -> Signal:
        n = inp.ticks
        if inp.chat is None:
            return Signal.unavailable(self.name, n, inp.hz, "no chat log")
        rows = [(c.ts, self.kind_weights[c.kind]) for c in inp.chat if c.kind in self.kind_weights]
        times = np.array([r[0] for r in rows], dtype=np.float64)
        weights = np.array([r[1] for r in rows], dtype=np.float64)
        ok = _inside(times, inp.duration)
        counts = event_counts(times[ok], n, inp.hz, weights[ok])
        if not rows:
            return Signal(self.name, np.zeros(n, dtype=np.float32), inp.hz, note="no gift, like or share events")
        values = spike_ratio(counts, inp.hz, inp.duration, tau=4.0, back=1.0)
        return Signal(self.name, values.astype(np.float32), inp.hz)


@register
class OrdersDetector(Detector):
    """Order count and amount per second, each as a ratio to its baseline, averaged. Labels: SKU ordered."""

    name = "orders"
    requires = "orders"
    tau = 4.0
    back = 1.0

    def compute(self, inp: AnalysisInput) -> Signal:
        n = inp.ticks
        if inp.orders is None:
            return Signal.unavailable(self.name, n, inp.hz, "no stream orders")
        times = np.array([o.ts for o in inp.orders], dtype=np.float64)
        amounts = np.array([float(o.amount) for o in inp.orders], dtype=np.float64)
        ok = _inside(times, inp.duration)
        counts = event_counts(times[ok], n, inp.hz)
        count_ratio = spike_ratio(counts, inp.hz, inp.duration, tau=self.tau, back=self.back)
        amount_ratio = spike_ratio(
            event_counts(times[ok], n, inp.hz, amounts[ok]), inp.hz, inp.duration, tau=self.tau, back=self.back
        )
        skus = tuple(sorted({o.sku for o in inp.orders}))
        labels = np.full(n, -1, dtype=np.int32)
        if len(times[ok]):
            index = {sku: i for i, sku in enumerate(skus)}
            codes = np.array([index[o.sku] for o, keep in zip(inp.orders, ok, strict=True) if keep], dtype=np.int32)
            labels[ticks_of(times[ok], inp.hz, n)] = codes
        values = (0.5 * (count_ratio + amount_ratio)).astype(np.float32)
        return Signal(
            self.name,
            values,
            inp.hz,
            labels=labels,
            label_names=skus,
            warnings=_dropped_warning("orders", int((~ok).sum())),
        )


@register
class ProductsDetector(Detector):
    """The product timeline: 1 inside a segment, 0 outside; ``labels`` is the SKU on air at each tick."""

    name = "products"
    requires = "timeline"

    def compute(self, inp: AnalysisInput) -> Signal:
        n = inp.ticks
        if inp.segments is None:
            return Signal.unavailable(self.name, n, inp.hz, "no product timeline", unit="flag")
        skus = tuple(dict.fromkeys(seg.sku for seg in inp.segments))
        index = {sku: i for i, sku in enumerate(skus)}
        labels = np.full(n, -1, dtype=np.int32)
        for seg in sorted(inp.segments, key=lambda s: s.start):
            lo = int(np.clip(round(seg.start * inp.hz), 0, n))
            hi = int(np.clip(round(seg.end * inp.hz), 0, n))
            labels[lo:hi] = index[seg.sku]
        values = (labels >= 0).astype(np.float32)
        events = [(float(seg.start), f"{seg.sku} on air") for seg in inp.segments]
        return Signal(self.name, values, inp.hz, unit="flag", events=events, labels=labels, label_names=skus)


def name_parts(name: str) -> list[str]:
    """The separately matchable parts of a product name: each Chinese run and the Latin remainder.

    ``"保湿面霜 Hydrating Cream"`` -> ``["保湿面霜", "hydrating cream"]`` (Latin parts lower-cased).
    """
    parts = [run for run in _CJK.findall(name) if len(run) >= 2]
    latin = " ".join(_CJK.sub(" ", name).split()).lower()
    if len(latin) >= 3:
        parts.append(latin)
    return parts


@register
class KeywordsDetector(Detector):
    """Transcript cues with sales phrases and catalog product names: hits per cue, over the cue's span.

    ``events`` hold each cue's start with its phrases; ``labels`` the SKU a cue mentions (for tagging).
    """

    name = "keywords"
    requires = "transcript"

    def compute(self, inp: AnalysisInput) -> Signal:
        n = inp.ticks
        if inp.cues is None:
            return Signal.unavailable(self.name, n, inp.hz, "no transcript", unit="hits")
        phrases = [p for p in dict.fromkeys(p.strip() for p in inp.phrases) if p]
        lowered = [p.lower() for p in phrases]
        skus = tuple(p.sku for p in inp.products)
        names = [(i, part) for i, p in enumerate(inp.products) for part in name_parts(p.name)]
        hits = np.zeros(n, dtype=np.float64)
        labels = np.full(n, -1, dtype=np.int32)
        events: list[tuple[float, str]] = []
        for cue in inp.cues:
            text = " ".join(cue.text.lower().split())
            said = [phrases[k] for k, p in enumerate(lowered) if p in text]
            mentioned = [i for i, part in names if part in text]
            if not said and not mentioned:
                continue
            lo = int(np.clip(np.floor(cue.start * inp.hz), 0, n - 1))
            hi = int(np.clip(np.ceil(cue.end * inp.hz), lo + 1, n))
            hits[lo:hi] = np.maximum(hits[lo:hi], len(said) + len(set(mentioned)))
            if mentioned:
                labels[lo:hi] = mentioned[0]
            if said:
                events.append((float(cue.start), "、".join(said)))
        values = centred_mean(hits, max(1, round(inp.hz))).astype(np.float32)
        return Signal(self.name, values, inp.hz, unit="hits", events=events, labels=labels, label_names=skus)


def phrase_priority(label: str, phrases: Sequence[str]) -> int:
    """Position of the first phrase of an event label in the phrase list (lower is more telling)."""
    first = label.split("、", 1)[0]
    return list(phrases).index(first) if first in phrases else len(phrases)
