"""Sales reports as JSON or CSV, and their daily series for charts.

``GET /api/reports?group_by=clip|product|leader|channel|recording&from=&to=&tz=``: ``from``/``to`` are
inclusive dates in ``tz`` (an IANA zone; default ``LIVESLICE_TIMEZONE``), the last 30 days when left out.
``Accept: text/csv`` or ``/api/reports.csv`` answers CSV as a download. Admin and merchant keys see
everything; a leader key sees only its own links, attributed sales and commission.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from runtime.config import Settings
from services import reports
from services.report_period import Period, period
from store.models import ApiKey

router = APIRouter(prefix="/api", tags=["reports"])

REPORT_ROLES = ("admin", "merchant", "leader")
ReportReader = Annotated[ApiKey, Depends(require_roles(*REPORT_ROLES))]
CSV_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"  # so that Excel and WPS open the Chinese labels as UTF-8

GroupBy = Annotated[str, Query(description="clip, product, leader, channel or recording")]
From = Annotated[str | None, Query(alias="from", description="First day (YYYY-MM-DD, inclusive, in tz)")]
To = Annotated[str | None, Query(description="Last day (YYYY-MM-DD, inclusive, in tz)")]
Zone = Annotated[str | None, Query(description="IANA time zone, e.g. Asia/Shanghai (default: the server's)")]


def report_span(settings: Settings, start: str | None, end: str | None, tz: str | None) -> Period:
    return period(start, end, tz, default_tz=settings.timezone)


def report_body(session: SessionDep, key: ApiKey, group_by: str, span: Period) -> list[reports.ReportRow]:
    return reports.report(session, group_by=group_by, span=span, leader_id=leader_scope(key))


def csv_response(rows: list[reports.ReportRow], group_by: str, span: Period) -> Response:
    name = f"liveslice-report-{group_by}-{span.start.isoformat()}-{span.end.isoformat()}.csv"
    return Response(
        BOM + reports.report_csv(rows),
        media_type=CSV_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "text/csv" in accept and "application/json" not in accept


@router.get(
    "/reports",
    summary="Traffic, sales and commission per clip, product, leader, channel or recording (roles: admin, "
    "merchant; a leader sees their own)",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with Accept: text/csv"}},
    response_model=None,
)
def get_report(
    request: Request,
    settings: SettingsDep,
    session: SessionDep,
    key: ReportReader,
    group_by: GroupBy = "clip",
    start: From = None,
    to: To = None,
    tz: Zone = None,
) -> Response | dict[str, Any]:
    span = report_span(settings, start, to, tz)
    rows = report_body(session, key, group_by, span)
    if wants_csv(request):
        return csv_response(rows, group_by, span)
    return {"group_by": group_by, **span.to_dict(), "rows": [row.to_dict() for row in rows]}


@router.get("/reports.csv", summary="The report as a CSV download (roles as /api/reports)")
def get_report_csv(
    settings: SettingsDep,
    session: SessionDep,
    key: ReportReader,
    group_by: GroupBy = "clip",
    start: From = None,
    to: To = None,
    tz: Zone = None,
) -> Response:
    span = report_span(settings, start, to, tz)
    return csv_response(report_body(session, key, group_by, span), group_by, span)


@router.get(
    "/reports/timeseries", summary="One point a day: funnel counts, orders, GMV and refunds (roles as /api/reports)"
)
def get_timeseries(
    settings: SettingsDep, session: SessionDep, key: ReportReader, start: From = None, to: To = None, tz: Zone = None
) -> dict[str, Any]:
    span = report_span(settings, start, to, tz)
    return reports.timeseries(session, span=span, leader_id=leader_scope(key))
