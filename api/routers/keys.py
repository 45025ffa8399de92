"""API keys (admin only). The secret of a new key is returned once and never stored."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from api.deps import AdminKey, SessionDep
from store import keys as key_store
from store.models import ApiKey

router = APIRouter(prefix="/api/keys", tags=["keys"])


class KeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: str = Field(description="admin, content, merchant or leader")


def _public(row: ApiKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "role": row.role,
        "prefix": row.prefix,
        "created_at": row.created_at.isoformat(),
        "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
    }


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a key (roles: admin)")
def create_key(body: KeyCreate, session: SessionDep, _key: AdminKey) -> dict[str, Any]:
    try:
        issued = key_store.create_key(session, name=body.name, role=body.role)
    except key_store.InvalidKeyRequest as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
    return {"id": issued.id, "name": issued.name, "role": issued.role, "key": issued.secret}


@router.get("", summary="List keys, without secrets (roles: admin)")
def list_keys(session: SessionDep, _key: AdminKey) -> list[dict[str, Any]]:
    return [_public(row) for row in key_store.list_keys(session)]


@router.delete("/{key_id}", summary="Revoke a key (roles: admin)")
def revoke_key(key_id: str, session: SessionDep, _key: AdminKey) -> dict[str, Any]:
    try:
        row = key_store.revoke_key(session, key_id=key_id)
    except key_store.InvalidKeyRequest as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    session.commit()
    return _public(row)
