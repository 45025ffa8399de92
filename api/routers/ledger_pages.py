"""Web pages for commissions (admin and merchant keys; others get the 403 page):

- ``/commission``: the rates as one form (the default and the recruiter's level-2 percentage, then rows by product
  or by leader, a percentage or a fixed amount in yuan per unit). Saving replaces the whole set, as
  ``PUT /api/commission/rates`` does.
- ``/payouts``: every leader's balances, a form that makes a batch of what is available above a minimum, and the
  batches with their CSV for finance and a confirm button.

Forms post with the SameSite=Strict login cookie (``api.job_forms.SameSite`` refuses cross-site posts).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import SessionDep, SettingsDep, require_roles
from api.job_forms import SameSite
from api.routers.pages import PageRoute, render, viewer
from services import ledger, payouts
from services.errors import ServiceError
from sidedata.money import currency_digits, to_minor
from store.models import ApiKey, Leader

router = APIRouter(route_class=PageRoute, include_in_schema=False)
Manager = Annotated[ApiKey, Depends(require_roles("admin", "merchant"))]
BLANK_ROWS = 3
MAX_ROWS = 500


class FormProblem(ValueError):
    """A form value that cannot be read; the message names it."""


def yuan_to_minor(text: str, label: str, currency: str = ledger.DEFAULT_CURRENCY) -> int:
    """``"3"``, ``"3.5"``, ``"3.05"`` yuan as fen (other currencies with their own decimals: JPY none, KWD three);
    not negative."""
    digits = currency_digits(currency)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise FormProblem(f"{label}: {text!r} is not an amount (e.g. 3.50)") from None
    if not value.is_finite() or value < 0:
        raise FormProblem(f"{label}: {text!r} is not an amount with at most {digits} decimals")
    try:
        return to_minor(value, currency)
    except ValueError:
        raise FormProblem(f"{label}: {text!r} is not an amount with at most {digits} decimals") from None


# --- rates ----------------------------------------------------------------------------------------


def rate_rows(rates: list[dict[str, Any]]) -> dict[str, Any]:
    """The rates as the form shows them: the two default percentages, and rows for the rest plus blank rows."""
    defaults = {r["level"]: r for r in rates if r["scope"] == "default"}
    rows = [
        {
            "scope": r["scope"],
            "key": r["key"] or "",
            "level": r["level"],
            "kind": r["kind"],
            "value": r["percent"]
            if r["kind"] == "percent"
            else payouts.fmt_amount(r["fixed_amount"] or 0, r["currency"]),
        }
        for r in rates
        if r["scope"] != "default"
    ]
    blank = {"scope": "product", "key": "", "level": 1, "kind": "percent", "value": ""}
    return {
        "default_percent": (defaults.get(1) or {}).get("percent") or "",
        "level2_percent": (defaults.get(2) or {}).get("percent") or "",
        "rows": rows + [blank] * BLANK_ROWS,
    }


def posted_rows(form: FormData) -> list[dict[str, Any]]:
    """The rows of the posted form as they were typed (for reading them, and for showing them again)."""
    columns = [[str(value) for value in form.getlist(name)] for name in ("scope", "key", "level", "kind", "value")]
    return [
        {"scope": scope, "key": key, "level": 2 if level == "2" else 1, "kind": kind, "value": value}
        for scope, key, level, kind, value in zip(*columns, strict=False)
    ]


def rates_from_form(form: FormData) -> list[dict[str, Any]]:
    """The posted form as rate items for :func:`services.ledger.set_rates` (empty values are skipped)."""
    items: list[dict[str, Any]] = []
    for level, name in ((1, "default_percent"), (2, "level2_percent")):
        value = str(form.get(name) or "").strip()
        if value:
            items.append({"scope": "default", "level": level, "percent": value})
    posted = posted_rows(form)
    if len(posted) > MAX_ROWS:
        raise FormProblem(f"at most {MAX_ROWS} rows")
    for number, row in enumerate(posted, 1):
        key, value = row["key"].strip(), row["value"].strip()
        if not key and not value:
            continue
        if not key or not value:
            what = "SKU" if row["scope"] == "product" else "leader"
            raise FormProblem(f"row {number}: give both the {what} and the rate")
        item: dict[str, Any] = {"scope": row["scope"], "key": key, "level": row["level"]}
        if row["kind"] == "fixed":
            item["fixed_amount"] = yuan_to_minor(value, f"row {number}")
        else:
            item["percent"] = value
        items.append(item)
    return items


def _leaders(session: Session) -> list[Leader]:
    return list(session.scalars(select(Leader).order_by(Leader.name)))


@router.get("/commission")
def commission_page(request: Request, key: Manager, session: SessionDep, saved: int = 0) -> Response:
    """The rates form."""
    context = {**viewer(key), "nav": "commission", "leaders": _leaders(session), "error": None, "saved": bool(saved)}
    return render(request, "commission.html", {**context, **rate_rows(ledger.list_rates(session))})


@router.post("/commission")
async def save_commission(request: Request, key: Manager, session: SessionDep, _site: SameSite) -> Response:
    """Replace the rates with the form's; on a bad value nothing changes and the form comes back with the error."""
    form = await request.form()
    try:
        ledger.set_rates(session, rates_from_form(form))
        session.commit()
    except (ServiceError, FormProblem) as exc:
        session.rollback()
        shown = rate_rows(ledger.list_rates(session))
        shown["default_percent"] = str(form.get("default_percent") or "")
        shown["level2_percent"] = str(form.get("level2_percent") or "")
        shown["rows"] = posted_rows(form) or shown["rows"]
        context = {**viewer(key), "nav": "commission", "leaders": _leaders(session), "error": str(exc), "saved": False}
        return render(request, "commission.html", {**context, **shown}, status_code=422)
    return RedirectResponse("/commission?saved=1", status_code=303)


