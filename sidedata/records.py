"""Typed records produced by the side-data parsers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

CHAT_KINDS: tuple[str, ...] = ("comment", "gift", "like", "share", "join")

CHAT_KIND_ALIASES: dict[str, str] = {
    **{kind: kind for kind in CHAT_KINDS},
    "评论": "comment",
    "弹幕": "comment",
    "礼物": "gift",
    "点赞": "like",
    "分享": "share",
    "进场": "join",
    "进入": "join",
    "进入直播间": "join",
}


@dataclass(frozen=True)
class Product:
    """A catalog product; ``sku`` is the key. ``image`` is a URL or a resolved local path."""

    sku: str
    name: str
    price: Decimal
    original_price: Decimal | None = None
    currency: str = "CNY"
    coupon: str | None = None
    image: str | None = None
    buy_url: str | None = None
    #: When the coupon stops being honoured (timezone-aware); review blocks posts that mention it after.
    coupon_expires: datetime | None = None


@dataclass(frozen=True)
class TimelineSegment:
    """A product shown from ``start`` to ``end`` seconds of the recording."""

    sku: str
    start: float
    end: float


@dataclass(frozen=True)
class ChatEvent:
    """A chat event at ``ts`` seconds; ``kind`` is one of :data:`CHAT_KINDS`."""

    ts: float
    user: str
    text: str
    kind: str = "comment"


@dataclass(frozen=True)
class StreamOrder:
    """An order placed during the stream, at ``ts`` seconds of the recording."""

    ts: float
    sku: str
    qty: int
    amount: Decimal
    order_id: str | None = None


@dataclass(frozen=True)
class TranscriptCue:
    """One subtitle cue, ``start``/``end`` in seconds; lines joined with ``\\n``."""

    start: float
    end: float
    text: str
