"""Commissions: rates, an append-only ledger per leader, payout batches, and weight presets learned
from sales.

``ledger_entries`` rows are inserted and never updated or deleted. A balance is a sum; an entry's
state (pending while frozen, available, paid) follows from ``available_at`` and the payout lines and
confirmed batches that come after it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, new_id, utcnow


class CommissionRate(Base):
    """A commission rate: ``scope`` default | product (``key`` = SKU) | leader (``key`` = leader id), for
    ``level`` 1 (the leader credited) or 2 (their recruiter). ``kind`` percent (``basis_points``: 100 = 1%)
    or fixed (``amount_per_unit`` minor units per item sold, in ``currency``)."""

    __tablename__ = "commission_rates"
    __table_args__ = (UniqueConstraint("scope", "key", "level", name="uq_commission_rates_scope_key_level"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scope: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128), default="")
    level: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(16))  # percent | fixed
    basis_points: Mapped[int | None] = mapped_column(Integer)
    amount_per_unit: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PayoutBatch(Base):
    """A payout: the available balances above ``minimum`` at ``created_at``, as payout lines in the
    ledger; ``confirmed_at`` when the money was sent (the lines then count as paid)."""

    __tablename__ = "payout_batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    minimum: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LedgerEntry(Base):
    """One appended line of a leader's account. ``kind``: commission (earned, frozen until
    ``available_at``), reversal (a refund before payout), clawback (a refund after payout: a debt carried
    into the next payout), payout (money out, in ``batch_id``). ``amount`` is signed minor units."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_leader", "leader_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    leader_id: Mapped[str] = mapped_column(ForeignKey("leaders.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    sale_id: Mapped[str | None] = mapped_column(ForeignKey("sales.id", ondelete="RESTRICT"), index=True)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("payout_batches.id", ondelete="RESTRICT"), index=True)
    refers_to: Mapped[int | None] = mapped_column(BigInteger)  # the entry a reversal or clawback answers
    available_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WeightPreset(Base):
    """A named set of highlight weights a merchant applied (e.g. suggested from attributed sales); the next
    analysis may use it by name like a built-in preset."""

    __tablename__ = "weight_presets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    based_on_sales: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
