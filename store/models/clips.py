"""Clips, their leaders' variants and their share links."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, UTCDateTime, new_id, utcnow


class Clip(Base):
    """A rendered clip of a recording: its window, preset, product snapshot, files and status.

    One row per (recording, start, end, preset, mode): rendering the same window again reuses the row
    and replaces its files. ``product`` keeps the price the clip was rendered with (prices change).
    Status: queued (waiting for a worker) -> rendering -> ready | failed.
    """

    __tablename__ = "clips"
    __table_args__ = (
        UniqueConstraint("recording_id", "start", "end", "preset", "mode", name="uq_clips_window"),
        Index("ix_clips_created", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    highlight_id: Mapped[str | None] = mapped_column(ForeignKey("highlights.id", ondelete="SET NULL"))
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    preset: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16), default="accurate")  # accurate | fast
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    actual_start: Mapped[float | None] = mapped_column(Float)  # fast mode: the keyframe the copy starts on
    actual_end: Mapped[float | None] = mapped_column(Float)
    peak: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)  # the highlight's, when made from one
    reason: Mapped[str | None] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(128))
    product: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # name, price, original_price, currency, ...
    share_url: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # captions, reframe, theme, leaders
    video_key: Mapped[str | None] = mapped_column(String(500))
    cover_key: Mapped[str | None] = mapped_column(String(500))
    poster_key: Mapped[str | None] = mapped_column(String(500))
    duration: Mapped[float | None] = mapped_column(Float)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # review: a merchant approves a clip (title, caption, hashtags as published) before it can be shared
    review_status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved
    title: Mapped[str | None] = mapped_column(String(200))
    caption: Mapped[str | None] = mapped_column(Text)
    hashtags: Mapped[list[str]] = mapped_column(JSON, default=list)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(32))  # the API key id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    variants: Mapped[list[ClipVariant]] = relationship(
        back_populates="clip", cascade="all, delete-orphan", order_by="ClipVariant.leader_name"
    )


class ClipVariant(Base):
    """A community leader's copy of a clip: the base plus an end card with the leader's QR, and a poster."""

    __tablename__ = "clip_variants"
    __table_args__ = (UniqueConstraint("clip_id", "leader_id", name="uq_clip_variants_clip_leader"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    leader_id: Mapped[str] = mapped_column(ForeignKey("leaders.id"))
    leader_name: Mapped[str] = mapped_column(String(200))  # as rendered on the end card
    share_url: Mapped[str | None] = mapped_column(Text)
    video_key: Mapped[str | None] = mapped_column(String(500))
    poster_key: Mapped[str | None] = mapped_column(String(500))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: The render lock: the job rendering this variant on first request (set by compare-and-set).
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    clip: Mapped[Clip] = relationship(back_populates="variants")


class ShareLink(Base):
    """A short link ``/s/{code}`` bound to (clip, leader, channel): it redirects to ``target_url`` only.

    ``target_url`` is the product's buy_url when the link was made (refreshed when a re-render finds
    the catalog changed); it never comes from the visitor's request. One link per (clip, leader,
    channel): the unique index treats a missing leader or channel as one value, so re-rendering reuses it.
    """

    __tablename__ = "share_links"
    __table_args__ = (
        Index(
            "uq_share_links_binding",
            "clip_id",
            func.coalesce(text("leader_id"), ""),
            func.coalesce(text("channel"), ""),
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    variant_id: Mapped[str | None] = mapped_column(ForeignKey("clip_variants.id", ondelete="SET NULL"))
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id"))
    channel: Mapped[str | None] = mapped_column(String(32))  # later: wecom, telegram, douyin…
    target_url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
