"""Loudness of a clip window, measured once with an audio-only ffmpeg pass (EBU R128 ``ebur128``).

The render then applies a fixed gain (``volume``) plus a true-peak limiter in its single pass: no
second pass over the clip. When the analysis already knows the window's loudness, pass it instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from studio.ffmpeg import run_ffmpeg
from studio.render.errors import RenderError

__all__ = [
    "MAX_GAIN_DB",
    "SILENCE_LUFS",
    "Loudness",
    "gain_to_target",
    "loudness_args",
    "measure_loudness",
    "parse_ebur128",
]

SILENCE_LUFS = -60.0  # quieter than this is treated as silence: no gain (it would only lift noise)
MAX_GAIN_DB = 20.0
_SUMMARY = re.compile(r"Summary:(.*)", re.S)
_INTEGRATED = re.compile(r"\bI:\s*(-?\d+(?:\.\d+)?|-inf|nan)\s*LUFS")
_RANGE = re.compile(r"\bLRA:\s*(-?\d+(?:\.\d+)?)\s*LU\b")


@dataclass(frozen=True)
class Loudness:
    """Integrated loudness (LUFS) and loudness range (LU) of one window."""

    integrated: float
    lra: float | None = None


def loudness_args(source: Path, *, start: float, end: float, audio_stream: int = 0) -> list[str]:
    """ffmpeg arguments that decode only the audio of ``[start, end)`` and print an EBU R128 summary."""
    if end <= start:
        raise RenderError(f"loudness window is empty: start {start} >= end {end}")
    return [
        "-loglevel",
        "info",
        "-ss",
        f"{start:.3f}",
        "-t",
        f"{end - start:.3f}",
        "-i",
        str(source),
        "-map",
        f"0:a:{audio_stream}",
        "-vn",
        "-sn",
        "-dn",
        "-af",
        "ebur128=framelog=quiet",
        "-f",
        "null",
        "-",
    ]


def parse_ebur128(stderr: str) -> Loudness:
    """The integrated loudness from an ``ebur128`` summary in ffmpeg's stderr."""
    summary = _SUMMARY.search(stderr)
    found = _INTEGRATED.search(summary.group(1)) if summary else None
    if summary is None or found is None:
        raise RenderError("ffmpeg printed no EBU R128 loudness summary (does the window contain audio?)")
    value = found.group(1)
    integrated = float(value) if value not in ("-inf", "nan") else -70.0
    lra = _RANGE.search(summary.group(1))
    return Loudness(integrated=integrated, lra=float(lra.group(1)) if lra else None)


def measure_loudness(
    source: Path,
    *,
    start: float,
    end: float,
    timeout: float | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> Loudness:
    """Measure the integrated loudness of ``source`` between ``start`` and ``end`` seconds."""
    stderr = run_ffmpeg(loudness_args(source, start=start, end=end), timeout=timeout, should_cancel=should_cancel)
    return parse_ebur128(stderr)


def gain_to_target(integrated_lufs: float, target_lufs: float, *, max_gain_db: float = MAX_GAIN_DB) -> float:
    """dB of gain that brings ``integrated_lufs`` to ``target_lufs`` (0 for silence; boosts capped)."""
    if integrated_lufs <= SILENCE_LUFS:
        return 0.0
    return round(min(max_gain_db, target_lufs - integrated_lufs), 2)
