"""Helpers for sales tests: share links to sell through, stored clicks, and signed webhook deliveries."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from store import share_links
from store.leaders import create_leader
from store.models import Click, Clip, Leader, Recording, ShareLink

BUY = "https://shop.example.com/p/LS-0001"


def new_secret() -> str:
    """A fresh Standard Webhooks secret (``whsec_`` + base64 of 24 random bytes)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed(
    secret: str, payload: dict[str, Any] | bytes, *, webhook_id: str | None = None, at: datetime | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of a delivery signed with ``secret`` at ``at`` (now)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    msg_id = webhook_id or f"msg_{secrets.token_hex(8)}"
    when = at or datetime.now(UTC)
    signature = Webhook(secret).sign(msg_id, when, body)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }
    return body, headers


def order(order_id: str = "T-1001", **changes: Any) -> dict[str, Any]:
    """A webhook body for a paid order of 2 x LS-0001 at 89.00 CNY."""
    body: dict[str, Any] = {
        "order_id": order_id,
        "status": "paid",
        "currency": "CNY",
        "amount": 17800,
        "paid_at": "2026-11-20T20:15:00+08:00",
        "items": [{"sku": "LS-0001", "quantity": 2, "amount": 17800}],
    }
    body.update(changes)
    return body


@dataclass(frozen=True)
class Shop:
    """A recording, a clip and links for leaders on channels."""

    recording_id: str
    clip_id: str


def make_clip(session: Session, start: float = 1.0) -> Shop:
    recording = Recording(title="live", source="path", original_filename="live.mp4", status="ready", duration=60.0)
    session.add(recording)
    session.flush()
    clip = Clip(recording_id=recording.id, preset="douyin", start=start, end=start + 5)
    session.add(clip)
    session.flush()
    return Shop(recording.id, clip.id)


def make_link(session: Session, clip_id: str, leader_id: str, channel: str = "wecom") -> ShareLink:
    """The link of ``leader_id`` (made as a leader row if missing) for ``clip_id`` on ``channel``."""
    if session.get(Leader, leader_id) is None:
        create_leader(session, name=leader_id, leader_id=leader_id)
    return share_links.get_or_create_link(
        session, clip_id=clip_id, leader_id=leader_id, channel=channel, target_url=BUY
    )


def add_click(
    session: Session,
    link: ShareLink,
    at: datetime,
    *,
    identity: str = "visitor-1",
    bot: bool = False,
    click_id: str | None = None,
) -> Click:
    """A stored click (as the click log would write it)."""
    click = Click(
        id=click_id or secrets.token_hex(8),
        link_id=link.id,
        at=at,
        kind="click",
        method="GET",
        identity=identity,
        user_agent="Mozilla/5.0 MicroMessenger",
        bot=bot,
        bot_reason="crawler" if bot else None,
        unique_visit=not bot,
    )
    session.add(click)
    session.flush()
    return click
