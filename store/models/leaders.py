"""Community leaders and the API keys that act for people (a leader key is bound to its leader)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, UTCDateTime, new_id, utcnow


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
    #: The communities (customer groups) the leader runs, by name; their publishing targets name the leader.
    communities: Mapped[list[str]] = mapped_column(JSON, default=list)
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
