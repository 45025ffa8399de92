"""Processing-job web pages: the jobs list, a live job page, "Make clips" on a recording, the product catalog.

Same auth and error pages as :mod:`api.routers.pages` (leader keys get 403). Forms post to these
page routes with the SameSite=Strict login cookie, which no other site's form or script carries;
a post a browser marks as sent from another site is refused too. Starting a job commits its row,
then drives it: a broker outage only delays the job (the reconciler sends its stages), it never
fails the request. The job page's script polls ``GET /api/jobs/{id}``, which takes the cookie.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.i18n import fmt_eta
from api.job_forms import (
    PRODUCT_FORM,
    FormError,
    JobForm,
    PostedForm,
    SameSite,
    form_options,
    job_form_context,
    start_job,
)
from api.routers.jobs import JobEditor
from api.routers.pages import TEMPLATES, Pager, PageRoute, _page_number, recording_context, render, viewer
from pipeline import plan
from pipeline.advance import PipelineStateError, request_cancel, retry_failed
from pipeline.status import job_view
from runtime.config import Settings
from store.models import ApiKey, Job, Product, Recording, StreamOrder, TimelineSegment
from studio.cards import format_price
from workers.dispatch import enqueue_job

router = APIRouter(route_class=PageRoute, include_in_schema=False)

JOBS_PAGE_SIZE = 50
PRODUCTS_PAGE_SIZE = 50
RECENT_JOBS = 20
LIVE = ("queued", "running")


def fmt_percent(fraction: float | None) -> str:
    """``0.427`` -> ``42%`` (floored: 100% only when done); the job page's script writes the same."""
    return f"{math.floor(max(0.0, min(1.0, fraction or 0.0)) * 100)}%"


TEMPLATES.env.filters.update(percent=fmt_percent, eta=fmt_eta)


def _to_job(job_id: str) -> RedirectResponse:
    return RedirectResponse(f"/jobs/{job_id}", status_code=status.HTTP_303_SEE_OTHER)


# --- job rows: the jobs list, a recording's jobs, the product jobs ---------------------------


def job_rows(session: Session, jobs: list[Job]) -> list[dict[str, Any]]:
    """Each job's view (live status, stage, progress) with what it is about: a recording or a SKU."""
    titles: dict[str, str] = {}
    names: dict[str, str] = {}
    rows = []
    for job in jobs:
        row = {**job_view(session, job), "created": job.created_at, "subject": None, "subject_url": None}
        sku = (job.options or {}).get("sku")
        if sku:
            if sku not in names:
                product = session.get(Product, sku)
                names[sku] = product.name if product is not None else ""
            row.update(subject=f"{sku} {names[sku]}".strip(), subject_url=f"/products?q={quote(sku)}")
        elif job.recording_id:
            if job.recording_id not in titles:
                rec = session.get(Recording, job.recording_id)
                titles[job.recording_id] = rec.title if rec is not None else job.recording_id
            row.update(subject=titles[job.recording_id], subject_url=f"/recordings/{job.recording_id}")
        rows.append(row)
    return rows


def _top_level(kind: str | tuple[str, ...]) -> Any:
    kinds = (kind,) if isinstance(kind, str) else kind
    return select(Job).where(Job.parent_id.is_(None), Job.kind.in_(kinds))


def recording_jobs(session: Session, recording_id: str) -> list[dict[str, Any]]:
    """The recording's processing jobs, newest first (for its page)."""
    stmt = _top_level(plan.PROCESS).where(Job.recording_id == recording_id)
    return job_rows(session, list(session.scalars(stmt.order_by(Job.created_at.desc()).limit(RECENT_JOBS))))


@router.get("/jobs")
def jobs_page(
    request: Request, key: JobEditor, session: SessionDep, settings: SettingsDep, page: str = "1", kind: str = ""
) -> Response:
    """Processing and product jobs, newest first, with their status, stage and percent."""
    kinds = (kind,) if kind in plan.PIPELINE_KINDS else plan.PIPELINE_KINDS
    total = session.scalar(select(func.count()).select_from(_top_level(kinds).subquery())) or 0
    pages = max(math.ceil(total / JOBS_PAGE_SIZE), 1)
    pager = Pager(page=_page_number(page, pages), pages=pages, total=total)
    stmt = _top_level(kinds).order_by(Job.created_at.desc(), Job.id.desc())
    jobs = list(session.scalars(stmt.limit(JOBS_PAGE_SIZE).offset((pager.page - 1) * JOBS_PAGE_SIZE)))
    context = {
        "jobs": job_rows(session, jobs),
        "pager": pager,
        "kind": kinds[0] if len(kinds) == 1 else "",
        "tz": settings.timezone,
        "nav": "jobs",
        **viewer(key),
    }
    return render(request, "jobs.html", context)


# --- one job ---------------------------------------------------------------------------------


