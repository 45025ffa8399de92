"""Publications: a clip sent to a target (for a leader or none), scheduled or now, in bulk, retried and
cancelled. Admin and merchant keys manage them; a leader's key reads its own. Sending happens on the
``publish`` queue after the commit (``pipeline.publishing.dispatch``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from pipeline.publishing import dispatch
from services import publishing as service
from services import publishing_bulk as bulk_service
from store.models import ApiKey
from workers.dispatch import enqueue_job

router = APIRouter(prefix="/api/publications", tags=["publications"])

Manager = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
Reader = Annotated[ApiKey, Depends(require_roles("admin", "merchant", "leader"))]


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    clip_id: str = Field(min_length=1, max_length=64)
    target_id: str = Field(min_length=1, max_length=64)
    leader_id: str | None = Field(None, max_length=64)
    scheduled_at: str | None = Field(
        None, max_length=64, description="ISO 8601; without an offset it is read in `timezone`."
    )
    timezone: str | None = Field(None, max_length=64, description="IANA name; default the server's (Asia/Shanghai).")


class BulkCreate(BaseModel):
    """``clip_ids`` × ``target_ids``, or ``leader_id``: every clip given to that leader to each of their groups."""

    model_config = ConfigDict(extra="forbid")

    clip_ids: list[str] = Field(default_factory=list, max_length=500)
    target_ids: list[str] = Field(default_factory=list, max_length=500)
    leader_id: str | None = Field(None, max_length=64)
    scheduled_at: str | None = Field(None, max_length=64)
    timezone: str | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _one_form(self) -> BulkCreate:
        if self.leader_id and (self.clip_ids or self.target_ids):
            raise ValueError("give either leader_id, or clip_ids with target_ids")
        if not self.leader_id and not (self.clip_ids and self.target_ids):
            raise ValueError("give clip_ids and target_ids (both non-empty), or leader_id")
        return self


@router.post("", status_code=status.HTTP_201_CREATED, summary="Publish a clip to a target (roles: admin, merchant)")
def create_publication(
    body: PublicationCreate, response: Response, settings: SettingsDep, session: SessionDep, key: Manager
) -> dict[str, Any]:
    publication = service.create_publication(
        settings,
        session,
        clip_id=body.clip_id,
        target_id=body.target_id,
        leader_id=body.leader_id,
        scheduled_at=body.scheduled_at,
        timezone=body.timezone,
        created_by=key.id,
    )
    session.commit()
    dispatch(settings, [publication.id], enqueue_job)  # after the commit; the reconciler covers a broker outage
    session.refresh(publication)
    response.headers["Location"] = f"/api/publications/{publication.id}"
    return service.publication_payload(publication)


@router.post("/bulk", status_code=status.HTTP_201_CREATED, summary="Publish many (roles: admin, merchant)")
def create_many(body: BulkCreate, settings: SettingsDep, session: SessionDep, key: Manager) -> dict[str, Any]:
    options: dict[str, Any] = {"scheduled_at": body.scheduled_at, "timezone": body.timezone, "created_by": key.id}
    if body.leader_id:
        result = bulk_service.publish_for_leader(settings, session, leader_id=body.leader_id, **options)
    else:
        result = bulk_service.publish_bulk(
            settings, session, clip_ids=body.clip_ids, target_ids=body.target_ids, **options
        )
    session.commit()
    dispatch(settings, [p.id for p in result.created], enqueue_job)
    for publication in result.created:
        session.refresh(publication)
    return {
        "created": [service.publication_payload(p) for p in result.created],
        "skipped": result.skipped,
    }


@router.get("", summary="Publications, newest first (roles: admin, merchant; a leader sees its own)")
def list_publications(
    session: SessionDep,
    key: Reader,
    status_: Annotated[str | None, Query(alias="status")] = None,
    clip_id: str | None = None,
    target_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    rows = service.list_publications(
        session,
        status=status_,
        clip_id=clip_id,
        target_id=target_id,
        leader_id=leader_scope(key),
        limit=limit,
    )
    return {"items": [service.publication_payload(p) for p in rows]}


@router.get("/{publication_id}", summary="A publication's status, attempts, last error and what was sent")
def get_publication(publication_id: str, session: SessionDep, key: Reader) -> dict[str, Any]:
    return service.publication_payload(service.get_publication(session, publication_id, leader_id=leader_scope(key)))


@router.post("/{publication_id}/retry", summary="Send again: failed, unknown (after checking the group), cancelled")
def retry(publication_id: str, settings: SettingsDep, session: SessionDep, _key: Manager) -> dict[str, Any]:
    publication = service.retry_publication(session, publication_id)
    session.commit()
    dispatch(settings, [publication.id], enqueue_job)
    session.refresh(publication)
    return service.publication_payload(publication)


@router.post("/{publication_id}/cancel", summary="Stop a publication that has not gone out (roles: admin, merchant)")
def cancel(publication_id: str, session: SessionDep, _key: Manager) -> dict[str, Any]:
    publication = service.cancel_publication(session, publication_id)
    session.commit()
    return service.publication_payload(publication)
