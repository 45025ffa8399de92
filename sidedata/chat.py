"""Chat log import (``ts, user, text[, kind]``; CSV/TSV/XLSX or JSON Lines)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sidedata.errors import ProblemCollector
from sidedata.fields import in_range, out_of_range_warning, read_time
from sidedata.records import CHAT_KIND_ALIASES, CHAT_KINDS, ChatEvent
from sidedata.tables import read_table
from sidedata.timeparse import TimeContext

COLUMNS = ("ts", "user", "text", "kind")
REQUIRED = ("ts", "user", "text")
# Kinds whose text may be empty (a comment needs text).
TEXTLESS_KINDS = frozenset({"gift", "like", "share", "join"})


@dataclass
class ChatResult:
    """Events sorted by ts (stable), duplicate/out-of-range counts, warnings, rows read."""

    events: list[ChatEvent]
    duplicates: int = 0
    out_of_range: int = 0
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def parse_kind(value: str) -> str:
    """Map a kind (English or Chinese; empty = comment) to one of CHAT_KINDS."""
    if not value:
        return "comment"
    kind = CHAT_KIND_ALIASES.get(value.strip().lower())
    if kind is None:
        raise ValueError(f"unknown kind {value!r} (expected one of {', '.join(CHAT_KINDS)})")
    return kind


def parse_chat(data: bytes, filename: str, *, ctx: TimeContext) -> ChatResult:
    """Parse a chat log. All or nothing: raises SideDataImportError on any problem.

    Events are sorted by ts; exact duplicates (ts, user, text, kind) are kept once and
    counted in ``duplicates``; events before 0 or after ``ctx.duration`` are dropped,
    counted in ``out_of_range`` and reported in ``warnings``.
    """
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems)
    located: list[tuple[int, ChatEvent]] = []
    for row in table.rows:
        ts = read_time(row, "ts", ctx, problems)
        kind: str | None = None
        try:
            kind = parse_kind(row.get("kind"))
        except ValueError as exc:
            problems.add(row.line, "kind", str(exc))
        text = row.get("text")
        if kind == "comment" and not text:
            problems.add(row.line, "text", "missing value (a comment needs text)")
            continue
        if ts is not None and kind is not None:
            located.append((row.line, ChatEvent(ts=ts, user=row.get("user"), text=text, kind=kind)))
    problems.raise_if_any()
    seen: set[ChatEvent] = set()
    unique: list[tuple[int, ChatEvent]] = []
    for line, event in located:
        if event not in seen:
            seen.add(event)
            unique.append((line, event))
    dropped = [line for line, event in unique if not in_range(event.ts, ctx)]
    kept = sorted((event for _, event in unique if in_range(event.ts, ctx)), key=lambda e: e.ts)
    warnings = list(table.warnings)
    if len(located) > len(unique):
        warnings.append(f"{filename}: ignored {len(located) - len(unique)} exact duplicate events")
    if dropped:
        warnings.append(out_of_range_warning(filename, "chat event", dropped, ctx))
    return ChatResult(
        events=kept,
        duplicates=len(located) - len(unique),
        out_of_range=len(dropped),
        warnings=warnings,
        rows=len(table.rows),
    )
