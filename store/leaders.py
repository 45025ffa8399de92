"""Community leaders: create, find, list, and resolve the leaders a clip request names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sidedata.leaders import KnownLeader, normalize_phone, split_communities
from store.errors import InvalidLeader as InvalidLeader  # re-exported
from store.errors import LeaderNotFound as LeaderNotFound
from store.models import Leader

ACTIVE, INACTIVE = "active", "inactive"
STATUSES = (ACTIVE, INACTIVE)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")  # a run of unsafe characters becomes one "-"


@dataclass(frozen=True)
class LeaderRef:
    """A leader as a clip request uses it: id and name from the row, the share URL from the request."""

    id: str
    name: str
    share_url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "share_url": self.share_url}


def clean_name(raw: object) -> str:
    return " ".join(str(raw or "").split())


def leader_id_for(name: str) -> str:
    """A file-name-safe id for a leader: ``"Lily"`` -> ``lily``; names with other characters
    (``"小王团长"``) get a stable hash suffix (``l-3f2a…``) so two names never share files."""
    slug = _UNSAFE.sub("-", name.strip()).strip("-._").lower()[:40]
    if slug and slug == name.strip().lower().replace(" ", "-"):
        return slug
    digest = hashlib.sha1(name.strip().encode()).hexdigest()[:10]
    return f"{slug}-{digest}" if slug else f"l-{digest}"


def check_id(leader_id: str) -> str:
    leader_id = leader_id.strip()
    if not leader_id or _UNSAFE.search(leader_id) or leader_id.startswith(".") or len(leader_id) > 64:
        raise InvalidLeader(f"leader id {leader_id!r} must be 1-64 letters, digits, '-', '_' or '.'")
    return leader_id


def clean_phone(raw: object) -> str | None:
    """A phone as stored (see :func:`sidedata.leaders.normalize_phone`); None when empty."""
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        return normalize_phone(text)
    except ValueError as exc:
        raise InvalidLeader(str(exc)) from exc


def clean_communities(raw: object) -> list[str]:
    """Community names from a list (or a ``;``/``、`` separated string), trimmed and deduplicated."""
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list | tuple) else None
    if items is None:
        raise InvalidLeader("communities must be a list of names")
    names: list[str] = []
    for item in items:
        for name in split_communities(str(item)):
            if len(name) > 100:
                raise InvalidLeader(f"community name {name[:20]!r}… is longer than 100 characters")
            if name not in names:
                names.append(name)
    return names


def check_recruiter(session: Session, leader_id: str | None, recruiter_id: str | None) -> str | None:
    """``recruiter_id`` when it is a leader and recruiting ``leader_id`` makes no loop; else InvalidLeader."""
    if recruiter_id is None:
        return None
    if session.get(Leader, recruiter_id) is None:
        raise InvalidLeader(f"recruiter {recruiter_id!r} is not a leader")
    seen: set[str] = set()
    current: str | None = recruiter_id
    while current is not None and current not in seen:
        if current == leader_id:
            raise InvalidLeader(f"recruiter {recruiter_id!r} would make a loop of recruiters")
        seen.add(current)
        row = session.get(Leader, current)
        current = row.recruiter_id if row is not None else None
    return recruiter_id


def known_leaders(session: Session) -> list[KnownLeader]:
    """Every stored leader as an import needs it (id, name, phone, recruiter)."""
    rows = session.execute(select(Leader.id, Leader.name, Leader.phone, Leader.recruiter_id)).all()
    return [KnownLeader(r.id, r.name, r.phone, r.recruiter_id) for r in rows]


def get_leader(session: Session, leader_id: str) -> Leader:
    row = session.get(Leader, leader_id)
    if row is None:
        raise LeaderNotFound(f"no leader {leader_id!r}")
    return row


def list_leaders(session: Session, *, status: str | None = None) -> list[Leader]:
    stmt = select(Leader).order_by(Leader.created_at, Leader.id)
    if status is not None:
        stmt = stmt.where(Leader.status == status)
    return list(session.scalars(stmt))


def _free_id(session: Session, base: str) -> str:
    taken = set(session.scalars(select(Leader.id).where(Leader.id.like(f"{base}%"))))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def create_leader(
    session: Session,
    *,
    name: str,
    phone: str | None = None,
    wechat: str | None = None,
    recruiter_id: str | None = None,
    leader_id: str | None = None,
    status: str = ACTIVE,
    communities: object = None,
) -> Leader:
    """A new leader (flushed, in the caller's transaction). Without ``leader_id`` the id is made from the name
    (``-2``, ``-3``… when two leaders share a name)."""
    name = clean_name(name)
    if not name:
        raise InvalidLeader("a leader needs a name")
    if status not in STATUSES:
        raise InvalidLeader(f"status must be one of {', '.join(STATUSES)}")
    check_recruiter(session, None, recruiter_id)
    if leader_id is not None:
        leader_id = check_id(leader_id)
        if session.get(Leader, leader_id) is not None:
            raise InvalidLeader(f"leader id {leader_id!r} is taken")
    else:
        leader_id = _free_id(session, leader_id_for(name))
    row = Leader(
        id=leader_id,
        name=name,
        phone=clean_phone(phone),
        wechat=(wechat or "").strip() or None,
        status=status,
        recruiter_id=recruiter_id,
        communities=clean_communities(communities),
    )
    session.add(row)
    session.flush()
    return row


def update_leader(session: Session, leader_id: str, changes: Mapping[str, Any]) -> Leader:
    """Apply ``changes`` (``name``, ``phone``, ``wechat``, ``status``, ``recruiter_id``, ``communities``) to a
    leader, checked as a new one is."""
    row = get_leader(session, leader_id)
    unknown = set(changes) - {"name", "phone", "wechat", "status", "recruiter_id", "communities"}
    if unknown:
        raise InvalidLeader(f"a leader has no field {sorted(unknown)[0]!r}")
    if "name" in changes:
        name = clean_name(changes["name"])
        if not name:
            raise InvalidLeader("a leader needs a name")
        row.name = name
    if "status" in changes:
        if changes["status"] not in STATUSES:
            raise InvalidLeader(f"status must be one of {', '.join(STATUSES)}")
        row.status = changes["status"]
    if "phone" in changes:
        row.phone = clean_phone(changes["phone"])
    if "wechat" in changes:
        row.wechat = str(changes["wechat"] or "").strip() or None
    if "recruiter_id" in changes:
        row.recruiter_id = check_recruiter(session, row.id, changes["recruiter_id"] or None)
    if "communities" in changes:
        row.communities = clean_communities(changes["communities"])
    session.flush()
    return row


def resolve_leaders(session: Session, items: Sequence[Mapping[str, Any]]) -> list[LeaderRef]:
    """The leaders a clip or process request names, as rows (created on the fly where the request says so).

    ``{"leader_id"}`` names an existing, active leader. ``{"name", "share_url"?, "id"?}`` is the leader with
    that id (default: the id made from the name), created if there is none. Raises :class:`LeaderNotFound`
    or :class:`InvalidLeader`; a leader named twice is an error.
    """
    refs: list[LeaderRef] = []
    seen: set[str] = set()
    for index, item in enumerate(items, 1):
        share_url = item.get("share_url") or None
        if item.get("leader_id"):
            row = get_leader(session, str(item["leader_id"]))
        else:
            name = clean_name(item.get("name"))
            if not name:
                raise InvalidLeader(f"leader {index}: give a leader_id, or a name")
            leader_id = check_id(str(item["id"])) if item.get("id") else leader_id_for(name)
            row = session.get(Leader, leader_id) or create_leader(session, name=name, leader_id=leader_id)
        if row.status != ACTIVE:
            raise InvalidLeader(f"leader {row.id!r} is {row.status}: it gets no new clips")
        if row.id in seen:
            raise InvalidLeader(f"leader {row.id!r} is named twice")
        seen.add(row.id)
        refs.append(LeaderRef(row.id, row.name, str(share_url) if share_url else None))
    return refs
