"""Analyses of a recording and the highlights they found (or a person set)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, new_id, utcnow


class Analysis(Base):
    """One highlight analysis run of a recording: its parameters, summary and score timeline."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_recording_created", "recording_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # clips, preset, weights, min_len...
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # HighlightResult.to_dict() less highlights
    series: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # HighlightResult.series(): t, score, signals
    duration: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class HighlightRow(Base):
    """A clip candidate of a recording: found by an analysis (auto) or set by a merchant (manual).

    Locked rows survive re-analysis untouched; manual in/out points are always locked. A deleted
    automatic highlight stays as a ``dismissed`` tombstone, so re-analysis does not bring it back.
    """

    __tablename__ = "highlights"
    __table_args__ = (Index("ix_highlights_recording_start", "recording_id", "start"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    analysis_id: Mapped[str | None] = mapped_column(ForeignKey("analyses.id", ondelete="SET NULL"), index=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    sku: Mapped[str | None] = mapped_column(String(128))
    peak: Mapped[float | None] = mapped_column(Float)
    contributions: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    snapped_start: Mapped[bool] = mapped_column(default=False)
    snapped_end: Mapped[bool] = mapped_column(default=False)
    locked: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16), default="auto")  # auto | manual
    dismissed: Mapped[bool] = mapped_column(default=False, server_default=false())  # deleted: a tombstone
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
