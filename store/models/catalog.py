"""The product catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, Money, UTCDateTime, utcnow


class Product(Base):
    """The one product catalog, keyed by SKU. Re-imports upsert."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    price: Mapped[Decimal] = mapped_column(Money)
    original_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    coupon: Mapped[str | None] = mapped_column(String(200))
    coupon_expires: Mapped[datetime | None] = mapped_column(UTCDateTime())  # review warns/blocks after it
    image: Mapped[str | None] = mapped_column(Text)
    buy_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
