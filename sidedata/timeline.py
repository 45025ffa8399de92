"""Product timeline import (``sku, start, end``) for one recording."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sidedata.errors import ProblemCollector
from sidedata.fields import read_time, required_text
from sidedata.records import TimelineSegment
from sidedata.tables import read_table
from sidedata.timeparse import TimeContext

COLUMNS = ("sku", "start", "end")
REQUIRED = COLUMNS
DURATION_TOLERANCE = 1.0


@dataclass
class TimelineResult:
    """Segments sorted by start, warnings, and the number of data rows read."""

    segments: list[TimelineSegment]
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def parse_timeline(data: bytes, filename: str, *, known_skus: Collection[str], ctx: TimeContext) -> TimelineResult:
    """Parse a product timeline. All or nothing: raises SideDataImportError on any problem.

    Checks: start >= 0, start < end, SKU in ``known_skus``, no overlapping segments
    (touching is fine), and end <= ``ctx.duration`` + 1 s when the duration is known.
    """
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems)
    located: list[tuple[int, TimelineSegment]] = []
    for row in table.rows:
        before = len(problems.problems)
        sku = required_text(row, "sku", problems)
        if sku is not None and sku not in known_skus:
            problems.add(row.line, "sku", f"SKU {sku!r} is not in the product catalog")
        start = read_time(row, "start", ctx, problems)
        end = read_time(row, "end", ctx, problems)
        if start is None or end is None or sku is None:
            continue
        if start < 0:
            problems.add(row.line, "start", f"start {start:g} s is before the recording starts")
        if end <= start:
            problems.add(row.line, "end", f"end {end:g} s must be after start {start:g} s")
            continue
        if ctx.duration is not None and end > ctx.duration + DURATION_TOLERANCE:
            problems.add(row.line, "end", f"end {end:g} s is after the end of the recording ({ctx.duration:g} s)")
        if len(problems.problems) == before:  # only valid rows take part in overlap checks
            located.append((row.line, TimelineSegment(sku, start, end)))
    located.sort(key=lambda item: (item[1].start, item[1].end))
    latest: tuple[int, TimelineSegment] | None = None
    for line, segment in located:
        if latest is not None and segment.start < latest[1].end:
            other_line, other = latest
            problems.add(
                line,
                "start",
                f"segment {segment.sku} {segment.start:g}–{segment.end:g} s overlaps "
                f"segment {other.sku} {other.start:g}–{other.end:g} s on line {other_line}",
            )
        if latest is None or segment.end > latest[1].end:
            latest = (line, segment)
    problems.raise_if_any()
    return TimelineResult(segments=[seg for _, seg in located], warnings=list(table.warnings), rows=len(table.rows))
