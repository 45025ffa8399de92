"""Community leaders import (``name, phone[, wechat, recruiter, id, status, communities]``), pure.

A row updates the leader it names by ``id``, else the leader with the same phone number, else it is a
new leader. ``recruiter`` names a leader by id or exact name, in the file or among ``known`` (the
leaders already stored); recruiter chains may not loop. All or nothing: every problem is reported as
``file:line: field: problem``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sidedata.errors import ProblemCollector
from sidedata.fields import required_text
from sidedata.tables import Row, read_table

COLUMNS = ("id", "name", "phone", "wechat", "recruiter", "status", "communities")
REQUIRED = ("name", "phone")
STATUS_WORDS = {
    "active": "active",
    "inactive": "inactive",
    "启用": "active",
    "正常": "active",
    "有效": "active",
    "停用": "inactive",
    "禁用": "inactive",
    "无效": "inactive",
}
_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")
_PHONE_NOISE = re.compile(r"[\s\-()（）.]")
_MAINLAND = re.compile(r"^1[3-9]\d{9}$")
_INTERNATIONAL = re.compile(r"^\+[1-9]\d{6,14}$")
_COMMUNITY_SEPARATORS = re.compile(r"[;；、]")
MAX_COMMUNITIES = 50


@dataclass(frozen=True)
class KnownLeader:
    """A leader already stored, as the import needs to know it."""

    id: str
    name: str
    phone: str | None = None
    recruiter_id: str | None = None


@dataclass(frozen=True)
class RecruiterRef:
    """Who recruited a row's leader: another row of the file (``line``) or a stored leader (``leader_id``)."""

    line: int | None = None
    leader_id: str | None = None


@dataclass(frozen=True)
class LeaderRecord:
    """One row. ``match_id``: the stored leader it updates (None: a new leader, with ``id`` when given).
    ``status`` and ``communities`` are None when the cell is empty (a new leader: active, none; an update:
    unchanged)."""

    line: int
    name: str
    phone: str
    id: str | None = None
    wechat: str | None = None
    recruiter: RecruiterRef | None = None
    status: str | None = None
    communities: tuple[str, ...] | None = None
    match_id: str | None = None


@dataclass
class LeadersResult:
    leaders: list[LeaderRecord]
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def normalize_phone(value: str) -> str:
    """A mainland mobile as 11 digits (``+86``/``0086`` dropped), or an international ``+number``;
    spaces, dashes, dots and brackets are ignored. Raises ValueError."""
    text = _PHONE_NOISE.sub("", value.strip())
    if text.startswith("0086"):
        text = "+86" + text[4:]
    if text.startswith("+86"):
        text = text[3:]
    if _MAINLAND.match(text):
        return text
    if _INTERNATIONAL.match(text):
        return text
    raise ValueError(
        f"invalid phone {value.strip()!r}: expected a mainland mobile (11 digits starting with 1, "
        "optionally +86) or an international number starting with +"
    )


def split_communities(value: str) -> tuple[str, ...]:
    """``"宝妈群;小区一群、团购群"`` -> three names, trimmed, duplicates dropped."""
    names: list[str] = []
    for part in _COMMUNITY_SEPARATORS.split(value):
        name = " ".join(part.split())
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _row(row: Row, problems: ProblemCollector) -> LeaderRecord | None:
    before = len(problems.problems)
    name = required_text(row, "name", problems)
    name = " ".join(name.split()) if name else None
    phone = None
    raw_phone = required_text(row, "phone", problems)
    if raw_phone:
        try:
            phone = normalize_phone(raw_phone)
        except ValueError as exc:
            problems.add(row.line, "phone", str(exc))
    leader_id = row.get("id") or None
    if leader_id and not _ID.match(leader_id):
        problems.add(row.line, "id", f"id {leader_id!r} must be 1-64 letters, digits, '-', '_' or '.'")
    status = None
    if row.get("status"):
        status = STATUS_WORDS.get(row.get("status").lower())
        if status is None:
            problems.add(row.line, "status", f"unknown status {row.get('status')!r} (active or inactive, 启用 or 停用)")
    communities = split_communities(row.get("communities")) if row.get("communities") else None
    if communities and len(communities) > MAX_COMMUNITIES:
        problems.add(row.line, "communities", f"{len(communities)} communities: at most {MAX_COMMUNITIES}")
    wechat = row.get("wechat") or None
    if wechat and len(wechat) > 64:
        problems.add(row.line, "wechat", "longer than 64 characters")
    if len(name or "") > 200:
        problems.add(row.line, "name", "longer than 200 characters")
    if len(problems.problems) != before or name is None or phone is None:
        return None
    return LeaderRecord(row.line, name, phone, leader_id, wechat, None, status, communities)


