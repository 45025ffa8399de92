"""Import community leaders from CSV/XLSX in one transaction (all or nothing).

Each row updates the leader with its ``id``, else the leader with the same phone number (phones are
stored normalised, so ``+86 138-0013-8000`` matches ``13800138000``), else creates a leader (the id given,
or one made from the name). On an update, empty optional cells (wechat, status, communities, recruiter)
leave the stored value as it is; nothing is ever deleted. Recruiters are set once every row exists, so a
row may name a recruiter that comes later in the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from services.errors import InvalidRequest, ServiceError, TooLarge
from sidedata.errors import SideDataError
from sidedata.leaders import LeaderRecord, parse_leaders
from store import leaders as repo
from store.models import Leader

MAX_LEADERS_BYTES = 20 * 1024 * 1024


class LeadersImportError(ServiceError, SideDataError):
    """The import request itself is wrong (also a ``SideDataError``, as the side-data imports are)."""

    code = "bad_request"


class LeadersFileTooLarge(TooLarge, LeadersImportError):
    pass


class EmptyLeadersFile(InvalidRequest, LeadersImportError):
    pass


@dataclass
class LeadersImportReport:
    filename: str
    rows: int
    created: int
    updated: int
    ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_leaders(session: Session, *, data: bytes, filename: str) -> LeadersImportReport:
    """Parse and store a leaders file; commits on success, rolls back on any problem.

    Raises :class:`sidedata.errors.SideDataImportError` listing every bad row as ``file:line: field: problem``.
    """
    if len(data) > MAX_LEADERS_BYTES:
        raise LeadersFileTooLarge("the leaders file is larger than 20 MB")
    if not data.strip():
        raise EmptyLeadersFile(f"{filename}: the file is empty")
    try:
        result = parse_leaders(data, filename, known=repo.known_leaders(session))
        rows: dict[int, Leader] = {}
        created = updated = 0
        for record in result.leaders:
            if record.match_id is not None:
                rows[record.line] = _update(session, record)
                updated += 1
            else:
                rows[record.line] = repo.create_leader(
                    session,
                    name=record.name,
                    phone=record.phone,
                    wechat=record.wechat,
                    leader_id=record.id,
                    status=record.status or repo.ACTIVE,
                    communities=list(record.communities or ()),
                )
                created += 1
        for record in result.leaders:
            ref = record.recruiter
            if ref is not None:
                recruiter = rows[ref.line].id if ref.line is not None else ref.leader_id
                rows[record.line].recruiter_id = recruiter  # loops were ruled out by the parser
        session.flush()
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return LeadersImportReport(
        filename=filename,
        rows=len(result.leaders),
        created=created,
        updated=updated,
        ids=[rows[r.line].id for r in result.leaders],
        warnings=list(result.warnings),
    )


def _update(session: Session, record: LeaderRecord) -> Leader:
    assert record.match_id is not None
    row = repo.get_leader(session, record.match_id)
    row.name, row.phone = record.name, record.phone
    if record.wechat:
        row.wechat = record.wechat
    if record.status:
        row.status = record.status
    if record.communities is not None:
        row.communities = list(record.communities)
    return row
