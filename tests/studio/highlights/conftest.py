"""Synthetic side data with planted moments (pure numpy; no media decode)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pytest

from sidedata.records import ChatEvent, Product, StreamOrder, TimelineSegment, TranscriptCue
from studio.signals import AnalysisInput

HZ = 10.0
DURATION = 600.0
CHAT_BURST = 120.0  # a chat burst starts here (segment A)
DECOY = 200.0  # a loud cheer, no chat, no orders (segment A)
ORDER_SPIKE = 420.0  # an order spike starts here (segment B)
PRODUCTS = (
    Product("LS-0001", "保湿面霜 Hydrating Cream", Decimal("89.00")),
    Product("LS-0002", "蓝牙耳机 Wireless Earbuds", Decimal("199.00")),
)
SEGMENTS = (TimelineSegment("LS-0001", 10.0, 300.0), TimelineSegment("LS-0002", 300.0, 590.0))


@dataclass(frozen=True)
class Audio:
    """Precomputed per-tick audio features (what ``analyze_audio`` returns, minus the decode)."""

    loudness: np.ndarray
    voice: np.ndarray
    hz: float = HZ


@dataclass
class Planted:
    chat: list[ChatEvent] = field(default_factory=list)
    orders: list[StreamOrder] = field(default_factory=list)
    cues: list[TranscriptCue] = field(default_factory=list)
    audio: Audio | None = None

    def input(self, **overrides: object) -> AnalysisInput:
        values: dict[str, object] = dict(
            duration=DURATION,
            hz=HZ,
            products=PRODUCTS,
            segments=SEGMENTS,
            chat=self.chat,
            orders=self.orders,
            cues=self.cues,
            audio=self.audio,
        )
        values.update(overrides)
        return AnalysisInput(**values)  # type: ignore[arg-type]


def _poisson(rng: random.Random, start: float, end: float, rate: float) -> list[float]:
    times, t = [], start
    while True:
        t += rng.expovariate(rate)
        if t >= end:
            return times
        times.append(round(t, 3))


def make_planted(seed: int = 3) -> Planted:
    rng = random.Random(seed)
    chat = [ChatEvent(t, f"u{i}", "主播好") for i, t in enumerate(_poisson(rng, 0, DURATION, 0.4))]
    chat += [ChatEvent(t, f"b{i}", "上链接") for i, t in enumerate(_poisson(rng, CHAT_BURST, CHAT_BURST + 5, 8.0))]
    chat += [ChatEvent(t, "g", "送出 小心心", "gift") for t in _poisson(rng, 0, DURATION, 0.05)]
    orders = [
        StreamOrder(t, "LS-0001" if t < 300 else "LS-0002", 1, Decimal("89.00"))
        for t in _poisson(rng, 0, DURATION, 0.03)
    ]
    orders += [
        StreamOrder(t, "LS-0002", 1, Decimal("199.00")) for t in _poisson(rng, ORDER_SPIKE, ORDER_SPIKE + 5, 4.0)
    ]
    cues = [
        TranscriptCue(40.0, 43.0, "这款保湿面霜真的很好用"),
        TranscriptCue(CHAT_BURST - 1.0, CHAT_BURST + 1.0, "上链接！保湿面霜 秒杀"),
        TranscriptCue(330.0, 333.0, "this wireless EARBUDS set is great"),
        TranscriptCue(ORDER_SPIKE - 1.0, ORDER_SPIKE + 1.0, "上链接 蓝牙耳机 库存不多"),
    ]
    n = int(DURATION * HZ)
    noise = np.random.default_rng(seed)
    loud = (-30.0 + noise.normal(0, 1.0, n)).astype(np.float32)
    loud[int(DECOY * HZ) : int((DECOY + 3) * HZ)] = -4.0  # the loudest moment: a cheer nobody bought in
    loud[int(ORDER_SPIKE * HZ) : int((ORDER_SPIKE + 3) * HZ)] = -15.0
    voice = np.ones(n, dtype=np.float32)
    for start in np.arange(1.0, DURATION, 4.0):  # 3.5 s talk, 0.5 s pause
        voice[int((start + 3.5) * HZ) : int((start + 4.0) * HZ)] = 0.0
    return Planted(chat, orders, cues, Audio(loud, voice))


@pytest.fixture
def planted() -> Planted:
    return make_planted()
