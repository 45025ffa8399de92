"""Detector framework: the analysis input, the :class:`Signal` record, the :class:`Detector` ABC and a registry.

Every signal is a float32 array on one shared timebase of ``hz`` ticks per second (tick ``i`` covers
``[i / hz, (i + 1) / hz)``). A detector whose data is missing returns ``available=False`` with a note,
and the selection drops it from the weighting.
"""

from __future__ import annotations

import importlib
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.errors import AnalysisError as AnalysisError  # re-exported
from studio.signals.timebase import DEFAULT_HZ, ticks

DEFAULT_PHRASES: tuple[str, ...] = (
    "上链接",
    "秒杀",
    "库存",
    "优惠券",
    "下单",
    "限时",
    "拍",
    "link",
    "discount",
    "sold out",
    "limited",
)

FloatArray = np.ndarray[Any, np.dtype[np.float32]]
IntArray = np.ndarray[Any, np.dtype[np.int32]]


class UnknownDetectorError(AnalysisError):
    """No detector is registered under that name."""


def n_ticks(duration: float, hz: float) -> int:
    """Number of ticks covering ``duration`` seconds (at least 1); see :func:`studio.signals.timebase.ticks`."""
    return max(1, ticks(duration, hz))


def ticks_of(seconds: np.ndarray, hz: float, n: int) -> np.ndarray:
    """Vectorised :func:`studio.signals.timebase.to_tick`, clipped into ``[0, n)``."""
    return np.clip(np.floor(np.round(np.asarray(seconds, dtype=np.float64) * hz, 9)), 0, n - 1).astype(np.int64)


class AudioArrays(Protocol):
    """Per-tick audio features (``studio.signals.audio.AudioFeatures`` satisfies this)."""

    @property
    def loudness(self) -> np.ndarray: ...

    @property
    def voice(self) -> np.ndarray: ...


@dataclass
class AnalysisInput:
    """Everything one analysis run may look at. ``None`` side data means "no such file" (signal unavailable).

    ``audio`` takes features computed earlier (same ``hz``), so the recording is not decoded again.
    """

    duration: float
    hz: float = DEFAULT_HZ
    media_path: Path | None = None
    products: Sequence[Product] = ()
    segments: Sequence[TimelineSegment] | None = None
    chat: Sequence[ChatEvent] | None = None
    orders: Sequence[StreamOrder] | None = None
    cues: Sequence[TranscriptCue] | None = None
    phrases: Sequence[str] = DEFAULT_PHRASES
    cache_dir: Path | None = None
    scene_detection: bool = False
    audio: AudioArrays | None = None
    on_progress: Callable[[str, float], None] | None = None
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not (self.duration > 0 and math.isfinite(self.duration)):
            raise AnalysisError(f"duration must be a positive number of seconds, got {self.duration!r}")
        if not (self.hz > 0 and math.isfinite(self.hz)):
            raise AnalysisError(f"hz must be positive, got {self.hz!r}")

    @property
    def ticks(self) -> int:
        return n_ticks(self.duration, self.hz)

    def progress(self, stage: str, fraction: float) -> None:
        if self.on_progress is not None:
            self.on_progress(stage, fraction)


@dataclass
class Signal:
    """One signal on the shared timebase.

    ``unit`` tells the explainer how to read ``values``: ``"x"`` (ratio to a rolling baseline), ``"dB"``,
    ``"hits"`` (keyword hits), ``"flag"`` (0/1) or ``"prob"``. ``labels`` (optional, int per tick, -1 for
    none) index into ``label_names`` (SKUs) for the product timeline, transcript mentions and orders.
    ``events`` are notable ``(seconds, label)`` points used in reasons.
    """

    name: str
    values: FloatArray
    hz: float
    available: bool = True
    note: str = ""
    unit: str = "x"
    events: list[tuple[float, str]] = field(default_factory=list)
    labels: IntArray | None = None
    label_names: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)

    @classmethod
    def unavailable(cls, name: str, n: int, hz: float, note: str, unit: str = "x") -> Signal:
        """A flat, unavailable signal (its weight is dropped and renormalised away)."""
        return cls(name, np.zeros(n, dtype=np.float32), hz, available=False, note=note, unit=unit)

    def label_at(self, seconds: float) -> str | None:
        if self.labels is None or not self.label_names:
            return None
        tick = min(max(int(seconds * self.hz), 0), len(self.labels) - 1)
        index = int(self.labels[tick])
        return self.label_names[index] if index >= 0 else None


class Detector(ABC):
    """One signal. ``requires`` names the input it needs: chat, orders, timeline, transcript or media."""

    name: ClassVar[str]
    requires: ClassVar[str]

    @abstractmethod
    def compute(self, inp: AnalysisInput) -> Signal:
        """Compute the signal for ``inp`` (never raises for missing data: returns an unavailable signal)."""


_REGISTRY: dict[str, type[Detector]] = {}

D = TypeVar("D", bound=type[Detector])


def register(cls: D) -> D:
    """Class decorator: make a detector available by its ``name``."""
    name = getattr(cls, "name", "")
    if not name:
        raise AnalysisError(f"{cls.__name__} has no name")
    _REGISTRY[name] = cls
    return cls


def _register_builtins() -> None:
    """Import the modules whose detectors register themselves (side data, then media)."""
    importlib.import_module("studio.signals.sidedata")  # chat, gifts, orders, products, keywords
    importlib.import_module("studio.signals.media")  # loudness, voice, scenes


def registry() -> dict[str, type[Detector]]:
    """A copy of the registry: detector name -> class."""
    _register_builtins()
    return dict(_REGISTRY)


def get_detector(name: str) -> Detector:
    """A new instance of the detector registered as ``name``."""
    _register_builtins()
    try:
        return _REGISTRY[name]()
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnknownDetectorError(f"unknown signal {name!r} (known: {known})") from None
