"""Community leaders: create and list them (admin, content, merchant); a leader's key sees only itself."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, UploadFile, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, leader_scope, require_roles
from services.leaders_import import MAX_LEADERS_BYTES, import_leaders
from store import leaders as repo
from store.models import ApiKey, Leader

router = APIRouter(prefix="/api/leaders", tags=["leaders"])

LEADER_ADMIN_ROLES = ("admin", "content", "merchant")
LeaderAdmin = Annotated[ApiKey, Depends(require_roles(*LEADER_ADMIN_ROLES))]
LeaderImporter = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
LeaderReader = Annotated[ApiKey, Depends(require_roles(*LEADER_ADMIN_ROLES, "leader"))]


class LeaderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=32)
    wechat: str | None = Field(None, max_length=64)
    recruiter_id: str | None = Field(None, max_length=64, description="The leader who brought this one in.")
    id: str | None = Field(None, max_length=64, description="Default: made from the name.")
    status: Literal["active", "inactive"] = "active"
    communities: list[str] = Field(default_factory=list, max_length=50, description="The groups they run.")


class LeaderUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    phone: str | None = Field(None, max_length=32)
    wechat: str | None = Field(None, max_length=64)
    status: Literal["active", "inactive"] | None = None
    recruiter_id: str | None = Field(None, max_length=64, description="null removes the recruiter.")
    communities: list[str] | None = Field(None, max_length=50)


def leader_payload(row: Leader) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "phone": row.phone,
        "wechat": row.wechat,
        "status": row.status,
        "recruiter_id": row.recruiter_id,
        "communities": list(row.communities or []),
        "created_at": row.created_at.isoformat(),
    }


def _visible(session: SessionDep, key: ApiKey, leader_id: str) -> Leader:
    scope = leader_scope(key)
    row = session.get(Leader, leader_id)
    if row is None or (scope is not None and row.id != scope):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no leader {leader_id!r}")
    return row


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a leader (roles: admin, content, merchant)")
def create_leader(body: LeaderCreate, session: SessionDep, _key: LeaderAdmin) -> dict[str, Any]:
    row = repo.create_leader(  # InvalidLeader answers 422 (api/errors.py)
        session,
        name=body.name,
        phone=body.phone,
        wechat=body.wechat,
        recruiter_id=body.recruiter_id,
        leader_id=body.id,
        status=body.status,
        communities=body.communities,
    )
    session.commit()
    return leader_payload(row)


@router.get("", summary="Leaders (roles: admin, content, merchant; a leader sees only itself)")
def list_leaders(session: SessionDep, key: LeaderReader) -> dict[str, Any]:
    scope = leader_scope(key)
    rows = repo.list_leaders(session) if scope is None else [repo.get_leader(session, scope)] if scope else []
    return {"items": [leader_payload(r) for r in rows]}


@router.get("/{leader_id}", summary="One leader (roles: admin, content, merchant; a leader: only itself)")
def get_leader(leader_id: str, session: SessionDep, key: LeaderReader) -> dict[str, Any]:
    return leader_payload(_visible(session, key, leader_id))


@router.patch("/{leader_id}", summary="Edit a leader, or make it inactive (roles: admin, content, merchant)")
def update_leader(leader_id: str, body: LeaderUpdate, session: SessionDep, _key: LeaderAdmin) -> dict[str, Any]:
    row = repo.update_leader(session, leader_id, body.model_dump(exclude_unset=True))  # 404 / 422: api/errors.py
    session.commit()
    return leader_payload(row)


@router.post(
    "/import",
    summary="Import leaders from CSV/XLSX (name, phone, wechat, recruiter; docs/FORMATS.md), all or nothing; "
    "updates by id, else by phone (roles: admin, merchant)",
)
async def import_leaders_file(
    session: SessionDep, _key: LeaderImporter, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    data = await file.read(MAX_LEADERS_BYTES + 1)
    # too large, or any bad row: api/errors.py answers (413; 422 listing `file:line: field: problem`)
    return import_leaders(session, data=data, filename=file.filename or "leaders.csv").to_dict()
