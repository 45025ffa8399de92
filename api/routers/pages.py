"""Server-rendered web pages: login, the recordings list and detail, and the resumable upload page.

Auth is the same API key as the JSON API, carried by the HttpOnly ``liveslice_key`` cookie. The
page routes use :class:`PageRoute`, which turns the API's 401 into a redirect to ``/login`` and
its 403/404 into friendly HTML pages. Nothing here loads anything from another host.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi import HTTPException as ApiError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy import distinct, func, select
from starlette.exceptions import HTTPException

import templates as templates_pkg
from api.charts import score_timeline
from api.deps import (
    CATALOG_ROLES,
    INGEST_ROLES,
    KEY_COOKIE,
    IngestKey,
    RecordingReader,
    SessionDep,
    SettingsDep,
    presented_key,
    settings_dep,
)
from api.errors import DOMAIN_ERRORS, error_response, http_error
from api.formatting import display_size, fmt_audio, fmt_duration, fmt_fps, fmt_seconds, fmt_size, iso
from api.i18n import CHINESE, ENGLISH, HTML_LANG, choose_locale, use_locale
from api.i18n import install as install_i18n
from api.job_forms import job_form_context
from api.page_headers import SECURITY_HEADERS, content_security_policy
from services.ingest import recording_warnings
from store import keys as key_store
from store.highlights import highlight_payload, latest_analysis, list_highlights
from store.models import (
    ApiKey,
    ChatEvent,
    Product,
    Recording,
    SideDataImport,
    StreamOrder,
    TimelineSegment,
    TranscriptCue,
)

TEMPLATES_DIR = Path(templates_pkg.__file__).parent
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGE_SIZE = 50
COOKIE_MAX_AGE = 30 * 24 * 3600
SEGMENT_LIMIT = 200
COMMON_ZONES = ("Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "UTC")


# --- formatting (Jinja filters) -------------------------------------------------------------


@lru_cache(maxsize=64)
def _static_version(path: str, mtime_ns: int) -> str:
    return hashlib.sha256((STATIC_DIR / path).read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """``/static/<path>?v=<content hash>`` so browsers pick up new CSS/JS at once."""
    file = STATIC_DIR / path
    if not file.is_file():
        return f"/static/{path}"
    return f"/static/{path}?v={_static_version(path, file.stat().st_mtime_ns)}"


TEMPLATES = Jinja2Templates(directory=TEMPLATES_DIR)
TEMPLATES.env.filters.update(
    duration=fmt_duration,
    filesize=fmt_size,
    fps=fmt_fps,
    display_size=display_size,
    seconds=fmt_seconds,
    iso=iso,
)
TEMPLATES.env.globals.update(static_url=static_url, fmt_audio=fmt_audio)
install_i18n(TEMPLATES.env)  # {% trans %}, _(), the localtime and number filters


# --- routing: 401 -> /login redirect, 403/404 -> HTML pages ---------------------------------


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200, *, chinese: bool = False
) -> Response:
    """Render ``name`` in the reader's language (Chinese by default for leaders and when ``chinese``) with the
    security headers every page carries."""
    context = context or {}
    leader = getattr(context.get("viewer"), "role", None) == "leader"
    locale = choose_locale(request, CHINESE if chinese or leader else ENGLISH)
    headers = {**SECURITY_HEADERS, "Content-Language": HTML_LANG[locale], "Vary": "Accept-Language, Cookie"}
    headers["Content-Security-Policy"] = content_security_policy(settings_dep(request))
    with use_locale(locale):
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def login_redirect(request: Request) -> RedirectResponse:
    """303 to ``/login?next=<this page>``; a stale cookie is dropped on the way."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    if request.cookies.get(KEY_COOKIE):
        response.delete_cookie(KEY_COOKIE, path="/")
    return response


def page_error(request: Request, exc: HTTPException) -> Response | None:
    """The HTML answer for an API error raised while serving a page, or None to keep the error."""
    if exc.status_code == 401:
        return login_redirect(request)
    if exc.status_code == 403:
        return render(request, "forbidden.html", {"detail": exc.detail}, status_code=403)
    if exc.status_code == 404:
        return render(request, "not_found.html", {"detail": exc.detail}, status_code=404)
    return None


