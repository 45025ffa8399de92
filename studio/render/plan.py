"""What one clip render should produce: source window, preset, reframing, overlays, captions, loudness.

:class:`RenderPlan` checks itself on construction and raises :class:`RenderPlanError` listing every
problem (times outside the source, start >= end, too long for the preset, a corner QR where the
preset forbids one, missing overlay images, overlays in fast mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sidedata.records import TranscriptCue
from studio.fonts import FontChoice
from studio.mediainfo import MediaInfo
from studio.render.errors import RenderPlanError
from studio.render.loudness import gain_to_target
from studio.render.presets import Preset

__all__ = [
    "END_TOLERANCE",
    "CardOverlay",
    "CardPosition",
    "Corner",
    "Entrance",
    "Mode",
    "QrOverlay",
    "Reframe",
    "RenderPlan",
    "make_plan",
]

Reframe = Literal["auto", "blur", "crop", "subject", "scale"]
Mode = Literal["accurate", "fast"]
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CardPosition = Literal["bottom", "top", "middle"]
Entrance = Literal["fade", "slide", "none"]
REFRAMES: tuple[str, ...] = ("auto", "blur", "crop", "subject", "scale")
CORNERS: tuple[str, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")
END_TOLERANCE = 0.05  # seconds an end may pass the probed duration (container rounding)


@dataclass(frozen=True)
class CardOverlay:
    """A product card PNG (RGBA) shown from ``appear_at`` for ``duration`` seconds (None: to the end).

    ``position`` follows the card theme; the card is centred horizontally in the preset's safe area.
    """

    image: Path
    position: CardPosition = "bottom"
    appear_at: float = 0.5
    duration: float | None = None
    entrance: Entrance = "slide"
    entrance_seconds: float = 0.4
    margin: int | None = None  # px from the safe-area edge; None: 2% of the frame width


@dataclass(frozen=True)
class QrOverlay:
    """A QR PNG burned into a corner for the whole clip, inside the preset's safe area, at its own size."""

    image: Path
    corner: Corner = "top-right"
    margin: int | None = None  # px from the safe-area edge; None: 3% of the frame width


@dataclass(frozen=True)
class RenderPlan:
    """One clip: ``[start, end)`` seconds of ``source`` rendered to ``preset``.

    Loudness: ``gain_db`` if given, else the gain from ``source_lufs`` (a known measurement of the
    window) to the preset target, else :func:`studio.render.render_clip` measures the window once.
    ``mode="fast"`` is a keyframe-aligned stream copy: no overlays, captions or reframing.
    """

    source: Path
    info: MediaInfo
    start: float
    end: float
    preset: Preset
    reframe: Reframe = "auto"
    card: CardOverlay | None = None
    captions: Sequence[TranscriptCue] | None = None
    qr: QrOverlay | None = None
    gain_db: float | None = None
    source_lufs: float | None = None
    normalize_loudness: bool = True
    mode: Mode = "accurate"
    font: Path | FontChoice | None = None
    strict_decode: bool = True
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise RenderPlanError("; ".join(problems))

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def frame_count(self) -> int:
        """Frames in the output (constant frame rate at the preset's fps)."""
        return max(1, round(self.duration * self.preset.fps))

    @property
    def output_duration(self) -> float:
        """Exact duration of an accurate render: whole frames at the preset's fps."""
        return self.frame_count / self.preset.fps

    @property
    def has_captions(self) -> bool:
        return bool(self.captions)

    def resolved_gain_db(self) -> float | None:
        """Gain to apply, or None when it still has to be measured (or loudness is off)."""
        if not self.normalize_loudness or not self.info.has_audio:
            return 0.0
        if self.gain_db is not None:
            return self.gain_db
        if self.source_lufs is not None:
            return gain_to_target(self.source_lufs, self.preset.loudness_lufs)
        return None

    def problems(self) -> list[str]:
        """Every reason this plan cannot be rendered (empty when it can)."""
        problems: list[str] = []
        source_end = self.info.duration
        if self.start < 0:
            problems.append(f"start {self.start:.3f} s is before the start of the recording")
        if self.end > source_end + END_TOLERANCE:
            problems.append(f"end {self.end:.3f} s is after the end of the recording ({source_end:.3f} s)")
        if self.start >= self.end:
            problems.append(f"start {self.start:.3f} s must be before end {self.end:.3f} s")
        if self.mode not in ("accurate", "fast"):
            problems.append(f"unknown mode {self.mode!r} (accurate or fast)")
        if self.reframe not in REFRAMES:
            problems.append(f"unknown reframe {self.reframe!r}; choose one of {', '.join(REFRAMES)}")
        if self.mode == "fast":
            extras = [
                name for name, value in (("card", self.card), ("captions", self.captions), ("qr", self.qr)) if value
            ]
            if extras or self.reframe != "auto":
                problems.append(
                    "fast mode is a raw stream copy: it takes no "
                    + ", ".join(extras + (["reframing"] if self.reframe != "auto" else []))
                )
            return problems
        if self.start < self.end:
            if self.duration > self.preset.max_duration:
                problems.append(
                    f"clip is {self.duration:.1f} s, over {self.preset.name}'s maximum "
                    f"of {self.preset.max_duration:.0f} s"
                )
            if self.duration < self.preset.min_duration:
                problems.append(
                    f"clip is {self.duration:.1f} s, under {self.preset.name}'s minimum "
                    f"of {self.preset.min_duration:.0f} s"
                )
            if self.duration * self.preset.fps < 1:
                problems.append(f"clip is {self.duration:.3f} s: shorter than one frame")
        if self.qr is not None:
            if self.preset.qr_policy != "corner":
                problems.append(
                    f"preset {self.preset.name} does not allow a corner QR code (qr_policy={self.preset.qr_policy}); "
                    "put the QR on an end card (studio.render.variants) instead"
                )
            if self.qr.corner not in CORNERS:
                problems.append(f"unknown QR corner {self.qr.corner!r}; choose one of {', '.join(CORNERS)}")
            if not Path(self.qr.image).is_file():
                problems.append(f"QR image {self.qr.image} does not exist")
        if self.card is not None:
            if not Path(self.card.image).is_file():
                problems.append(f"card image {self.card.image} does not exist")
            if self.card.appear_at < 0 or (self.card.duration is not None and self.card.duration <= 0):
                problems.append("card appear_at must be >= 0 and its duration > 0")
            if self.card.position not in ("bottom", "top", "middle"):
                problems.append(f"unknown card position {self.card.position!r}")
            if self.card.entrance not in ("fade", "slide", "none"):
                problems.append(f"unknown card entrance {self.card.entrance!r}")
        return problems


def make_plan(
    source: Path, *, start: float, end: float, preset: Preset, info: MediaInfo | None = None, **options: object
) -> RenderPlan:
    """A :class:`RenderPlan` for ``source``, probing it unless ``info`` is given; ``options`` are plan fields."""
    source = Path(source)
    return RenderPlan(
        source=source,
        info=info if info is not None else _probe(source),
        start=float(start),
        end=float(end),
        preset=preset,
        **options,  # type: ignore[arg-type]
    )


def _probe(source: Path) -> MediaInfo:
    from studio.probe import probe  # PyAV only when the plan probes its source itself

    return probe(source)
