"""Web pages for review and publishing: a clip's review (approve and give to leaders), channel targets
(add, disable, remove) and publications (publish approved clips to targets now or at a time, watch
their status live, retry and cancel).

Admin and merchant keys only (others get the 403 page). Forms post to these page routes with the
SameSite=Strict login cookie (``api.job_forms.SameSite`` refuses a post a browser marks as cross-site).
The publications page's script polls ``GET /api/publications`` while something is on its way; secrets
are never rendered: targets show :func:`services.targets.describe`, which masks them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep, require_roles
from api.job_forms import SameSite
from api.routers.pages import PageRoute, render, viewer
from pipeline.publishing import dispatch
from runtime.config import Settings
from services import publishing, publishing_bulk, review
from services import targets as target_service
from services.delivery import safe_external_url
from services.errors import ServiceError
from store import clips as clip_repo
from store.models import ApiKey, ChannelTarget, Clip, Leader, Publication
from workers.dispatch import enqueue_job

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Manager = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
#: statuses whose rows the page keeps polling
LIVE = ("scheduled", "pending", "sending", "retrying")


# --- targets ------------------------------------------------------------------------------------


def _targets_context(settings: Settings, session: Session, key: ApiKey, **extra: Any) -> dict[str, Any]:
    leaders = {leader.id: leader for leader in session.scalars(select(Leader).order_by(Leader.name))}
    rows = [
        {**target_service.describe(settings, t), "leader": leaders.get(t.leader_id or "")}
        for t in target_service.list_targets(session)
    ]
    return {
        **viewer(key),
        "nav": "targets",
        "targets": rows,
        "channels": target_service.channel_catalog(settings),
        "leaders": [leader for leader in leaders.values() if leader.status == "active"],
        "form": {},
        "error": None,
        **extra,
    }


@router.get("/targets")
def targets_page(request: Request, key: Manager, session: SessionDep, settings: SettingsDep) -> Response:
    """Every target with its masked config, and the form to add one."""
    return render(request, "targets.html", _targets_context(settings, session, key))


@router.post("/targets")
async def add_target(
    request: Request, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """Add a target from the form (``type``, ``name``, ``leader_id``, ``config.<field>``)."""
    form = await request.form()
    channel = str(form.get("type") or "")
    prefix = f"config.{channel}."
    config = {name[len(prefix) :]: str(value) for name, value in form.items() if name.startswith(prefix) and value}
    try:
        target_service.create_target(
            settings,
            session,
            channel=channel,
            name=str(form.get("name") or ""),
            config=config,
            leader_id=str(form.get("leader_id") or "") or None,
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        shown = {"type": channel, "name": str(form.get("name") or ""), "leader_id": str(form.get("leader_id") or "")}
        context = _targets_context(settings, session, key, form=shown, error=str(exc))
        return render(request, "targets.html", context, status_code=422)  # secrets are not echoed back
    return RedirectResponse("/targets", status_code=303)


@router.post("/targets/{target_id}/status")
async def set_target_status(
    request: Request, target_id: str, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """Disable or enable a target (disabled targets get no new publications)."""
    form = await request.form()
    wanted = "disabled" if form.get("status") == "disabled" else "active"
    target_service.update_target(settings, session, target_id, status=wanted)
    session.commit()
    return RedirectResponse("/targets", status_code=303)


@router.post("/targets/{target_id}/delete")
def delete_target(target_id: str, key: Manager, session: SessionDep, _site: SameSite) -> Response:
    """Remove a target (its publications go with it)."""
    target_service.delete_target(session, target_id)
    session.commit()
    return RedirectResponse("/targets", status_code=303)


# --- publications -------------------------------------------------------------------------------


def _publication_rows(session: Session, publications: list[Publication]) -> list[dict[str, Any]]:
    clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_({p.clip_id for p in publications})))}
    targets = {
        t.id: t
        for t in session.scalars(select(ChannelTarget).where(ChannelTarget.id.in_({p.target_id for p in publications})))
    }
    leaders = {
        leader.id: leader
        for leader in session.scalars(
            select(Leader).where(Leader.id.in_({p.leader_id for p in publications if p.leader_id}))
        )
    }
    rows = []
    for publication in publications:
        clip, target = clips.get(publication.clip_id), targets.get(publication.target_id)
        leader = leaders.get(publication.leader_id or "")
        rows.append(
            {
                **publishing.publication_payload(publication),
                "clip_title": (clip.title or clip.id[:8]) if clip else publication.clip_id[:8],
                "target_name": target.name if target else "—",
                "target_type": target.type if target else "",
                "leader_name": leader.name if leader else None,
                "external_link": safe_external_url(publication.external_url),  # http(s) only, as a link
            }
        )
    return rows


@router.get("/publications")
def publications_page(
    request: Request, key: Manager, session: SessionDep, settings: SettingsDep, status: str | None = None
) -> Response:
    """Publications, newest first, live; and the form to publish approved clips to targets."""
    rows = _publication_rows(session, publishing.list_publications(session, status=status or None, limit=200))
    approved = list(
        session.scalars(
            select(Clip)
            .where(Clip.review_status == "approved", Clip.status == "ready")
            .order_by(Clip.approved_at.desc())
        )
    )
    active = target_service.list_targets(session, status="active")
    context = {
        **viewer(key),
        "nav": "publications",
        "publications": rows,
        "status": status,
        "statuses": publishing.STATUSES,
        "clips": approved,
        "targets": active,
        "timezone": settings.timezone,
        "live": any(row["status"] in LIVE for row in rows),
        "notice": request.query_params.get("notice"),
    }
    return render(request, "publications.html", context)


@router.post("/publications")
async def publish_form(
    request: Request, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """Publish the chosen clips to the chosen targets, now or at ``scheduled_at`` (in ``timezone``)."""
    form = await request.form()
    result = publishing_bulk.publish_bulk(
        settings,
        session,
        clip_ids=[str(v) for v in form.getlist("clip_ids")],
        target_ids=[str(v) for v in form.getlist("target_ids")],
        scheduled_at=str(form.get("scheduled_at") or "") or None,
        timezone=str(form.get("timezone") or "") or None,
        created_by=key.id,
    )
    session.commit()
    dispatch(settings, [p.id for p in result.created], enqueue_job)
    return RedirectResponse(f"/publications?notice={len(result.created)}", status_code=303)


@router.post("/publications/{publication_id}/{action}")
def publication_action(
    publication_id: str, action: str, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """The retry and cancel buttons (without the page's script)."""
    if action == "retry":
        publication = publishing.retry_publication(session, publication_id)
        session.commit()
        dispatch(settings, [publication.id], enqueue_job)
    elif action == "cancel":
        publishing.cancel_publication(session, publication_id)
        session.commit()
    else:
        return RedirectResponse("/publications", status_code=303)
    return RedirectResponse("/publications", status_code=303)


# --- review -------------------------------------------------------------------------------------


def _review_context(session: Session, key: ApiKey, clip: Clip, **extra: Any) -> dict[str, Any]:
    state = review.current_review(session, clip_id=clip.id)
    leaders = list(session.scalars(select(Leader).where(Leader.status == "active").order_by(Leader.name)))
    given = set(state["leaders"])
    return {
        **viewer(key),
        "nav": "clips",
        "clip": clip,
        "review": state,
        "leaders": leaders,
        "chosen": given or {leader.id for leader in leaders},
        "errors": state["errors"],
        "warnings": state["warnings"],
        "message": None,
        **extra,
    }


@router.get("/clips/{clip_id}/review")
def review_page(request: Request, clip_id: str, key: Manager, session: SessionDep) -> Response:
    """Edit a clip's title, caption and hashtags, see the advertising-law findings, approve and give it."""
    clip = clip_repo.get_clip(session, clip_id=clip_id)
    return render(request, "review.html", _review_context(session, key, clip))


@router.post("/clips/{clip_id}/review")
async def approve_form(
    request: Request, clip_id: str, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """Approve with the form's text and leaders; lint errors show on the page (422) and nothing changes."""
    form = await request.form()
    title, caption = str(form.get("title") or ""), str(form.get("caption") or "")
    hashtags = [tag for tag in str(form.get("hashtags") or "").replace("，", ",").replace(" ", ",").split(",") if tag]
    leader_ids = [str(v) for v in form.getlist("leader_ids")]
    try:
        review.approve_clip(
            settings,
            session,
            clip_id=clip_id,
            title=title,
            caption=caption,
            hashtags=hashtags,
            leader_ids=leader_ids,
            approved_by=key.id,
        )
    except review.InvalidReview as exc:
        clip = clip_repo.get_clip(session, clip_id=clip_id)
        typed = {"title": title, "caption": caption, "hashtags": hashtags}
        context = _review_context(
            session,
            key,
            clip,
            typed=typed,
            chosen=set(leader_ids),
            errors=exc.extra.get("errors", []),
            warnings=exc.extra.get("warnings", []),
            message=str(exc),
        )
        return render(request, "review.html", context, status_code=422)
    return RedirectResponse(f"/clips/{clip_id}/review?approved=1", status_code=303)
