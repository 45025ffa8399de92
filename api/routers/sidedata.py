"""Product catalog and per-recording side data (timeline, chat, orders, transcript).

The catalog (prices, coupons, buy links) is the merchant's: admin and merchant keys import it. A
recording's side data comes from the stream itself (the content team exports the chat and the
transcript, the merchant the orders and the product timeline): admin, content and merchant keys.
Formats: ``docs/FORMATS.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from sqlalchemy import select

from api.deps import CatalogKey, ProductReader, SessionDep, SettingsDep, SideDataKey
from services.sidedata_import import MAX_SIDE_DATA_BYTES, import_side_data
from store.models import Product

router = APIRouter(prefix="/api", tags=["side data"])


async def _read_limited(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_SIDE_DATA_BYTES + 1)
    if len(data) > MAX_SIDE_DATA_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the side-data file is larger than 512 MB")
    return data


def _run_import(settings: SettingsDep, session: SessionDep, **kwargs: Any) -> dict[str, Any]:
    """Import and report; a failed import answers through ``api/errors.py`` (422 with its problems)."""
    return import_side_data(settings, session, **kwargs).to_dict()


@router.post("/catalog", summary="Import the product catalog; upserts by SKU (roles: admin, merchant)")
async def import_catalog(
    settings: SettingsDep, session: SessionDep, _key: CatalogKey, file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    data = await _read_limited(file)
    return _run_import(settings, session, kind="catalog", data=data, filename=file.filename or "catalog.csv")


@router.get("/products", summary="The product catalog (roles: admin, content, merchant)")
def list_products(session: SessionDep, _key: ProductReader) -> list[dict[str, Any]]:
    return [
        {
            "sku": p.sku,
            "name": p.name,
            "price": str(p.price),
            "original_price": str(p.original_price) if p.original_price is not None else None,
            "currency": p.currency,
            "coupon": p.coupon,
            "coupon_expires": p.coupon_expires.isoformat() if p.coupon_expires else None,
            "image": p.image,
            "buy_url": p.buy_url,
        }
        for p in session.scalars(select(Product).order_by(Product.sku))
    ]


@router.post(
    "/recordings/{recording_id}/{kind}",
    summary="Import a recording's timeline, chat, orders or transcript; replaces that kind's previous import "
    "(roles: admin, content, merchant)",
)
async def import_recording_side_data(
    recording_id: str,
    kind: str,
    settings: SettingsDep,
    session: SessionDep,
    _key: SideDataKey,
    file: Annotated[UploadFile, File()],
    stream_started_at: Annotated[datetime | None, Form()] = None,
) -> dict[str, Any]:
    if kind not in ("timeline", "chat", "orders", "transcript"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown side-data kind {kind!r}")
    data = await _read_limited(file)
    return _run_import(
        settings,
        session,
        kind=kind,
        data=data,
        filename=file.filename or f"{kind}.csv",
        recording_id=recording_id,
        stream_started_at=stream_started_at,
    )
