"""Jinja2 filters of the web pages: durations, sizes, frame rates, audio, times (pure)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.models import Recording


def fmt_duration(seconds: float | None) -> str:
    """``3725.4`` -> ``1:02:05``; unknown -> an em dash."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    hours, rest = divmod(round(max(seconds, 0.0)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def fmt_size(n: int | None) -> str:
    """Bytes in binary units: ``1536`` -> ``1.5 KB``."""
    if n is None:
        return "—"
    if abs(n) < 1024:
        return f"{n} B"
    value, units = n / 1024, ["KB", "MB", "GB", "TB"]
    while abs(value) >= 1024 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}"


def fmt_fps(fps: float | None) -> str:
    """``29.97002997`` -> ``29.97``, ``30.0`` -> ``30``."""
    if fps is None or not math.isfinite(fps):
        return "—"
    return f"{fps:.2f}".rstrip("0").rstrip(".")


def fmt_audio(rate: int | None, channels: int | None) -> str:
    """``(48000, 2)`` -> ``48 kHz · stereo``."""
    parts = []
    if rate:
        parts.append(f"{rate / 1000:g} kHz")
    if channels:
        parts.append({1: "mono", 2: "stereo"}.get(channels, f"{channels} ch"))
    return " · ".join(parts) or "—"


def display_size(rec: Recording) -> str | None:
    """The upright size when rotation metadata turns the picture, e.g. ``720x1280 portrait``."""
    if not (rec.width and rec.height and rec.rotation and rec.rotation % 180):
        return None
    width, height = rec.height, rec.width
    return f"{width}x{height} {'portrait' if height > width else 'landscape'}"


def fmt_seconds(value: float | None) -> str:
    """An offset into the recording with tenths: ``65.25`` -> ``0:01:05.2``."""
    if value is None:
        return "—"
    return f"{fmt_duration(math.floor(value))}.{int((value % 1) * 10)}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def fmt_time(value: datetime | None, tz: str = "UTC") -> str:
    """A stored time in ``tz`` (naive values are UTC, as SQLite returns them)."""
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
