"""Shop sales: the shop's signed webhook (no API key: the signature is the proof), export imports, and
one sale with its lines, history and attribution."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.deps import SessionDep, SettingsDep, require_roles
from runtime.config import Settings
from services.sales import MAX_SALES_FILE_BYTES, attribution_payload, import_sales
from services.sales_webhook import (
    MAX_WEBHOOK_BYTES,
    SIGNED_HEADERS,
    WebhookTooLarge,
    check_headers,
    receive_delivery,
    verify_delivery,
)
from sidedata.shop_sales import SaleFactsError, ShopSale, ShopSaleLine, settle_status
from store import sales as repo
from store.db import get_sessionmaker
from store.models import ApiKey

router = APIRouter(prefix="/api/sales", tags=["sales"])

SALES_ROLES = ("admin", "merchant")
SalesKey = Annotated[ApiKey, Depends(require_roles(*SALES_ROLES))]
Minor = Annotated[int, Field(strict=True, ge=0, le=10**15, description="Integer minor units (fen for CNY).")]
Token = Annotated[str, Field(min_length=1, pattern=r"^[\x21-\x7e]+$")]


class SaleItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(strict=True, ge=1, le=1_000_000)
    amount: Minor


class SaleIn(BaseModel):
    """The webhook's body (fields a shop adds beyond these are ignored). The items' amounts add up to ``amount``."""

    model_config = ConfigDict(extra="ignore")

    order_id: Annotated[Token, Field(max_length=128)]
    status: Literal["paid", "partially_refunded", "refunded", "cancelled"]
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    amount: Minor
    paid_at: datetime = Field(description="ISO 8601; without an offset it is the wall clock in LIVESLICE_TIMEZONE.")
    refund_amount: Minor = 0
    items: list[SaleItemIn] = Field(min_length=1, max_length=1000)
    click_id: Annotated[Token, Field(max_length=32)] | None = None
    share_code: Annotated[Token, Field(max_length=16)] | None = None
    customer_id: Annotated[Token, Field(max_length=128)] | None = None


def _invalid(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message, "input": None}])


def shop_sale(body: bytes, settings: Settings) -> ShopSale:
    """The verified body as a settled sale; :class:`RequestValidationError` (422) naming the fields."""
    try:
        data = SaleIn.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from exc
    lines_total = sum(item.amount for item in data.items)
    if lines_total != data.amount:  # commission is paid on the lines: they must be what the customer paid
        raise _invalid(
            "items",
            f"the items' amounts add up to {lines_total}, not the order's amount {data.amount} (spread an order-level "
            "discount over the items)",
        )
    try:
        state, refund = settle_status(data.status, data.amount, data.refund_amount)
    except SaleFactsError as exc:
        raise _invalid(exc.field, str(exc)) from exc
    paid_at = data.paid_at if data.paid_at.tzinfo else data.paid_at.replace(tzinfo=ZoneInfo(settings.timezone))
    return ShopSale(
        order_id=data.order_id,
        status=state,
        currency=data.currency,
        amount=data.amount,
        paid_at=paid_at,
        lines=tuple(ShopSaleLine(i.sku, i.quantity, i.amount) for i in data.items),
        refund_amount=refund,
        click_id=data.click_id,
        share_code=data.share_code,
        customer_id=data.customer_id,
    )


async def _bounded_body(request: Request, limit: int) -> bytes:
    """The body, refused past ``limit`` bytes as it arrives (Content-Length is only a hint)."""
    too_large = WebhookTooLarge(f"the webhook body is larger than {limit // 1024} KB")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _deliver(settings: Settings, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    webhook_id = verify_delivery(settings, body, headers)  # before anything parses the body
    sale = shop_sale(body, settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        return receive_delivery(settings, session, webhook_id=webhook_id, sale=sale).to_dict()
    finally:
        session.close()


@router.post(
    "/webhook",
    summary="The shop's signed sales webhook (Standard Webhooks headers; no API key). A replayed webhook-id, "
    "or the same order with the same status and refund, changes nothing; an earlier status or a smaller "
    "refund is ignored as stale",
)
async def sales_webhook(request: Request, settings: SettingsDep) -> dict[str, Any]:
    headers = {name: request.headers.get(name, "") for name in SIGNED_HEADERS}
    # no secret: 503; unsigned, forged or stale: 401; too large: 413; bad body: 422 (api/errors.py, FastAPI)
    check_headers(settings, headers)  # before the body is read
    body = await _bounded_body(request, MAX_WEBHOOK_BYTES)
    return await run_in_threadpool(_deliver, settings, body, headers)


@router.post(
    "/import",
    summary="Import a shop's sales export (CSV/XLSX; docs/FORMATS.md), all or nothing, idempotent on the order "
    "id (roles: admin, merchant)",
)
def import_sales_file(
    settings: SettingsDep, session: SessionDep, _key: SalesKey, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    data = file.file.read(MAX_SALES_FILE_BYTES + 1)
    # too large: 413; any bad row: 422 listing `file:line: field: problem` (api/errors.py)
    return import_sales(settings, session, data=data, filename=file.filename or "sales.csv").to_dict()


@router.get("/{order_id}", summary="One sale: lines, history and attribution (roles: admin, merchant)")
def get_sale(order_id: str, session: SessionDep, _key: SalesKey) -> dict[str, Any]:
    sale = repo.sale_by_order(session, order_id)
    if sale is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no sale with order id {order_id!r}")
    return {
        "order_id": sale.order_id,
        "id": sale.id,
        "source": sale.source,
        "status": sale.status,
        "currency": sale.currency,
        "amount": sale.amount,
        "refund_amount": sale.refund_amount,
        "paid_at": sale.paid_at.isoformat(),
        "click_id": sale.click_id,
        "share_code": sale.share_code,
        "customer_id": sale.customer_id,
        "items": [
            {"sku": ln.sku, "quantity": ln.quantity, "amount": ln.amount} for ln in repo.sale_lines(session, sale.id)
        ],
        "events": [
            {
                "at": e.at.isoformat(),
                "source": e.source,
                "reference": e.reference,
                "status": e.status,
                "refund_amount": e.refund_amount,
            }
            for e in repo.sale_events(session, sale.id)
        ],
        "attribution": attribution_payload(repo.attribution(session, sale.id)),
    }
