"""A recording and what belongs to it: its upload, product timeline, chat, stream orders, transcript and imports."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, Money, UTCDateTime, new_id, utcnow


class Recording(Base):
    """A live-stream recording and the facts its probe found."""

    __tablename__ = "recordings"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(16))  # upload | tus | path | demo
    original_filename: Mapped[str] = mapped_column(String(500))
    storage_key: Mapped[str | None] = mapped_column(String(500))  # under the media root
    source_path: Mapped[str | None] = mapped_column(Text)  # registered server path (not copied)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="probing", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    stream_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    container: Mapped[str | None] = mapped_column(String(64))
    duration: Mapped[float | None] = mapped_column(Float)
    video_codec: Mapped[str | None] = mapped_column(String(32))
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    rotation: Mapped[int | None] = mapped_column(Integer)
    fps: Mapped[float | None] = mapped_column(Float)
    variable_frame_rate: Mapped[bool | None] = mapped_column()
    audio_sample_rate: Mapped[int | None] = mapped_column(Integer)
    audio_channels: Mapped[int | None] = mapped_column(Integer)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    segments: Mapped[list[TimelineSegment]] = relationship(
        back_populates="recording", cascade="all, delete-orphan", order_by="TimelineSegment.start"
    )


class Upload(Base):
    """A resumable (tus) upload in progress. Its bytes live under ``uploads/``."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    length: Mapped[int | None] = mapped_column(BigInteger)  # None: Upload-Defer-Length
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    filename: Mapped[str] = mapped_column(String(500), default="upload")
    upload_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TimelineSegment(Base):
    """When a product was presented (讲解) in a recording."""

    __tablename__ = "timeline_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)

    recording: Mapped[Recording] = relationship(back_populates="segments")


class ChatEvent(Base):
    """A comment, gift, like, share or join during the stream."""

    __tablename__ = "chat_events"
    __table_args__ = (Index("ix_chat_events_recording_ts", "recording_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    ts: Mapped[float] = mapped_column(Float)
    user: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="comment")


class StreamOrder(Base):
    """An order placed during the stream. ``order_id`` is unique per recording when present."""

    __tablename__ = "stream_orders"
    __table_args__ = (
        UniqueConstraint("recording_id", "order_id", name="uq_stream_orders_recording_order"),
        Index("ix_stream_orders_recording_ts", "recording_id", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    ts: Mapped[float] = mapped_column(Float)
    sku: Mapped[str] = mapped_column(String(128))
    qty: Mapped[int] = mapped_column(Integer, default=1)
    amount: Mapped[Decimal] = mapped_column(Money)
    order_id: Mapped[str | None] = mapped_column(String(128))


class TranscriptCue(Base):
    """One subtitle cue of the recording's transcript."""

    __tablename__ = "transcript_cues"
    __table_args__ = (Index("ix_transcript_cues_recording_start", "recording_id", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)


class SideDataImport(Base):
    """The latest import of one kind of side data, for idempotent re-imports and reporting."""

    __tablename__ = "side_data_imports"
    __table_args__ = (UniqueConstraint("recording_id", "kind", name="uq_side_data_imports_recording_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
