"""Distribution: channel targets (a group robot, a bot in a chat, a webhook), publications of clips to
them, remembered uploads, and caption templates per channel."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, new_id, utcnow


class ChannelTarget(Base):
    """Where clips can be published: one WeCom/Feishu/DingTalk robot, Telegram chat, webhook, export folder.

    ``config`` holds the non-secret fields; ``secrets`` is a Fernet token (MultiFernet, keys from
    ``LIVESLICE_ENCRYPTION_KEYS``) of the secret fields as JSON, so no robot key, bot token or signing
    secret is readable in the database. ``account`` is a keyed hash of what the channel's rate limit
    applies to (the robot, the bot in a chat): publications to one account share one rate.
    A target with a ``leader_id`` is that leader's own group.
    """

    __tablename__ = "channel_targets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secrets: Mapped[str | None] = mapped_column(Text)
    account: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | disabled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


#: The publications that block another of the same (clip, target, leader): all but failed and cancelled.
LIVE = "status NOT IN ('failed', 'cancelled')"


class Publication(Base):
    """A clip sent (or to be sent) to a target, for a leader or none.

    Status: scheduled -> pending -> sending -> sent | failed | unknown; retrying between attempts;
    cancelled. ``unknown`` is a timeout after the posting request left: only a person's retry resends it.
    ``idempotency_key`` is saved before anything is sent (a webhook receiver sees it as ``webhook-id``).
    ``due_at`` is when it may next be sent (schedule, backoff, or the channel's rate);
    ``caption`` is what was actually sent. One live publication per (clip, target, leader or none): the
    partial unique index ``uq_publications_once`` ignores failed and cancelled ones.
    """

    __tablename__ = "publications"
    __table_args__ = (
        Index("ix_publications_status_due", "status", "due_at"),
        Index(
            "uq_publications_once",
            "clip_id",
            "target_id",
            func.coalesce(text("leader_id"), ""),
            unique=True,
            sqlite_where=text(LIVE),
            postgresql_where=text(LIVE),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    clip_id: Mapped[str] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("channel_targets.id", ondelete="CASCADE"), index=True)
    leader_id: Mapped[str | None] = mapped_column(ForeignKey("leaders.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True, default=new_id)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(String(200))
    external_url: Mapped[str | None] = mapped_column(Text)
    form: Mapped[str | None] = mapped_column(String(16))  # file | video | card | link | package ...
    caption: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[str | None] = mapped_column(String(32))  # the API key id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ChannelMedia(Base):
    """An upload a channel gave an id for (Telegram ``file_id``, WeCom ``media_id``), reused for the same
    file on the same account until ``expires_at``."""

    __tablename__ = "channel_media"
    __table_args__ = (UniqueConstraint("account", "media_key", name="uq_channel_media_account_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account: Mapped[str] = mapped_column(String(64))
    media_key: Mapped[str] = mapped_column(String(300))
    remote_id: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaptionTemplate(Base):
    """A merchant's caption template for one channel type (Jinja2, sandboxed); absent: the adapter's default."""

    __tablename__ = "caption_templates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