class PageRoute(APIRoute):
    """A route whose auth and not-found errors become pages; ``*.json`` routes keep the API's JSON errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                if request.url.path.endswith(".json"):
                    raise
                response = page_error(request, exc)
                if response is None:
                    raise
                return response
            except DOMAIN_ERRORS as exc:  # as the API would answer, then as a page
                if request.url.path.endswith(".json"):
                    raise
                return page_error(request, http_error(exc)) or error_response(exc)

        return page_handler


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def viewer(key: ApiKey) -> dict[str, Any]:
    """Context every signed-in page gets for its header."""
    return {"viewer": key, "can_upload": key.role in INGEST_ROLES, "can_import_catalog": key.role in CATALOG_ROLES}


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (other hosts, ``//x``, ``/login``) is ``/``."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 32 for ch in value)
        or value.startswith("/login")
    ):
        return "/"
    return value


# --- login / logout -------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, session: SessionDep, next: str = "/") -> Response:
    """The key form. A browser that already holds a valid key goes straight on."""
    secret = presented_key(request)
    if secret and key_store.authenticate(session, secret) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    key: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the key; on success keep it in an HttpOnly, SameSite=Strict cookie."""
    secret = key.strip()
    row = key_store.authenticate(session, secret) if secret else None
    if row is None:
        error = "unknown" if secret else "missing"  # the template words it in the reader's language
        return render(request, "login.html", {"next": safe_next(next_url), "error": error}, status_code=401)
    return signed_in(request, secret, safe_next(next_url))