def _job_page(
    request: Request,
    key: ApiKey,
    session: Session,
    settings: Settings,
    job: Job,
    *,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    (row,) = job_rows(session, [job])
    sku = (job.options or {}).get("sku")
    product = session.get(Product, sku) if sku else None
    context = {
        "job": row,
        "row": job,
        "product": product,
        "message": message,
        "live": LIVE,
        "retryable": job.kind in plan.PIPELINE_KINDS and row["status"] in ("failed", "cancelled"),
        "tz": settings.timezone,
        "nav": "jobs",
        **viewer(key),
    }
    return render(request, "job.html", context, status_code=status_code)


def _job(session: Session, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no job {job_id!r}.")
    return job


@router.get("/jobs/{job_id}")
def job_page(request: Request, job_id: str, key: JobEditor, session: SessionDep, settings: SettingsDep) -> Response:
    """One job, server-rendered; ``jobs.js`` keeps it live while it is queued or running."""
    job = _job(session, job_id)
    if job.parent_id is not None:  # a stage: show its pipeline
        return _to_job(job.parent_id)
    return _job_page(request, key, session, settings, job)


def _job_action(
    request: Request, job_id: str, key: ApiKey, session: Session, settings: Settings, action: Any
) -> Response:
    _job(session, job_id)
    session.rollback()
    try:
        action(settings, job_id)
    except PipelineStateError as exc:
        session.expire_all()
        return _job_page(request, key, session, settings, _job(session, job_id), message=str(exc), status_code=409)
    return _to_job(job_id)


@router.post("/jobs/{job_id}/cancel")
def cancel_job_form(
    request: Request, job_id: str, key: JobEditor, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """The Cancel button without JavaScript (the script posts to ``/api/jobs/{id}/cancel``)."""
    return _job_action(request, job_id, key, session, settings, request_cancel)


@router.post("/jobs/{job_id}/retry")
def retry_job_form(
    request: Request, job_id: str, key: JobEditor, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """The "Retry failed parts" button without JavaScript."""
    return _job_action(request, job_id, key, session, settings, partial(retry_failed, send=enqueue_job))


# --- starting jobs: a recording's "Make clips", a product's "Clips of this product" -----------


@router.post("/recordings/{recording_id}/process")
def process_form(
    request: Request,
    recording_id: str,
    form: PostedForm,
    key: JobEditor,
    session: SessionDep,
    settings: SettingsDep,
    _site: SameSite,
) -> Response:
    """Start processing the recording into clips, then go to the job's page (errors: the form again)."""
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"There is no recording {recording_id!r}.")
    code = 422
    try:
        if rec.status == "failed":
            code = status.HTTP_409_CONFLICT
            raise FormError(f"This recording failed its probe, so it cannot be clipped: {rec.error or 'no reason'}")
        options = form_options(session, form, duration=rec.duration)
    except FormError as exc:
        form.error = str(exc)
        context = {**recording_context(session, settings, rec), "job_form": job_form_context(form), **viewer(key)}
        return render(request, "recording.html", context, status_code=code)
    return _to_job(start_job(settings, session, kind=plan.PROCESS, recording_id=rec.id, options=options))


def _recording_counts(session: Session, skus: list[str]) -> dict[str, int]:
    """How many recordings each SKU is on the timeline of, or sold in."""
    found: dict[str, set[str]] = {}
    for model in (TimelineSegment, StreamOrder):
        pairs = session.execute(select(model.sku, model.recording_id).where(model.sku.in_(skus)).distinct())
        for sku, recording_id in pairs:
            found.setdefault(sku, set()).add(recording_id)
    return {sku: len(ids) for sku, ids in found.items()}


def _products_page(
    request: Request,
    key: ApiKey,
    session: Session,
    settings: Settings,
    *,
    page: str,
    q: str,
    form: JobForm | None = None,
    form_sku: str | None = None,
    status_code: int = 200,
) -> Response:
    stmt = select(Product)
    if q.strip():
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Product.sku).like(pattern), func.lower(Product.name).like(pattern)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(math.ceil(total / PRODUCTS_PAGE_SIZE), 1)
    pager = Pager(page=_page_number(page, pages), pages=pages, total=total)
    rows = list(
        session.scalars(
            stmt.order_by(Product.sku).limit(PRODUCTS_PAGE_SIZE).offset((pager.page - 1) * PRODUCTS_PAGE_SIZE)
        )
    )
    counts = _recording_counts(session, [p.sku for p in rows]) if rows else {}
    products = [
        {"row": p, "price_text": format_price(p.price, p.currency or "CNY"), "recordings": counts.get(p.sku, 0)}
        for p in rows
    ]
    recent = session.scalars(_top_level(plan.PRODUCT).order_by(Job.created_at.desc()).limit(RECENT_JOBS))
    context = {
        "products": products,
        "pager": pager,
        "q": q.strip(),
        "jobs": job_rows(session, list(recent)),
        "form_sku": form_sku,
        "job_form": job_form_context(form),
        "default_form": job_form_context(PRODUCT_FORM),
        "tz": settings.timezone,
        "nav": "products",
        **viewer(key),
    }
    return render(request, "products.html", context, status_code=status_code)


@router.get("/products")
def products_page(
    request: Request, key: JobEditor, session: SessionDep, settings: SettingsDep, page: str = "1", q: str = ""
) -> Response:
    """The product catalog; each product can start a job for its best moments across all recordings."""
    return _products_page(request, key, session, settings, page=page, q=q)


@router.post("/products/{sku}/clips")
def product_clips_form(
    request: Request,
    sku: str,
    form: PostedForm,
    key: JobEditor,
    session: SessionDep,
    settings: SettingsDep,
    _site: SameSite,
) -> Response:
    """Start a product job (the SKU's best moments), then go to its page (errors: the product again)."""
    if session.get(Product, sku) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"Unknown SKU {sku!r}: it is not in the product catalog.")
    try:
        options = form_options(session, form, sku=sku)
    except FormError as exc:
        form.error = str(exc)
        return _products_page(
            request,
            key,
            session,
            settings,
            page="1",
            q=sku,
            form=form,
            form_sku=sku,
            status_code=422,
        )
    return _to_job(start_job(settings, session, kind=plan.PRODUCT, recording_id=None, options=options))