def _check_duplicates(rows: Sequence[Row], problems: ProblemCollector) -> None:
    first_id: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for row in rows:
        leader_id = row.get("id")
        if leader_id and leader_id in first_id:
            problems.add(row.line, "id", f"duplicate id {leader_id!r} (first on line {first_id[leader_id]})")
        elif leader_id:
            first_id[leader_id] = row.line
        try:
            phone = normalize_phone(row.get("phone")) if row.get("phone") else None
        except ValueError:
            continue  # reported with the row
        if phone and phone in first_phone:
            problems.add(row.line, "phone", f"duplicate phone {phone} (first on line {first_phone[phone]})")
        elif phone:
            first_phone[phone] = row.line


def _match(rec: LeaderRecord, known: Sequence[KnownLeader], problems: ProblemCollector) -> str | None:
    by_phone = next((k for k in known if k.phone == rec.phone), None)
    if rec.id:
        if by_phone is not None and by_phone.id != rec.id:
            problems.add(rec.line, "phone", f"phone {rec.phone} belongs to leader {by_phone.id!r}, not {rec.id!r}")
        return rec.id if any(k.id == rec.id for k in known) else None
    return by_phone.id if by_phone is not None else None


def _recruiter(
    value: str,
    rec: LeaderRecord,
    records: Sequence[LeaderRecord],
    known: Sequence[KnownLeader],
    problems: ProblemCollector,
) -> RecruiterRef | None:
    in_file = [r for r in records if value in (r.id, r.match_id)]
    if in_file:
        return RecruiterRef(line=in_file[0].line)
    if any(k.id == value for k in known):
        return RecruiterRef(leader_id=value)
    named = [r for r in records if r.name == value]
    stored = [k for k in known if k.name == value and k.id not in {r.match_id for r in records}]
    if len(named) + len(stored) > 1:
        where = [f"line {r.line}" for r in named] + [f"leader {k.id!r}" for k in stored]
        problems.add(rec.line, "recruiter", f"{value!r} names more than one leader ({', '.join(where)}): use the id")
        return None
    if named:
        return RecruiterRef(line=named[0].line)
    if stored:
        return RecruiterRef(leader_id=stored[0].id)
    problems.add(rec.line, "recruiter", f"no leader {value!r} in this file or among the stored leaders")
    return None


def _check_cycles(records: Sequence[LeaderRecord], known: Sequence[KnownLeader], problems: ProblemCollector) -> None:
    """Each row's recruiter chain, through the file's rows and the stored leaders, must end."""

    def node(rec: LeaderRecord) -> str:
        return rec.match_id or rec.id or f"#line{rec.line}"

    by_line = {rec.line: rec for rec in records}
    names: dict[str, str] = {k.id: k.name for k in known}
    edges: dict[str, str | None] = {k.id: k.recruiter_id for k in known}
    for rec in records:
        names[node(rec)] = rec.name
        ref = rec.recruiter
        target = None if ref is None else node(by_line[ref.line]) if ref.line is not None else ref.leader_id
        edges[node(rec)] = target
    for rec in records:
        start = node(rec)
        chain, current = [start], edges.get(start)
        while current is not None and current not in chain:
            chain.append(current)
            current = edges.get(current)
        if current == start:
            loop = " -> ".join(names.get(n, n) for n in [*chain, start])
            problems.add(rec.line, "recruiter", f"recruiters loop: {loop}")


def parse_leaders(data: bytes, filename: str, *, known: Sequence[KnownLeader] = ()) -> LeadersResult:
    """Parse a leaders file (CSV/TSV/XLSX; UTF-8, BOM or GB18030) against the ``known`` leaders.

    Raises :class:`~sidedata.errors.SideDataImportError` listing every problem; nothing is returned then.
    """
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems)
    parsed = [(row, _row(row, problems)) for row in table.rows]
    records = [rec for _row_, rec in parsed if rec is not None]
    _check_duplicates(table.rows, problems)
    records = [
        LeaderRecord(r.line, r.name, r.phone, r.id, r.wechat, None, r.status, r.communities, _match(r, known, problems))
        for r in records
    ]
    resolved: list[LeaderRecord] = []
    for row, _rec in parsed:
        rec = next((r for r in records if r.line == row.line), None)
        if rec is None:
            continue
        value = row.get("recruiter")
        ref = _recruiter(value, rec, records, known, problems) if value else None
        if ref is not None and (ref.line == rec.line or (ref.leader_id and ref.leader_id == rec.match_id)):
            problems.add(rec.line, "recruiter", "a leader cannot recruit themselves")
            ref = None
        resolved.append(LeaderRecord(**{**rec.__dict__, "recruiter": ref}))
    if not problems:
        _check_cycles(resolved, known, problems)
    problems.raise_if_any()
    warnings = list(table.warnings)
    if not resolved:
        warnings.append(f"{filename}: no leaders found")
    return LeadersResult(leaders=resolved, warnings=warnings, rows=len(table.rows))
