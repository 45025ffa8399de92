"""Parse times in side-data files into seconds from the start of the recording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DECIMAL = re.compile(r"^([+-]?)(\d+(?:\.\d+)?)$")
_HMS = re.compile(r"^([+-]?)(\d+):([0-5]?\d):([0-5]?\d)(?:[.,](\d+))?$")
_MS = re.compile(r"^([+-]?)(\d+):([0-5]?\d)(?:[.,](\d+))?$")
_WALL = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6})\d*)?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeContext:
    """What is known about the recording when converting times.

    ``stream_started_at`` is the wall-clock time the recording starts (naive values
    are read in ``timezone``); ``duration`` is the recording length in seconds.
    """

    stream_started_at: datetime | None = None
    timezone: str = "Asia/Shanghai"
    duration: float | None = None


class WallClockTimeError(ValueError):
    """A wall-clock time was found but no ``stream_started_at`` was given."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def _seconds(sign: str, hours: str, minutes: str, seconds: str, frac: str | None) -> float:
    total = Decimal(int(hours) * 3600 + int(minutes) * 60 + int(seconds))
    if frac:
        total += Decimal(f"0.{frac}")
    return float(-total if sign == "-" else total)


def _moment(match: re.Match[str], timezone: str, raw: str) -> datetime:
    """The aware datetime of a :data:`_WALL` match (no offset: read in ``timezone``)."""
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = int((frac or "0").ljust(6, "0"))
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro)
    except ValueError as exc:
        raise ValueError(f"invalid date/time {raw!r}: {exc}") from exc
    zone = _zone(timezone)
    if offset:
        iso_offset = "+00:00" if offset.upper() == "Z" else offset
        if len(iso_offset) == 3:
            iso_offset += ":00"
        elif ":" not in iso_offset:
            iso_offset = f"{iso_offset[:3]}:{iso_offset[3:]}"
        moment = datetime.fromisoformat(f"{moment.isoformat()}{iso_offset}")
    else:
        moment = moment.replace(tzinfo=zone)
    return moment


def _wall_clock(match: re.Match[str], ctx: TimeContext, raw: str) -> float:
    if ctx.stream_started_at is None:
        raise WallClockTimeError(
            f"{raw!r} is a wall-clock time; this file uses wall-clock times, so the "
            "recording's stream start time (stream_started_at) must be given at upload "
            "or import"
        )
    moment = _moment(match, ctx.timezone, raw)
    zone = _zone(ctx.timezone)
    start = ctx.stream_started_at
    if start.tzinfo is None:
        start = start.replace(tzinfo=zone)
    delta = moment - start
    return delta.days * 86400 + delta.seconds + delta.microseconds / 1_000_000


def parse_offset(value: str, ctx: TimeContext) -> float:
    """Return seconds from the recording start for a time value.

    Accepts ``97.5``, ``HH:MM:SS[.mmm]``, ``MM:SS[.mmm]`` (``,`` also separates
    milliseconds, as in SRT), ISO 8601 wall clock with offset, or
    ``YYYY-MM-DD HH:MM:SS[.fff]`` without offset, read in ``ctx.timezone``.
    Wall-clock values need ``ctx.stream_started_at`` (else :class:`WallClockTimeError`).
    The result may be negative for times before the recording start.
    Raises :class:`ValueError` for anything else.
    """
    raw = value.strip()
    if not raw:
        raise ValueError("empty time")
    if match := _DECIMAL.match(raw):
        number = Decimal(match.group(2))
        return float(-number if match.group(1) == "-" else number)
    if match := _HMS.match(raw):
        return _seconds(*match.groups())
    if match := _MS.match(raw):
        sign, minutes, seconds, frac = match.groups()
        return _seconds(sign, "0", minutes, seconds, frac)
    if match := _WALL.match(raw):
        return _wall_clock(match, ctx, raw)
    raise ValueError(f"invalid time {raw!r} (expected seconds, HH:MM:SS[.mmm], MM:SS[.mmm] or a date and time)")


def parse_instant(value: str, timezone: str = "Asia/Shanghai") -> datetime:
    """An aware datetime from ``YYYY-MM-DD HH:MM[:SS[.fff]]`` (also ``/`` between the date's parts and
    ``T`` before the time) with an optional offset (``Z``, ``+08:00``, ``+0800``); without one it is the
    wall clock in ``timezone``. Raises :class:`ValueError` for anything else."""
    raw = value.strip()
    match = _WALL.match(raw)
    if not match:
        raise ValueError(f"invalid date and time {raw!r} (expected e.g. 2026-11-20 20:15:00 or ISO 8601)")
    return _moment(match, timezone, raw)
