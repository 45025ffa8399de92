"""Commission rates, leaders' ledgers and payout batches.

- ``GET|PUT /api/commission/rates`` (admin, merchant): ``PUT`` replaces the whole set (an empty list removes every
  rate); each rate is ``{"scope": "default|product|leader", "key"?, "level": 1|2, "percent"? ("5.5") |
  "fixed_amount"? (minor units per unit sold), "currency"?}``. Product rates win over leader rates over the default.
- ``GET /api/leaders/{id}/ledger`` (admin, merchant) and ``GET /api/me/ledger`` (a leader's own): entries newest
  first with their derived state (pending, available, in_payout, paid) and the balances.
- ``POST /api/payouts`` ``{"minimum"?, "currency"?}`` makes a batch of everything available at or above the
  minimum per leader (409 when no one qualifies); ``POST /api/payouts/{id}/confirm`` once the money went out (409
  the second time); ``GET /api/payouts/{id}.csv`` for finance; ``GET /api/payouts``, ``GET /api/payouts/{id}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, leader_scope, require_roles
from services import ledger, payouts
from store.models import ApiKey

router = APIRouter(tags=["commission"])

MONEY_ROLES = ("admin", "merchant")
MoneyKey = Annotated[ApiKey, Depends(require_roles(*MONEY_ROLES))]
LeaderKey = Annotated[ApiKey, Depends(require_roles("leader"))]
Currency = Annotated[str, Query(min_length=3, max_length=8, pattern="^[A-Za-z]{3,8}$")]


class RateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["default", "product", "leader"]
    key: str | None = Field(None, max_length=128, description="The SKU (product) or leader id (leader).")
    level: Literal[1, 2] = 1
    percent: str | None = Field(None, max_length=12, description='Of the line amount, e.g. "5.5".')
    fixed_amount: int | None = Field(None, ge=0, description="Minor units per unit sold.")
    currency: str | None = Field(None, min_length=3, max_length=8)


class PayoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minimum: int = Field(0, ge=0, description="Minor units: leaders with less available wait for the next batch.")
    currency: str = Field("CNY", min_length=3, max_length=8, pattern="^[A-Za-z]{3,8}$")


@router.get("/api/commission/rates", summary="The commission rates (roles: admin, merchant)")
def get_rates(session: SessionDep, _key: MoneyKey) -> list[dict[str, Any]]:
    return ledger.list_rates(session)


@router.put("/api/commission/rates", summary="Replace every commission rate (roles: admin, merchant)")
def put_rates(body: list[RateIn], session: SessionDep, _key: MoneyKey) -> list[dict[str, Any]]:
    rates = ledger.set_rates(session, [item.model_dump() for item in body])
    session.commit()
    return rates


@router.get("/api/leaders/{leader_id}/ledger", summary="A leader's ledger and balances (roles: admin, merchant)")
def leader_ledger(leader_id: str, session: SessionDep, _key: MoneyKey, currency: Currency = "CNY") -> dict[str, Any]:
    return ledger.ledger_for(session, leader_id, currency=currency.upper())


@router.get("/api/me/ledger", summary="This leader's own ledger and balances (role: leader)")
def my_ledger(session: SessionDep, key: LeaderKey, currency: Currency = "CNY") -> dict[str, Any]:
    return ledger.ledger_for(session, leader_scope(key) or "", currency=currency.upper())


@router.post("/api/payouts", status_code=201, summary="Make a payout batch (roles: admin, merchant)")
def make_payout(body: PayoutIn, settings: SettingsDep, session: SessionDep, key: MoneyKey) -> dict[str, Any]:
    batch = payouts.create_payout(settings, session, minimum=body.minimum, currency=body.currency, created_by=key.id)
    payload = payouts.batch_payload(session, batch)
    session.commit()
    return payload


@router.get("/api/payouts", summary="Payout batches, newest first (roles: admin, merchant)")
def list_payouts(session: SessionDep, _key: MoneyKey) -> list[dict[str, Any]]:
    return [payouts.batch_payload(session, b, with_lines=False) for b in payouts.list_batches(session)]


@router.get("/api/payouts/{batch_id}.csv", summary="A payout batch as CSV for finance (roles: admin, merchant)")
def payout_csv(batch_id: str, session: SessionDep, _key: MoneyKey) -> Response:
    body = payouts.payout_csv(session, batch_id)
    return Response(
        "\ufeff" + body,  # a BOM, so spreadsheet programs read the Chinese names as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="payout-{batch_id}.csv"', "Cache-Control": "no-store"},
    )


@router.get("/api/payouts/{batch_id}", summary="A payout batch with its lines (roles: admin, merchant)")
def get_payout(batch_id: str, session: SessionDep, _key: MoneyKey) -> dict[str, Any]:
    return payouts.batch_payload(session, payouts.get_batch(session, batch_id))


@router.post("/api/payouts/{batch_id}/confirm", summary="Confirm a batch was paid (roles: admin, merchant)")
def confirm_payout(batch_id: str, session: SessionDep, _key: MoneyKey) -> dict[str, Any]:
    batch = payouts.confirm_payout(session, batch_id)
    payload = payouts.batch_payload(session, batch)
    session.commit()
    return payload
