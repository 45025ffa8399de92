"""The sales dashboard (``/dashboard``, admin and merchant): the funnel and GMV over time as server-drawn SVG,
the top clips, the leaders' leaderboard, a CSV download, and what sold by highlight signal with a button
that saves the suggested weights as a named preset for the next analysis.

The charts are drawn by :mod:`api.report_charts` from the template (their labels translated there); the
figures come from :mod:`services.reports` and :mod:`services.tuning`, as the JSON API's do.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep, require_roles
from api.job_forms import SameSite
from api.report_charts import funnel_svg, gmv_svg, money
from api.routers.pages import COMMON_ZONES, TEMPLATES, PageRoute, render, viewer
from runtime.config import Settings
from services import reports, tuning, weight_presets
from services.errors import ServiceError
from services.report_period import InvalidReport, Period, period
from store.models import ApiKey

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Manager = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
TOP = 10
TEMPLATES.env.globals.update(funnel_svg=funnel_svg, gmv_svg=gmv_svg, money=money)


def _query(span: Period, **extra: str) -> str:
    return urlencode({"from": span.start.isoformat(), "to": span.end.isoformat(), "tz": span.tz, **extra})


def dashboard_context(
    settings: Settings, session: Session, key: ApiKey, span: Period, *, base: str = "sales", **extra: Any
) -> dict[str, Any]:
    """Everything the page shows for ``span``; ``base``: the weight preset the tuning section improves."""
    series = reports.timeseries(session, span=span)
    try:
        signals: tuning.Breakdown | None = tuning.breakdown(session, base=base, min_sales=settings.tuning_min_sales)
    except tuning.UnknownBase:
        signals = tuning.breakdown(session, base="sales", min_sales=settings.tuning_min_sales)
    return {
        **viewer(key),
        "nav": "dashboard",
        "span": span,
        "timezones": list(dict.fromkeys([span.tz, settings.timezone, *COMMON_ZONES])),
        "series": series,
        "clips": reports.report(session, group_by="clip", span=span)[:TOP],
        "leaders": reports.report(session, group_by="leader", span=span)[:TOP],
        "csv_links": {group: f"/api/reports.csv?{_query(span, group_by=group)}" for group in reports.GROUPS},
        "tuning": signals,
        "presets": weight_presets.list_presets(session),
        "query": _query(span),
        "error": None,
        "saved": None,
        **extra,
    }


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    key: Manager,
    session: SessionDep,
    settings: SettingsDep,
    start: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
    tz: str | None = None,
    saved: str | None = None,
) -> Response:
    """The dashboard for a date range (default: the last 30 days in the server's zone)."""
    try:
        span = period(start, to, tz, default_tz=settings.timezone)
    except InvalidReport as exc:
        span = period(None, None, None, default_tz=settings.timezone)
        context = dashboard_context(settings, session, key, span, error=str(exc), saved=saved)
        return render(request, "dashboard.html", context, status_code=422)
    return render(request, "dashboard.html", dashboard_context(settings, session, key, span, saved=saved))


@router.post("/dashboard/weight-presets")
def save_suggestion(
    request: Request,
    key: Manager,
    session: SessionDep,
    settings: SettingsDep,
    _site: SameSite,
    name: Annotated[str, Form()] = "",
    base: Annotated[str, Form()] = "sales",
) -> Response:
    """Save the suggestion (computed again here, never taken from the form) as the preset ``name``."""
    try:
        suggestion = tuning.suggest(session, base=base, min_sales=settings.tuning_min_sales)
        row = weight_presets.save_preset(
            session,
            name=name,
            weights=suggestion.suggested_weights,
            based_on_sales=suggestion.sales_count,
            note=f"suggested from {suggestion.sales_count} attributed sales, based on {base}",
        )
        session.commit()
    except ServiceError as exc:
        session.rollback()
        span = period(None, None, None, default_tz=settings.timezone)
        context = dashboard_context(settings, session, key, span, base=base, error=str(exc), preset_name=name)
        return render(
            request, "dashboard.html", context, status_code=422 if not isinstance(exc, tuning.NotEnoughSales) else 409
        )
    return RedirectResponse(f"/dashboard?{urlencode({'saved': row.name})}#tuning", status_code=303)