# --- payouts --------------------------------------------------------------------------------------


def _payouts_context(session: Session, key: ApiKey, **extra: Any) -> dict[str, Any]:
    leaders = _leaders(session)
    balances = [(leader, ledger.balances(session, leader.id)) for leader in leaders]
    batches = [payouts.batch_payload(session, batch) for batch in payouts.list_batches(session, limit=50)]
    return {
        **viewer(key),
        "nav": "payouts",
        "balances": [(leader, b) for leader, b in balances if b.entries],
        "batches": batches,
        "money": payouts.fmt_amount,
        "error": None,
        "minimum": "",
        **extra,
    }


@router.get("/payouts")
def payouts_page(request: Request, key: Manager, session: SessionDep) -> Response:
    """Balances, the form for a new batch, and the batches."""
    return render(request, "payouts.html", _payouts_context(session, key))


@router.post("/payouts")
async def make_batch(
    request: Request, key: Manager, session: SessionDep, settings: SettingsDep, _site: SameSite
) -> Response:
    """A batch of everything available at or above the minimum (in yuan)."""
    form = await request.form()
    minimum_text = str(form.get("minimum") or "").strip()
    try:
        minimum = yuan_to_minor(minimum_text, "minimum") if minimum_text else 0
        payouts.create_payout(settings, session, minimum=minimum, currency="CNY", created_by=key.id)
        session.commit()
    except (ServiceError, FormProblem) as exc:
        session.rollback()
        context = _payouts_context(session, key, error=str(exc), minimum=minimum_text)
        return render(request, "payouts.html", context, status_code=409 if isinstance(exc, ServiceError) else 422)
    return RedirectResponse("/payouts", status_code=303)


@router.post("/payouts/{batch_id}/confirm")
def confirm_batch(request: Request, batch_id: str, key: Manager, session: SessionDep, _site: SameSite) -> Response:
    """Mark the batch as paid (once)."""
    try:
        payouts.confirm_payout(session, batch_id)
        session.commit()
    except payouts.PayoutConflict as exc:
        session.rollback()
        return render(request, "payouts.html", _payouts_context(session, key, error=str(exc)), status_code=409)
    return RedirectResponse("/payouts", status_code=303)
