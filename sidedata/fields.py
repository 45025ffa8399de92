"""Shared helpers that read typed fields from table rows, recording problems."""

from __future__ import annotations

from decimal import Decimal

from sidedata.errors import ProblemCollector
from sidedata.money import parse_money
from sidedata.tables import Row
from sidedata.timeparse import TimeContext, WallClockTimeError, parse_offset

MISSING = "missing value"
_MAX_LINES_LISTED = 10


def required_text(row: Row, name: str, problems: ProblemCollector) -> str | None:
    """Return the non-empty value of ``name`` or record a problem and return None."""
    value = row.get(name)
    if not value:
        problems.add(row.line, name, MISSING)
        return None
    return value


def optional_text(row: Row, name: str) -> str | None:
    """Return the value of ``name``, or None when empty."""
    return row.get(name) or None


def read_time(row: Row, name: str, ctx: TimeContext, problems: ProblemCollector) -> float | None:
    """Parse a time column to seconds from recording start, or record a problem."""
    value = row.get(name)
    if not value:
        problems.add(row.line, name, MISSING)
        return None
    try:
        return parse_offset(value, ctx)
    except WallClockTimeError as exc:
        problems.add_once("wall-clock-without-start", row.line, name, str(exc))
    except ValueError as exc:
        problems.add(row.line, name, str(exc))
    return None


def read_money(row: Row, name: str, problems: ProblemCollector, *, required: bool = True) -> Decimal | None:
    """Parse a money column, or record a problem (also when required and empty)."""
    value = row.get(name)
    if not value:
        if required:
            problems.add(row.line, name, MISSING)
        return None
    try:
        return parse_money(value)
    except ValueError as exc:
        problems.add(row.line, name, str(exc))
    return None


def in_range(ts: float, ctx: TimeContext) -> bool:
    """True if ``ts`` lies within the recording (0 .. duration when known)."""
    return ts >= 0 and (ctx.duration is None or ts <= ctx.duration)


def out_of_range_warning(filename: str, what: str, lines: list[int], ctx: TimeContext) -> str:
    """Describe rows dropped because their time lies outside the recording."""
    span = f"0–{ctx.duration:g} s" if ctx.duration is not None else "before 0 s"
    listed = ", ".join(str(n) for n in lines[:_MAX_LINES_LISTED])
    if len(lines) > _MAX_LINES_LISTED:
        listed += ", …"
    plural = "s" if len(lines) != 1 else ""
    return f"{filename}: dropped {len(lines)} {what}{plural} outside the recording ({span}); line{plural} {listed}"
