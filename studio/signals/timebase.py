"""The shared signal timebase: every signal is one value per tick at ``hz`` ticks per second."""

from __future__ import annotations

import math

__all__ = ["DEFAULT_HZ", "samples_per_tick", "ticks", "to_seconds", "to_tick"]

DEFAULT_HZ = 10.0


def ticks(duration: float, hz: float = DEFAULT_HZ) -> int:
    """Number of ticks covering ``duration`` seconds (the last one may be partial)."""
    if duration < 0 or hz <= 0:
        raise ValueError(f"need duration >= 0 and hz > 0, got {duration!r} and {hz!r}")
    return math.ceil(round(duration * hz, 9))


def to_tick(seconds: float, hz: float = DEFAULT_HZ) -> int:
    """The tick that contains time ``seconds`` (floor; negative times clamp to 0)."""
    return max(0, math.floor(round(seconds * hz, 9)))


def to_seconds(tick: int, hz: float = DEFAULT_HZ) -> float:
    """Start time of ``tick`` in seconds."""
    return tick / hz


def samples_per_tick(sample_rate: int, hz: float) -> int:
    """Audio samples in one tick; the rate must divide evenly so ticks never drift."""
    per = sample_rate / hz
    if per < 1 or abs(per - round(per)) > 1e-9:
        raise ValueError(f"sample rate {sample_rate} is not a whole multiple of {hz} Hz ticks")
    return round(per)
