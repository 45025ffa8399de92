"""SQLAlchemy 2 models. The database is the source of truth for recordings and jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
Money = Numeric(12, 2)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored in UTC on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


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


class Product(Base):
    """The one product catalog, keyed by SKU. Re-imports upsert."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    price: Mapped[Decimal] = mapped_column(Money)
    original_price: Mapped[Decimal | None] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(8), default="CNY")
    coupon: Mapped[str | None] = mapped_column(String(200))
    image: Mapped[str | None] = mapped_column(Text)
    buy_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


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


class Job(Base):
    """A unit of background work. The broker only delivers; this row says what is true."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_heartbeat", "status", "heartbeat_at"),
        UniqueConstraint("parent_id", "key", name="uq_jobs_parent_key"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))  # probe | analyze | render | process | product | stages...
    #: A pipeline stage's job names its pipeline job; ``key`` makes each stage unique within it
    #: (``probe``, ``render:<clip id>``…), so two advancing workers can never create one twice.
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    key: Mapped[str | None] = mapped_column(String(120))
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|succeeded|failed|cancelled
    stage: Mapped[str | None] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    celery_task_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Leader(Base):
    """A community leader (团长): who shares clips with their own code, and earns from what sells.

    ``id`` is file-name safe (letters, digits, ``-_.``): variants are stored as ``clip.<id>.mp4``.
    ``status``: active | inactive (inactive leaders get no new clips; their keys and links keep working).
    """

    __tablename__ = "leaders"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    wechat: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    recruiter_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ApiKey(Base):
    """An API key. Only a hash of the secret is stored; ``prefix`` finds the row.

    A ``leader`` key is bound to one leader (``leader_id``): every read it makes is scoped to that leader.
    """

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # admin | content | merchant | leader
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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
