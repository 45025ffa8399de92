"""Channel targets (where clips are published) and the channel types: admin and merchant manage them; a
leader's key reads only the leader's own groups. No answer ever holds a secret (masked, see
``services.targets.describe``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from services import targets as service
from store.models import ApiKey

router = APIRouter(tags=["targets"])

PUBLISH_ROLES = ("admin", "merchant")
Manager = Annotated[ApiKey, Depends(require_roles(*PUBLISH_ROLES))]
Reader = Annotated[ApiKey, Depends(require_roles(*PUBLISH_ROLES, "leader"))]


class TargetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=200)
    config: dict[str, Any] = Field(default_factory=dict)
    leader_id: str | None = Field(None, max_length=64, description="A leader's own group.")


class TargetUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    status: Literal["active", "disabled"] | None = None
    config: dict[str, Any] | None = Field(None, description="Replaces the whole config, secrets included.")


@router.get("/api/channels", summary="Channel types: fields, rates, caption limit (roles: admin, merchant, leader)")
def channels(settings: SettingsDep, _key: Reader) -> dict[str, Any]:
    return {"items": service.channel_catalog(settings)}


@router.post("/api/targets", status_code=status.HTTP_201_CREATED, summary="Add a target (roles: admin, merchant)")
def create_target(
    body: TargetCreate, response: Response, settings: SettingsDep, session: SessionDep, _key: Manager
) -> dict[str, Any]:
    target = service.create_target(
        settings, session, channel=body.type, name=body.name, config=body.config, leader_id=body.leader_id
    )
    session.commit()
    response.headers["Location"] = f"/api/targets/{target.id}"
    return service.describe(settings, target)


@router.get("/api/targets", summary="Targets, secrets masked (roles: admin, merchant; a leader sees its own)")
def list_targets(
    settings: SettingsDep,
    session: SessionDep,
    key: Reader,
    type: str | None = None,
    leader_id: str | None = None,
) -> dict[str, Any]:
    scope = leader_scope(key)
    rows = service.list_targets(session, leader_id=scope if scope is not None else leader_id, channel=type)
    return {"items": [service.describe(settings, row) for row in rows]}


@router.get("/api/targets/{target_id}", summary="A target, secrets masked")
def get_target(target_id: str, settings: SettingsDep, session: SessionDep, key: Reader) -> dict[str, Any]:
    return service.describe(settings, service.get_target(session, target_id, leader_id=leader_scope(key)))


@router.patch("/api/targets/{target_id}", summary="Rename, disable/enable, or replace the config (admin, merchant)")
def update_target(
    target_id: str, body: TargetUpdate, settings: SettingsDep, session: SessionDep, _key: Manager
) -> dict[str, Any]:
    target = service.update_target(settings, session, target_id, name=body.name, status=body.status, config=body.config)
    session.commit()
    return service.describe(settings, target)


@router.delete(
    "/api/targets/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a target and its publications (roles: admin, merchant)",
)
def delete_target(target_id: str, session: SessionDep, _key: Manager) -> Response:
    service.delete_target(session, target_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