def signed_in(request: Request, secret: str, to: str) -> RedirectResponse:
    """A 303 to ``to`` that keeps the key in the HttpOnly, SameSite=Strict login cookie."""
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(
        KEY_COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout() -> Response:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/")
    return response


@router.get("/session.json")
def session_json(request: Request, session: SessionDep) -> JSONResponse:
    """Whether this browser's cookie is a live key. The login page asks, because a SameSite=Strict
    cookie is not sent when a link from another site leads here."""
    secret = presented_key(request)
    row = key_store.authenticate(session, secret) if secret else None
    body = {"authenticated": row is not None, "role": row.role if row else None}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# --- recordings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int

    @property
    def prev(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def _page_number(raw: str | None, pages: int) -> int:
    """``?page=`` as a page that exists: junk is 1, past the end is the last page."""
    try:
        return min(max(int(raw or "1"), 1), pages)
    except ValueError:
        return 1


@router.get("/")
@router.get("/recordings")
def recordings_page(
    request: Request, key: RecordingReader, session: SessionDep, settings: SettingsDep, page: str = "1"
) -> Response:
    """All recordings, newest first, 50 a page."""
    total = session.scalar(select(func.count()).select_from(Recording)) or 0
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    pager = Pager(page=_page_number(page, pages), pages=pages, total=total)
    rows = list(
        session.scalars(
            select(Recording)
            .order_by(Recording.created_at.desc(), Recording.id.desc())
            .limit(PAGE_SIZE)
            .offset((pager.page - 1) * PAGE_SIZE)
        )
    )
    context = {"recordings": rows, "pager": pager, "tz": settings.timezone, **viewer(key)}
    return render(request, "recordings.html", context)


def _count(session: SessionDep, model: Any, recording_id: str) -> int:
    return session.scalar(select(func.count()).select_from(model).where(model.recording_id == recording_id)) or 0


def side_data_counts(session: SessionDep, recording_id: str) -> dict[str, Any]:
    """How much side data a recording has: products and segments, chat by kind, orders, cues."""
    products = session.scalar(
        select(func.count(distinct(TimelineSegment.sku))).where(TimelineSegment.recording_id == recording_id)
    )
    chat_kinds = dict(
        session.execute(
            select(ChatEvent.kind, func.count())
            .where(ChatEvent.recording_id == recording_id)
            .group_by(ChatEvent.kind)
            .order_by(ChatEvent.kind)
        ).all()
    )
    qty, amount = session.execute(
        select(func.coalesce(func.sum(StreamOrder.qty), 0), func.coalesce(func.sum(StreamOrder.amount), 0)).where(
            StreamOrder.recording_id == recording_id
        )
    ).one()
    return {
        "products": products or 0,
        "segments": _count(session, TimelineSegment, recording_id),
        "chat": sum(chat_kinds.values()),
        "chat_kinds": chat_kinds,
        "orders": _count(session, StreamOrder, recording_id),
        "order_qty": int(qty or 0),
        "order_amount": Decimal(str(amount or 0)).quantize(Decimal("0.01")),
        "cues": _count(session, TranscriptCue, recording_id),
    }


def recording_timeline(session: SessionDep, rec: Recording) -> dict[str, Any] | None:
    """The score-timeline context of the recording's latest analysis and its highlights (``None``: nothing yet)."""
    analysis = latest_analysis(session, recording_id=rec.id)
    rows = list_highlights(session, recording_id=rec.id)
    if (analysis is None and not rows) or not rec.duration:
        return None
    series = analysis.series if analysis is not None and analysis.series else {}
    return score_timeline(series, [highlight_payload(row) for row in rows], duration=rec.duration)


@router.get("/recordings/{recording_id}")
def recording_page(
    request: Request, recording_id: str, key: RecordingReader, session: SessionDep, settings: SettingsDep
) -> Response:
    """One recording: every probe fact, side-data counts and the latest import of each kind."""
    rec = session.get(Recording, recording_id)
    if rec is None:
        detail = f"There is no recording {recording_id!r}."
        return render(request, "not_found.html", {"detail": detail, **viewer(key)}, status_code=404)
    return render(request, "recording.html", {**recording_context(session, settings, rec), **viewer(key)})


def recording_context(session: SessionDep, settings: SettingsDep, rec: Recording) -> dict[str, Any]:
    """The recording page's context (without the viewer), also used to show its "Make clips" form's errors."""
    imports = list(
        session.scalars(
            select(SideDataImport).where(SideDataImport.recording_id == rec.id).order_by(SideDataImport.kind)
        )
    )
    segments = session.execute(
        select(TimelineSegment, Product.name)
        .join(Product, Product.sku == TimelineSegment.sku, isouter=True)
        .where(TimelineSegment.recording_id == rec.id)
        .order_by(TimelineSegment.start)
        .limit(SEGMENT_LIMIT)
    ).all()
    from api.routers.clip_pages import recording_clips  # imports this module
    from api.routers.job_pages import recording_jobs  # imports this module

    return {
        "rec": rec,
        "recording_warnings": recording_warnings(rec),
        "clips": recording_clips(session, rec.id),
        "analysis": latest_analysis(session, recording_id=rec.id),
        "timeline": recording_timeline(session, rec),
        "counts": side_data_counts(session, rec.id),
        "imports": imports,
        "segments": segments,
        "segment_limit": SEGMENT_LIMIT,
        "tz": settings.timezone,
        "jobs": recording_jobs(session, rec.id),
        "job_form": job_form_context(),
    }


@router.get("/recordings/{recording_id}/status.json")
def recording_status(recording_id: str, _key: RecordingReader, session: SessionDep) -> JSONResponse:
    """Status for the pages' probing poll. Errors stay JSON (401/403/404)."""
    rec = session.get(Recording, recording_id)
    if rec is None:
        raise ApiError(404, {"code": "not_found", "message": f"no recording {recording_id!r}"})
    body = {"id": rec.id, "status": rec.status, "error": rec.error, "duration": rec.duration}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


# --- upload ---------------------------------------------------------------------------------


@router.get("/upload")
def upload_page(request: Request, key: IngestKey, settings: SettingsDep) -> Response:
    """The resumable (tus) upload form."""
    zones = dict.fromkeys([settings.timezone, *COMMON_ZONES])
    context = {"max_upload_bytes": settings.max_upload_bytes, "tz": settings.timezone, "timezones": zones}
    return render(request, "upload.html", {**context, **viewer(key)})
