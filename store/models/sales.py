"""Sales tracking: the click log behind ``/s/{code}``, shop sales (orders placed in the shop after a
share, not the stream orders of ``sidedata``), their attribution to a link, clip, leader and channel,
customers bound to leaders, and replay protection for the sales webhook.

Money is integer minor units (fen for CNY) with a currency.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, new_id, utcnow


class Click(Base):
    """One request to ``/s/{code}``: a scan (``?qr=1``) or a click, human or bot. Bots are stored and
    flagged (``bot``, ``bot_reason``: ``head``, ``crawler``, ``preview:<app>``), never counted.

    ``id`` is the click id the redirect appends as ``lsclid`` (the shop sends it back as ``click_id``).
    ``identity`` is a salted hash of IP + user agent (no raw IP is stored); ``unique_visit`` marks the
    first human visit of an identity to a link within an hour.
    """

    __tablename__ = "clicks"
    __table_args__ = (
        Index("ix_clicks_link_at", "link_id", "at"),
        Index("ix_clicks_identity_link_at", "identity", "link_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    link_id: Mapped[str] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # scan | click
    method: Mapped[str] = mapped_column(String(8), default="GET")
    identity: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    referer: Mapped[str | None] = mapped_column(Text)
    in_app: Mapped[str | None] = mapped_column(String(16))  # wechat | wecom | None
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_reason: Mapped[str | None] = mapped_column(String(64))
    unique_visit: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Sale(Base):
    """An order placed in the shop (``order_id`` is the shop's, the idempotency key), from the signed
    webhook or an export import. Status: paid | partially_refunded | refunded | cancelled;
    ``refund_amount`` is cumulative. ``click_id``, ``share_code`` and ``customer_id`` are what the shop
    sent back for attribution."""

    __tablename__ = "sales"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    order_id: Mapped[str] = mapped_column(String(128), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # webhook | import
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    amount: Mapped[int] = mapped_column(BigInteger)
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    click_id: Mapped[str | None] = mapped_column(String(32))
    share_code: Mapped[str | None] = mapped_column(String(16))
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class SaleLine(Base):
    """One line of a sale: SKU, quantity and amount paid for it."""

    __tablename__ = "sale_lines"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sale_id: Mapped[str] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)


class SaleEvent(Base):
    """What changed a sale and when (append-only history): created, a later status, a larger refund."""

    __tablename__ = "sale_events"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sale_id: Mapped[str] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))  # the webhook-id, or file:line of an import
    status: Mapped[str] = mapped_column(String(24))
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class WebhookReceipt(Base):
    """A ``webhook-id`` already processed: a replay of it changes nothing."""

    __tablename__ = "webhook_receipts"

    webhook_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerBinding(Base):
    """A shop customer bound to a leader (as Chinese distribution malls bind buyers to distributors).
    Rows are appended, ``bound_at`` = the binding sale's ``paid_at``; the binding in force is the earliest
    unexpired one in first-binding-wins mode (which never appends a second while one is in force; sales
    arriving out of order may still add a later one), the newest in last-click mode."""

    __tablename__ = "customer_bindings"
    __table_args__ = (Index("ix_customer_bindings_customer", "customer_id", "bound_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(String(128))
    leader_id: Mapped[str] = mapped_column(ForeignKey("leaders.id", ondelete="CASCADE"))
    link_id: Mapped[str | None] = mapped_column(ForeignKey("share_links.id", ondelete="SET NULL"))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Attribution(Base):
    """Whom a sale is credited to: the link (so clip, leader and channel) and how it was found
    (``click`` id, ``share_code``, customer ``binding``). None of it when nothing matched in the window."""

    __tablename__ = "attributions"
    __table_args__ = (UniqueConstraint("sale_id", name="uq_attributions_sale"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sale_id: Mapped[str] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"))
    link_id: Mapped[str | None] = mapped_column(ForeignKey("share_links.id", ondelete="SET NULL"), index=True)
    clip_id: Mapped[str | None] = mapped_column(ForeignKey("clips.id", ondelete="SET NULL"), index=True)
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"), index=True)
    channel: Mapped[str | None] = mapped_column(String(32))
    recording_id: Mapped[str | None] = mapped_column(String(32), index=True)
    method: Mapped[str] = mapped_column(String(16))  # click | share_code | binding
    click_id: Mapped[str | None] = mapped_column(String(32))
    attributed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
